"""stage_eval nodes: a registered candidate pulled, embedded and indexed once per model, its
encoders set up against the baseline (``production`` by default), a drift reference in the
baseline's space, and the verdict written back to the registry before the gate is enforced."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from neura_scholar.datasets.model_cache_dataset import ModelCache
from neura_scholar.datasets.table_dataset import TableFile
from neura_scholar.embeddings import ChunkEmbeddings, embed_in_shards, plan_shards
from neura_scholar.encoder_selection import (
    EmbeddingParams,
    EvalEncoder,
    evaluation_encoders,
    onnx_identity,
    select_encoder,
)
from neura_scholar.encoders import Encoder
from neura_scholar.gate import enforce
from neura_scholar.indexing import ChunkIndex, build_index
from neura_scholar.pipelines.embedding.nodes import DriftParams, data_version, drift_sample
from neura_scholar.pipelines.evaluation.nodes import ComparisonParams
from neura_scholar.pipelines.indexing.nodes import IndexParams
from neura_scholar.promotion import verdict_tags

logger = logging.getLogger(__name__)


def _as_registry_model(candidate: dict[str, Any]) -> dict[str, Any]:
    """The candidate as :func:`select_encoder` takes a registry model: its source names the
    registered model but no alias or version, so its identity (and every cache key built from
    it) depends on the bytes alone."""
    return {**candidate, "uri": f"models:/{candidate['tags']['registered_model']}"}


def describe_candidate(candidate: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``candidate_report`` (what was pulled) and the tags that file this run under the run that
    logged the candidate (MLflow shows it nested there)."""
    tags = candidate["tags"]
    report = {
        "uri": candidate["uri"], "registered_model": tags["registered_model"], "version": tags["model_version"],
        "variant": tags.get("variant", ""), "sha256": tags["sha256"],  # the loader checked the bytes against it
        "size_mb": round(len(candidate["model"]) / 2**20, 3), "source_run_id": tags.get("source_run_id", ""),
    }  # fmt: skip
    run_tags = {"neura_scholar.stage_eval.candidate": f"{report['registered_model']}/{report['version']}",
                "neura_scholar.stage_eval.uri": candidate["uri"], "neura_scholar.stage_eval.sha256": report["sha256"]}  # fmt: skip
    if report["source_run_id"]:
        run_tags["mlflow.parentRunId"] = report["source_run_id"]
    logger.info("stage evaluation of %s (version %s, sha256 %s...)", candidate["uri"], report["version"], report["sha256"][:12])
    return report, run_tags


def embed_and_index_candidate(
    chunks: TableFile, candidate: dict[str, Any], cache: ModelCache, encoder_params: dict[str, Any],
    runtime: dict[str, Any], index_params: dict[str, Any],
) -> tuple[ChunkEmbeddings, ChunkIndex, dict[str, Any]]:  # fmt: skip
    """The corpus embedded and indexed with the candidate, reusing what the cache holds for
    these bytes (shards and index), and a report of what was reused. The chunk table stays on
    disk: the ``ray`` backend's workers read the texts themselves."""
    config = EmbeddingParams(**encoder_params).model_copy(update={"service_url": None})
    index_config, registry_model = IndexParams(**index_params), _as_registry_model(candidate)
    identity = onnx_identity(registry_model["uri"], registry_model["model"])  # as select_encoder names it
    ids = chunks.read(["chunk_id"])["chunk_id"].tolist()  # file order: shards are ranges of rows
    job, _ = plan_shards(ids, identity, config.shard_size)
    shards_before = cache.shards.done(job)
    if config.backend == "ray":
        from neura_scholar.ray_embedding import embed_on_ray  # Ray is imported on this path only

        embeddings = embed_on_ray(chunks, {}, registry_model, config, runtime, cache.shards)
    else:
        texts = chunks.read(["text"])["text"].tolist()
        encode, _ = select_encoder({}, registry_model, config, runtime)
        dim = int(np.asarray(encode(["dimension probe"])).shape[1])
        embeddings = embed_in_shards(texts, ids, encode, identity, dim, cache.shards, config.shard_size).in_chunk_id_order()
    key = ModelCache.index_key(job, index_config.model_dump(exclude={"recall_probe_queries", "recall_k"}))
    index = cache.index(key)
    index_reused = index is not None
    if index is None:
        index = build_index(embeddings.vectors, embeddings.chunk_ids, index_config.factory, index_config.search_params,
                            index_config.train_size, index_config.seed, identity)  # fmt: skip
        cache.save_index(key, index)
    report = {"encoder": identity, "embedding_job": job, "index_key": key, "chunks": len(ids),
              "data_version": data_version(chunks), "shards_reused": shards_before,
              "shards": -(-len(ids) // config.shard_size), "index_reused": index_reused}  # fmt: skip
    logger.info("candidate embeddings: %d of %d shards reused; index %s", shards_before, report["shards"], key)
    return embeddings, index, report


def load_stage_encoders(
    candidate: dict[str, Any], reference: Encoder, registry_models: dict[str, dict[str, Any]],
    encoder_params: dict[str, Any], runtime: dict[str, Any], comparison_params: dict[str, Any],
) -> dict[str, EvalEncoder]:  # fmt: skip
    """``evaluation_encoders`` for the stage evaluation: the pulled candidate and the
    comparison encoders (``production`` from the registry by default)."""
    config = EmbeddingParams(**encoder_params).model_copy(update={"service_url": None})
    encoders = evaluation_encoders(
        select_encoder({}, _as_registry_model(candidate), config, runtime), reference, {},
        registry_models, ComparisonParams(**comparison_params).encoders, config, runtime,
    )  # fmt: skip
    tags = candidate["tags"]
    registry = {"model": tags["registered_model"], "version": tags["model_version"],
                "alias": candidate["uri"].partition("@")[2], "variant": tags.get("variant", "")}  # fmt: skip
    encoders["candidate"] = EvalEncoder("candidate", encoders["candidate"].identity, candidate["uri"],
                                        encoders["candidate"].encode, registry)  # fmt: skip
    return encoders


def build_stage_drift_reference(
    chunks: pd.DataFrame, heldout: pd.DataFrame, encoders: dict[str, EvalEncoder],
    drift_params: dict[str, Any], comparison_params: dict[str, Any],
) -> dict[str, np.ndarray]:  # fmt: skip
    """The drift reference in the baseline's space: the seeded sample encoded by the baseline
    encoder, so drift says whether switching to the candidate needs a re-embedded index. With
    no usable baseline encoder (a file baseline, an unset alias) the candidate's own space is
    the reference, and the drift report names that encoder."""
    baseline = ComparisonParams(**comparison_params).baseline
    usable = [e for e in (encoders.get(baseline), encoders["candidate"]) if e is not None and e.encode is not None]
    encoder, encode = usable[0], usable[0].encode
    if encode is None:  # never: the candidate always encodes
        raise ValueError("no encoder to build the drift reference with")
    chunk_ids, chunk_texts, case_ids, queries = drift_sample(chunks, heldout, DriftParams(**drift_params))
    chunk_vectors = np.asarray(encode(chunk_texts), dtype=np.float32)
    return {
        "chunk_ids": np.asarray(chunk_ids, dtype=str),
        "chunk_vectors": chunk_vectors,
        "query_ids": np.asarray(case_ids, dtype=str),
        "query_vectors": np.asarray(encode(queries), np.float32) if queries else np.zeros((0, chunk_vectors.shape[1]), np.float32),
        "encoder": np.array(encoder.identity),
        "data_version": np.array(data_version(chunks)),
    }


def record_verdict(
    gate: dict[str, Any], drift: dict[str, Any], candidate_report: dict[str, Any], provenance: dict[str, Any]
) -> dict[str, Any]:
    """``stage_verdict``: the gate's verdict as tags of the evaluated model version (the dataset
    fills in this run's id), written whether it passed or not."""
    tags = verdict_tags(gate, candidate_report, drift, "{run_id}", str(provenance["evaluated_at"]))
    return {"model": candidate_report["registered_model"], "version": candidate_report["version"], "tags": tags}


def enforce_stage_gate(
    recorded: dict[str, Any], verdict: dict[str, Any], summary: str, model_comparison: list[dict[str, Any]],
    metric_count: int,
) -> None:  # fmt: skip
    """Stop the run when the gate failed, after the verdict is in the registry and every report
    is written (they are all inputs)."""
    logger.info("stage verdict recorded on %s version %s: passed=%s (%d metrics, %d comparison rows)",
                recorded["model"], recorded["version"], recorded["tags"].get("stage_eval.passed"),
                metric_count, len(model_comparison))  # fmt: skip
    enforce(verdict)
