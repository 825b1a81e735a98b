"""FAISS indexes over chunk embeddings: built from a factory string, with their search knobs.

Vectors are L2-normalised, so inner product is cosine similarity (``METRIC_INNER_PRODUCT``).
Index types that need training (IVF, PQ, SQ) train on a seeded sample. Search-time knobs
(``efSearch`` for HNSW, ``nprobe`` for IVF) are applied with FAISS's ParameterSpace and stored
with the index, so a loaded index searches exactly as it was measured.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np

GPU_MAX_K = 2048  # FAISS GPU indexes answer at most k=2048; larger k stays on the CPU


@dataclass
class ChunkIndex:
    """A FAISS index whose position ``i`` is chunk ``chunk_ids[i]``."""

    index: faiss.Index
    chunk_ids: np.ndarray  # unicode [ntotal]
    factory: str
    search_params: dict[str, Any] = field(default_factory=dict)
    encoder: str = ""
    _gpu_index: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.index.ntotal != len(self.chunk_ids):
            raise ValueError(f"index holds {self.index.ntotal} vectors but the id map {len(self.chunk_ids)} ids")

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
        """Scores float32 [q, k'] and chunk ids per query, best first; FAISS's -1 (no result)
        never becomes a chunk, so a row may hold fewer than ``k`` ids."""
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be [q, {self.dim}], got {queries.shape}")
        k = min(k, self.index.ntotal)
        if k < 1:
            return np.zeros((len(queries), 0), dtype=np.float32), [[] for _ in queries]
        index = self._gpu() if k <= GPU_MAX_K else self.index
        scores, positions = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        ids = [[str(self.chunk_ids[p]) for p in row if p >= 0] for row in positions]
        return scores, ids

    def _gpu(self) -> faiss.Index:
        """The index on the GPU when faiss-gpu and a GPU are present, else the index itself."""
        if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() < 1:
            return self.index
        with self._lock:
            if self._gpu_index is None:
                self._gpu_index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self.index)
        return self._gpu_index


def apply_search_params(index: faiss.Index, params: dict[str, Any]) -> None:
    """Set search-time knobs such as ``{"efSearch": 64}`` or ``{"nprobe": 16}``."""
    space = faiss.ParameterSpace()
    for name, value in params.items():
        try:
            space.set_index_parameter(index, name, value)
        except RuntimeError as exc:
            raise ValueError(f"search parameter {name}={value!r} does not apply to this index: {exc}") from exc


def build_index(
    vectors: np.ndarray,
    chunk_ids: np.ndarray,
    factory: str,
    search_params: dict[str, Any],
    train_size: int,
    seed: int,
    encoder: str = "",
) -> ChunkIndex:
    """Build ``factory`` (FAISS factory syntax: ``Flat``, ``HNSW32``, ``IVF256,Flat``,
    ``IVF256,PQ16``, ``SQ8``...) over ``vectors`` with inner-product metric.

    Raises:
        ValueError: for a factory string FAISS does not know, or too few vectors to train it.
    """
    dim = vectors.shape[1]
    try:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"FAISS does not understand index factory {factory!r}: {exc}") from exc
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not index.is_trained:
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(len(vectors), size=min(train_size, len(vectors)), replace=False))]
        try:
            index.train(sample)
        except RuntimeError as exc:
            raise ValueError(f"training {factory!r} on {len(sample)} vectors failed: {exc}") from exc
    index.add(vectors)
    apply_search_params(index, search_params)
    return ChunkIndex(index, np.asarray(chunk_ids, dtype=str), factory, dict(search_params), encoder)


def serialise_index(index: faiss.Index) -> bytes:
    return bytes(faiss.serialize_index(index).tobytes())


def deserialise_index(data: bytes) -> faiss.Index:
    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
