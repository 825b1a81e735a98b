"""Encoders on real text: the reference equals sentence-transformers, batching changes nothing,
results come back in input order, and over-long texts are truncated and flagged."""

from __future__ import annotations

import numpy as np
import pytest

from neura_scholar.encoders import BatchLimits, Encoder, OnnxEncoder, TorchEncoder


def _texts(chunks: list[str]) -> list[str]:
    return ["graph neural networks", "a", *chunks[:20], "x " * 400, ""]


def test_reference_matches_sentence_transformers(torch_encoder: TorchEncoder, real_chunks: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    texts = _texts(real_chunks)
    peer = SentenceTransformer(str(torch_encoder.checkpoint_dir), device="cpu", local_files_only=True)
    expected = peer.encode(texts, normalize_embeddings=True)
    ours = torch_encoder.encode(texts).vectors
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    np.testing.assert_allclose(ours, expected, atol=2e-6)


@pytest.mark.parametrize("which", ["torch", "onnx_fp32", "onnx_optimised"])
def test_batches_equal_single_texts_in_input_order(
    which: str, torch_encoder: TorchEncoder, onnx_encoders: dict[str, OnnxEncoder], real_chunks: list[str]
) -> None:
    encoder: Encoder = torch_encoder if which == "torch" else onnx_encoders[which.removeprefix("onnx_")]
    texts = _texts(real_chunks)
    batched = encoder.encode(texts, limits=BatchLimits(max_batch_size=7, max_batch_tokens=2048)).vectors
    single = np.stack([encoder.encode([t]).vectors[0] for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    # Input order: text i's vector is nearest to itself and differs from its neighbours.
    assert (np.argmax(batched @ single.T, axis=1) == np.arange(len(texts))).all()
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_int8_batches_agree_with_single_texts_up_to_activation_quantisation(
    onnx_encoders: dict[str, OnnxEncoder], real_chunks: list[str]
) -> None:
    """Dynamic INT8 quantises activations with one scale per tensor, computed over the whole
    batch (padding included), so a text's INT8 vector depends slightly on its batch mates:
    not 1e-5 equal, but close, and still in input order."""
    encoder = onnx_encoders["int8"]
    texts = _texts(real_chunks)
    batched = encoder.encode(texts, limits=BatchLimits(max_batch_size=7, max_batch_tokens=2048)).vectors
    single = np.stack([encoder.encode([t]).vectors[0] for t in texts])
    cosines = np.sum(batched * single, axis=1)
    # Measured on these texts: mean ~0.993, min ~0.966 (the empty text, two tokens long).
    assert cosines.mean() > 0.99 and cosines.min() > 0.95, cosines
    assert (np.argmax(batched @ single.T, axis=1) == np.arange(len(texts))).all()


def test_over_length_text_is_truncated_and_flagged(onnx_encoders: dict[str, OnnxEncoder]) -> None:
    encoder = onnx_encoders["fp32"]
    long_text = "convergence " * 600
    result = encoder.encode(["short query", long_text])
    assert list(result.n_tokens) == [4, encoder.max_length] and list(result.truncated) == [False, True]
    # Truncation keeps the first max_length tokens: same vector as the text cut by hand.
    cut = encoder.encode(["convergence " * (encoder.max_length - 2)]).vectors[0]
    np.testing.assert_allclose(result.vectors[1], cut, atol=1e-5)
    with pytest.raises(ValueError, match="text 1 is longer than the model's limit of 256 tokens"):
        encoder.encode(["short", long_text], truncate=False)


def test_no_texts_give_an_empty_matrix(onnx_encoders: dict[str, OnnxEncoder]) -> None:
    result = onnx_encoders["fp32"].encode([])
    assert result.vectors.shape == (0, 384) and result.n_tokens.shape == (0,)


def test_a_model_without_the_embedding_output_is_refused(exported_models: dict[str, bytes]) -> None:
    import onnx

    proto = onnx.load_from_string(exported_models["fp32"])
    proto.graph.output[0].name = "last_hidden_state"
    proto.graph.node[-1].output[0] = "last_hidden_state"
    with pytest.raises(ValueError, match="expected inputs within .* and output 'sentence_embedding'"):
        OnnxEncoder(proto.SerializeToString(), name="bad")
