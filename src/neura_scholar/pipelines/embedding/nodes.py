"""embedding nodes: every chunk through the chosen encoder, and the drift reference."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.datasets.table_dataset import TableFile
from neura_scholar.embeddings import ChunkEmbeddings, ShardStore, embed_in_shards
from neura_scholar.encoder_selection import EmbeddingParams, select_encoder
from neura_scholar.eval_sets import sample_ids

logger = logging.getLogger(__name__)


class DriftParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chunks: int = Field(ge=1)
    queries: int = Field(ge=0)
    seed: int


def embed_chunks(
    chunks: TableFile, fp32: bytes, optimised: bytes, int8: bytes, registry_model: dict[str, Any] | None,
    store: ShardStore, params: dict[str, Any], runtime: dict[str, Any],
) -> ChunkEmbeddings:  # fmt: skip
    """``chunk_embeddings``: every chunk, in ``chunk_id`` order, resuming finished shards. The
    chunk table stays on disk: the ``ray`` backend's workers read the texts themselves."""
    config = EmbeddingParams(**params)
    models = {"fp32": fp32, "optimised": optimised, "int8": int8}
    if config.backend == "ray":
        from neura_scholar.ray_embedding import embed_on_ray  # Ray is imported on this path only

        return embed_on_ray(chunks, models, registry_model, config, runtime, store)
    rows = chunks.read(["chunk_id", "text"])  # shards are ranges of the file's rows, as on Ray
    encode, identity = select_encoder(models, registry_model, config, runtime)
    dim = int(np.asarray(encode(["dimension probe"])).shape[1])
    embeddings = embed_in_shards(rows["text"].tolist(), rows["chunk_id"].tolist(), encode, identity, dim, store, config.shard_size)
    logger.info("embedded %d chunks with %s (dim %d)", len(rows), identity, dim)
    return embeddings.in_chunk_id_order()


def data_version(chunks: pd.DataFrame | TableFile) -> str:
    """A fingerprint of the chunks (ids and texts), whatever their row order; a chunk file is
    read a batch at a time, so its texts are never all in memory."""
    batches = chunks.iter_batches(["chunk_id", "text"]) if isinstance(chunks, TableFile) else [chunks]
    ids: list[str] = []
    rows: list[bytes] = []
    for batch in batches:
        for chunk_id, text in zip(batch["chunk_id"], batch["text"], strict=True):
            ids.append(chunk_id)
            rows.append(hashlib.sha256(f"{chunk_id}\t{text}".encode()).digest()[:16])
    digest = hashlib.sha256()
    for row in np.argsort(np.asarray(ids, dtype=str), kind="stable"):
        digest.update(rows[row])
    return digest.hexdigest()[:16]


def drift_sample(
    chunks: pd.DataFrame, heldout: pd.DataFrame, config: DriftParams
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The seeded drift sample: chunk ids and texts, held-out case ids and queries."""
    chunk_ids = sample_ids(chunks["chunk_id"].tolist(), config.chunks, config.seed)
    cases = heldout.sort_values("case_id").set_index("case_id")
    case_ids = sample_ids(cases.index.tolist(), config.queries, config.seed)
    texts = chunks.set_index("chunk_id").loc[chunk_ids, "text"].tolist()
    return chunk_ids, texts, case_ids, cases.loc[case_ids, "query"].tolist()


def build_drift_reference(
    chunks: pd.DataFrame, heldout: pd.DataFrame, embeddings: ChunkEmbeddings, fp32: bytes, optimised: bytes,
    int8: bytes, registry_model: dict[str, Any] | None, params: dict[str, Any], embedding_params: dict[str, Any],
    runtime: dict[str, Any],
) -> dict[str, np.ndarray]:  # fmt: skip
    """``drift_reference``: a seeded sample of chunk embeddings and freshly encoded held-out
    queries, with the encoder and data versions; plain arrays only."""
    chunk_ids, _, case_ids, queries = drift_sample(chunks, heldout, DriftParams(**params))
    rows = np.searchsorted(embeddings.chunk_ids, chunk_ids)  # embeddings are in chunk_id order
    models = {"fp32": fp32, "optimised": optimised, "int8": int8}
    encode, identity = select_encoder(models, registry_model, EmbeddingParams(**embedding_params), runtime)
    if identity != embeddings.encoder:
        raise ValueError(f"the drift reference's encoder {identity} is not the embeddings' {embeddings.encoder}")
    query_vectors = np.asarray(encode(queries), dtype=np.float32) if queries else np.zeros((0, embeddings.dim), np.float32)
    return {
        "chunk_ids": np.asarray(chunk_ids, dtype=str),
        "chunk_vectors": embeddings.vectors[rows],
        "query_ids": np.asarray(case_ids, dtype=str),
        "query_vectors": query_vectors,
        "encoder": np.array(embeddings.encoder),
        "data_version": np.array(data_version(chunks)),
    }


def summarise_embeddings(embeddings: ChunkEmbeddings) -> dict[str, dict[str, float]]:
    norms = np.linalg.norm(embeddings.vectors, axis=1)
    figures = {"chunks": len(norms), "dim": embeddings.dim, "norm_min": float(norms.min()), "norm_max": float(norms.max())}
    return {k: {"value": float(v), "step": 0} for k, v in figures.items()}
