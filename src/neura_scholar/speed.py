"""Measuring encoders: latency percentiles, throughput, peak memory, and the hardware limit.

Shared by the model_export report and the scripts under ``benchmarks/``. Machines here are
shared and noisy, so every figure is a median over repeats with its spread (min and max over
the repeats), and comparisons are ratios measured side by side in one run.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from tokenizers import Tokenizer

EncodeFn = Callable[[Sequence[str]], Any]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    array = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(array)), "min": float(array.min()), "max": float(array.max())}


def measure_latency(encode: EncodeFn, queries: Sequence[str], repeats: int, warmup: int = 3) -> dict[str, Any]:
    """Batch-1 latency in milliseconds: every query encoded alone, ``repeats`` times over.

    Returns p50/p95/p99 over all calls, and the spread of the per-repeat p50.
    """
    for query in queries[:warmup]:
        encode([query])
    per_repeat: list[list[float]] = []
    for _ in range(repeats):
        times = []
        for query in queries:
            start = time.perf_counter()
            encode([query])
            times.append((time.perf_counter() - start) * 1000.0)
        per_repeat.append(times)
    every = np.concatenate([np.asarray(t) for t in per_repeat])
    return {
        "p50_ms": float(np.percentile(every, 50)),
        "p95_ms": float(np.percentile(every, 95)),
        "p99_ms": float(np.percentile(every, 99)),
        "p50_ms_over_repeats": spread([float(np.median(t)) for t in per_repeat]),
        "calls": int(every.size),
    }


def measure_throughput(
    encode: EncodeFn, texts: Sequence[str], batch_size: int, tokens_per_text: float, repeats: int
) -> dict[str, Any]:
    """Texts/s and tokens/s encoding ``texts`` in batches of ``batch_size``; one warm-up pass."""
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    encode(batches[0])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            encode(batch)
        rates.append(len(texts) / (time.perf_counter() - start))
    texts_per_s = spread(rates)
    return {
        "texts_per_s": texts_per_s,
        "tokens_per_s": {k: v * tokens_per_text for k, v in texts_per_s.items()},
        "batch_size": batch_size,
        "texts": len(texts),
    }


def _anon_mb() -> float:
    """Anonymous resident memory (RssAnon): the heap, without file pages mapped in (an mmap'd
    index's pages count in RSS but are page cache the kernel can drop). NaN off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


class PeakMemory:
    """Peak resident memory of this process while the block runs, sampled every ``interval_s``;
    ``peak_mb`` is the peak, ``delta_mb`` the rise over the memory at entry; ``delta_anon_mb``
    the same for anonymous memory only (file pages mapped in left out)."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.process = psutil.Process()
        self.start_mb = self.peak_mb = self.start_anon_mb = self.peak_anon_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss_mb(self) -> float:
        return float(self.process.memory_info().rss) / 2**20

    def _update(self) -> None:
        self.peak_mb = max(self.peak_mb, self._rss_mb())
        self.peak_anon_mb = max(self.peak_anon_mb, _anon_mb())

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._update()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = self._rss_mb()
        self.start_anon_mb = self.peak_anon_mb = _anon_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._update()

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.start_mb

    @property
    def delta_anon_mb(self) -> float:
        return self.peak_anon_mb - self.start_anon_mb


def matmul_gflops(size: int = 1024, repeats: int = 7) -> dict[str, float]:
    """This machine's float32 matrix-multiply throughput (numpy's BLAS, all its threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2 * size**3 / (time.perf_counter() - start) / 1e9)
    return spread(rates)


def encoder_flops_per_token(layers: int, hidden: int, intermediate: int, seq_len: int) -> float:
    """Forward FLOPs per token of a BERT encoder at ``seq_len``: 2 per multiply-add of the
    Q/K/V/output projections (4 h^2), the feed-forward (2 h i) and attention (2 s h)."""
    macs = layers * (4 * hidden * hidden + 2 * hidden * intermediate + 2 * seq_len * hidden)
    return 2.0 * macs


def texts_with_tokens(tokenizer: Tokenizer, pool: Sequence[str], n_tokens: int, count: int) -> list[str]:
    """``count`` real texts of exactly ``n_tokens`` content tokens, cut from ``pool`` joined
    end to end (so 256-token texts span two chunks), on token boundaries."""
    texts: list[str] = []
    buffer = ""
    for text in pool:
        buffer = f"{buffer} {text}".strip()
        encoding = tokenizer.encode(buffer, add_special_tokens=False)
        if len(encoding.ids) >= n_tokens:
            texts.append(buffer[: encoding.offsets[n_tokens - 1][1]])
            buffer = ""
            if len(texts) == count:
                return texts
    raise ValueError(f"the pool holds only {len(texts)} texts of {n_tokens} tokens, {count} asked")


def sentence_transformers_encode(checkpoint_dir: str, batch_size: int) -> EncodeFn:
    """The peer: sentence-transformers on the CPU, loading the same model directory."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(checkpoint_dir, device="cpu", local_files_only=True)

    def encode(texts: Sequence[str]) -> Any:
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)

    return encode


def benchmark_encoder(
    encode: EncodeFn,
    queries: Sequence[str],
    inputs: dict[int, list[str]],
    *,
    batch_size: int,
    latency_repeats: int,
    throughput_repeats: int,
    flops_per_token: dict[int, float],
    peak_gflops: float,
) -> dict[str, Any]:
    """Latency at batch 1 on ``queries``; throughput at ``batch_size`` for each input length
    (``inputs[n]`` holds texts of n tokens, special tokens included), with the fraction of
    the machine's matrix-multiply peak that throughput reaches, and peak memory."""
    with PeakMemory() as memory:
        latency = measure_latency(encode, queries, latency_repeats)
        throughput = {}
        for n_tokens, texts in inputs.items():
            result = measure_throughput(encode, texts, batch_size, n_tokens, throughput_repeats)
            achieved = result["tokens_per_s"]["median"] * flops_per_token[n_tokens] / 1e9
            result["gflops"] = achieved
            result["fraction_of_matmul_peak"] = achieved / peak_gflops
            throughput[f"{n_tokens}_tokens"] = result
    return {"latency": latency, "throughput": throughput, "peak_rss_mb": memory.peak_mb, "rss_rise_mb": memory.delta_mb}
