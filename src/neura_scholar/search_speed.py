"""Measuring search: FAISS latency and QPS per index type with recall against exact search,
how search cost grows with the index size, and the end-to-end query path by stage
(tokenise, encode, search, collapse to papers). Shared by the performance pipeline and the
scripts under ``benchmarks/``; every figure is a median over repeats with its spread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import faiss
import numpy as np

from neura_scholar.batching import tokenise
from neura_scholar.encoders import Encoder
from neura_scholar.indexing import ChunkIndex, build_index
from neura_scholar.search import collapse_to_papers
from neura_scholar.speed import PeakMemory, spread


def time_search(index: faiss.Index, queries: np.ndarray, batch: int, k: int = 10) -> dict[str, float]:
    """Queries per second and milliseconds per call, searching ``queries`` in batches of ``batch``."""
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        index.search(queries[i : i + batch], k)
    elapsed = time.perf_counter() - start
    return {"qps": len(queries) / elapsed, "ms_per_batch": 1000 * elapsed / -(-len(queries) // batch)}


def _repeat_search(index: faiss.Index, queries: np.ndarray, batch: int, k: int, repeats: int) -> dict[str, Any]:
    runs = [time_search(index, queries, batch, k) for _ in range(repeats)]
    return {"qps": spread([r["qps"] for r in runs]), "ms_per_batch": spread([r["ms_per_batch"] for r in runs])}


def index_speed(
    vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, specs: Sequence[tuple[str, dict[str, Any]]],
    k: int, repeats: int, train_size: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Per index type: build time and memory, recall@k against exact search, and QPS at batch
    1 and batch 100."""
    truth = build_index(vectors, ids, "Flat", {}, 1, 0).search(queries, k)[1]
    results: dict[str, Any] = {}
    for factory, params in specs:
        with PeakMemory() as memory:
            start = time.perf_counter()
            index = build_index(vectors, ids, factory, params, train_size, seed)
            build_s = time.perf_counter() - start
        found = index.search(queries, k)[1]
        recall = float(np.mean([len(set(f) & set(t)) / max(len(t), 1) for f, t in zip(found, truth, strict=True)]))
        key = f"{factory} {params}" if params else factory
        results[key] = {
            "factory": factory, "search_params": dict(params), "build_s": build_s, "rss_rise_mb": memory.delta_mb,
            f"recall_at_{k}_vs_exact": recall,
            "batch_1": _repeat_search(index.index, queries[: min(len(queries), 300)], 1, k, repeats),
            "batch_100": _repeat_search(index.index, queries, 100, k, repeats),
        }  # fmt: skip
    return results


def index_size_scaling(vectors: np.ndarray, queries: np.ndarray, fractions: Sequence[float], k: int, repeats: int) -> dict[str, Any]:
    """Exact search cost at growing index sizes (the first ``fraction`` of the vectors)."""
    results = {}
    for fraction in fractions:
        size = max(k, int(len(vectors) * fraction))
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors[:size]))
        results[str(size)] = {"vectors": size, "batch_1": _repeat_search(flat, queries[: min(len(queries), 300)], 1, k, repeats),
                              "batch_100": _repeat_search(flat, queries, 100, k, repeats)}  # fmt: skip
    return results


def query_path_stages(
    encoder: Encoder, index: ChunkIndex, queries: Sequence[str], k: int, repeats: int, faiss_threads: int | None = None
) -> dict[str, Any]:
    """Milliseconds per query in each stage of a batch-1 query: tokenise, encode (the model,
    pooling included: the full encode minus tokenising), search (chunk hits, 4k fetched as the
    searcher does) and collapse to papers; medians over queries, spread over repeats.
    ``faiss_threads`` sets FAISS's OpenMP threads on this thread for the measurement (the
    service runs one: more spin against ONNX Runtime's threads), restored afterwards."""
    before = faiss.omp_get_max_threads()
    if faiss_threads is not None:
        faiss.omp_set_num_threads(faiss_threads)
    try:
        return _stages(encoder, index, queries, k, repeats)
    finally:
        faiss.omp_set_num_threads(before)


def _stages(encoder: Encoder, index: ChunkIndex, queries: Sequence[str], k: int, repeats: int) -> dict[str, Any]:
    per_repeat: list[dict[str, float]] = []
    for _ in range(repeats):
        stages: dict[str, list[float]] = {"tokenise": [], "encode": [], "search": [], "collapse": []}
        for query in queries:
            t0 = time.perf_counter()
            tokenise(encoder.tokenizer, [query])
            t1 = time.perf_counter()
            vector = encoder.encode([query]).vectors
            t2 = time.perf_counter()
            scores, ids = index.search(vector, 4 * k)
            t3 = time.perf_counter()
            collapse_to_papers(ids[0], scores[0][: len(ids[0])].tolist(), "maxp")[:k]
            t4 = time.perf_counter()
            stages["tokenise"].append((t1 - t0) * 1000)
            stages["encode"].append(max((t2 - t1) - (t1 - t0), 0.0) * 1000)
            stages["search"].append((t3 - t2) * 1000)
            stages["collapse"].append((t4 - t3) * 1000)
        per_repeat.append({name: float(np.median(values)) for name, values in stages.items()})
    result = {name: spread([r[name] for r in per_repeat]) for name in per_repeat[0]}
    result["total"] = spread([sum(r.values()) for r in per_repeat])
    return result
