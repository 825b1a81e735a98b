"""The performance report's plots (matplotlib, Agg) as PNG bytes: latency percentiles per
encoder, throughput against input length and batch size, QPS against recall per index type,
and service latency against concurrency."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neura_scholar.evaluation_plots import png_bytes  # noqa: E402


def plot_latency(encoders: dict[str, Any]) -> bytes:
    names = list(encoders["encoders"])
    figure, axis = plt.subplots(figsize=(7, 3.6))
    for i, p in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        axis.bar(np.arange(len(names)) + i * 0.27, [encoders["encoders"][n]["latency"][p] for n in names], 0.27, label=p)
    axis.set_xticks(np.arange(len(names)) + 0.27, names, rotation=20, fontsize=8)
    axis.set_ylabel("ms (batch 1)")
    axis.set_title("single-query latency per encoder")
    axis.legend(fontsize=8)
    return png_bytes(figure)


def plot_throughput(encoders: dict[str, Any]) -> bytes:
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, figures in encoders["encoders"].items():
        lengths = sorted(int(k.split("_")[0]) for k in figures["throughput"])
        left.plot(lengths, [figures["throughput"][f"{n}_tokens"]["tokens_per_s"]["median"] for n in lengths], marker="o", label=name)
    left.set_xlabel("input tokens")
    left.set_ylabel("tokens/s")
    left.legend(fontsize=7)
    left.set_title("throughput against input length")
    by_batch = encoders["int8_throughput_by_batch_size"]["by_batch_size"]
    sizes = sorted(int(s) for s in by_batch)
    right.plot(sizes, [by_batch[str(s)]["texts_per_s"]["median"] for s in sizes], marker="o")
    right.set_xscale("log", base=2)
    right.set_xlabel("batch size")
    right.set_ylabel("texts/s (INT8)")
    right.set_title("throughput against batch size")
    return png_bytes(figure)


def plot_search(search: dict[str, Any]) -> bytes:
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for name, figures in search["indexes"].items():
        recall = next(v for k, v in figures.items() if k.startswith("recall_at_"))
        for batch, marker in (("batch_1", "o"), ("batch_100", "s")):
            axis.scatter(recall, figures[batch]["qps"]["median"], marker=marker, label=f"{name} ({batch})")
    axis.set_yscale("log")
    axis.set_xlabel("recall@k against exact search")
    axis.set_ylabel("queries/s")
    axis.set_title(f"FAISS on {search['vectors']} vectors")
    axis.legend(fontsize=6)
    return png_bytes(figure)


def plot_service(service: dict[str, Any]) -> bytes:
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for path, levels in service.get("endpoints", {}).items():
        concurrency = sorted(int(c) for c in levels)
        axis.plot(concurrency, [levels[str(c)]["p50_ms"] for c in concurrency], marker="o", label=f"{path} p50")
        axis.plot(concurrency, [levels[str(c)]["p99_ms"] for c in concurrency], marker="x", linestyle="--", label=f"{path} p99")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("concurrent clients")
    axis.set_ylabel("latency ms")
    axis.set_title("service latency against concurrency" if service.get("enabled") else "service not measured")
    axis.legend(fontsize=6)
    return png_bytes(figure)
