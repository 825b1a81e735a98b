"""indexing nodes: a FAISS index over the chunk embeddings, and how well it recalls."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.indexing import ChunkIndex, build_index

logger = logging.getLogger(__name__)


class IndexParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    factory: str
    search_params: dict[str, Any] = {}
    train_size: int = Field(20_000, ge=1)
    seed: int
    recall_probe_queries: int = Field(200, ge=1)
    recall_k: int = Field(10, ge=1)


def build_chunk_index(embeddings: ChunkEmbeddings, params: dict[str, Any]) -> ChunkIndex:
    """``chunk_index``: ``factory`` over every chunk embedding (trained on a seeded sample)."""
    config = IndexParams(**params)
    index = build_index(
        embeddings.vectors, embeddings.chunk_ids, config.factory, config.search_params,
        config.train_size, config.seed, embeddings.encoder,
    )  # fmt: skip
    logger.info("index %s: %d vectors of dim %d", config.factory, index.index.ntotal, index.dim)
    return index


def measure_index_recall(index: ChunkIndex, embeddings: ChunkEmbeddings, params: dict[str, Any]) -> dict[str, dict[str, float]]:
    """recall@k of the index against exact search, with chunk embeddings as queries."""
    config = IndexParams(**params)
    exact = build_index(embeddings.vectors, embeddings.chunk_ids, "Flat", {}, 1, config.seed)
    rng = np.random.default_rng(config.seed)
    rows = rng.choice(len(embeddings.vectors), size=min(config.recall_probe_queries, len(embeddings.vectors)), replace=False)
    queries = embeddings.vectors[np.sort(rows)]
    _, found = index.search(queries, config.recall_k)
    _, truth = exact.search(queries, config.recall_k)
    recall = float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))
    logger.info("index recall@%d against exact search: %.4f", config.recall_k, recall)
    return {f"recall_at_{config.recall_k}_vs_flat": {"value": recall, "step": 0}, "ntotal": {"value": float(index.index.ntotal), "step": 0}}
