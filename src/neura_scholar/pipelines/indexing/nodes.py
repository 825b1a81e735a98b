"""indexing nodes: a FAISS index over the chunk embeddings, and how well it recalls."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.encoder_selection import RayParams
from neura_scholar.indexing import ChunkIndex, build_index
from neura_scholar.sharded_index import ShardRunner, add_shards_locally, build_ivf_on_disk

logger = logging.getLogger(__name__)


class BuildParams(BaseModel):
    """``indexing.build``: one index in memory (any factory), or an IVF index built in shards
    and merged on disk, the shards added here or as Ray tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_disk: bool = False
    backend: Literal["local", "ray"] = "local"
    shard_size: int = Field(100_000, ge=1)
    workdir: str = "data/06_models/indexes/ivf_build"


class IndexParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    factory: str
    search_params: dict[str, Any] = {}
    train_size: int = Field(20_000, ge=1)
    seed: int
    recall_probe_queries: int = Field(200, ge=1)
    recall_k: int = Field(10, ge=1)
    build: BuildParams = Field(default_factory=lambda: BuildParams.model_validate({}))


def build_chunk_index(embeddings: ChunkEmbeddings, params: dict[str, Any], ray_params: dict[str, Any]) -> ChunkIndex:
    """``chunk_index``: ``factory`` over every chunk embedding (trained on a seeded sample), in
    memory, or for IVF in shards merged on disk (``indexing.build``)."""
    config = IndexParams(**params)
    if config.build.on_disk:
        return _build_on_disk(embeddings, config, ray_params)
    index = build_index(
        embeddings.vectors, embeddings.chunk_ids, config.factory, config.search_params,
        config.train_size, config.seed, embeddings.encoder,
    )  # fmt: skip
    logger.info("index %s: %d vectors of dim %d", config.factory, index.index.ntotal, index.dim)
    return index


def _build_on_disk(embeddings: ChunkEmbeddings, config: IndexParams, ray_params: dict[str, Any]) -> ChunkIndex:
    runner: ShardRunner = add_shards_locally
    if config.build.backend == "ray":
        from neura_scholar.ray_embedding import (  # Ray on this path only
            RayResources,
            add_shards_on_ray,
        )

        runner = add_shards_on_ray(RayResources(**RayParams(**ray_params).model_dump()))
    index = build_ivf_on_disk(
        embeddings.vectors, embeddings.chunk_ids, config.factory, config.search_params, config.train_size,
        config.seed, embeddings.encoder, Path(config.build.workdir), config.build.shard_size, runner,
    )  # fmt: skip
    logger.info("on-disk index %s: %d vectors in shards of %d", config.factory, index.index.ntotal, config.build.shard_size)
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
