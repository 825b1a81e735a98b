"""Reproduce the model_export report's speed figures with more repeats.

Reads the latest exported variants, the chunks and held-out queries through the Kedro catalog
(so run `kedro run --pipeline data_prep` and `--pipeline model_export` first), measures the
PyTorch reference, every ONNX variant and sentence-transformers side by side in this one run,
and prints medians with their spread and the ratios to sentence-transformers and to this
machine's matrix-multiply peak.

    .venv/bin/python benchmarks/encoder_speed.py --repeats 5 --out data/08_reporting/encoder_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from neura_scholar.datasets.manifest import write_atomic
from neura_scholar.pipelines.model_export.nodes import (
    measure_encoder_speed,
    select_probe_texts,
    speed_ratios,
)

PROJECT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="repeats of every latency and throughput measurement")
    parser.add_argument("--latency-queries", type=int, default=64)
    parser.add_argument("--throughput-texts", type=int, default=128)
    parser.add_argument("--out", type=Path, default=PROJECT / "data/08_reporting/encoder_speed.json")
    args = parser.parse_args()

    os.chdir(PROJECT)
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        catalog = session.load_context().catalog
        params = catalog.load("parameters")
        reference = catalog.load("reference_encoder")
        models = [catalog.load(name) for name in ("encoder_fp32", "encoder_optimised", "encoder_int8")]
        probe = select_probe_texts(
            catalog.load("paper_chunks@pandas"), catalog.load("heldout"),
            {**params["model_export"]["parity"], "queries": args.latency_queries},
        )  # fmt: skip
    speed_params = {
        **params["model_export"]["speed"],
        "latency_queries": args.latency_queries,
        "latency_repeats": args.repeats,
        "throughput_texts": args.throughput_texts,
        "throughput_repeats": args.repeats,
    }
    result = measure_encoder_speed(reference, *models, probe, speed_params, params["encoder_runtime"])
    result["ratios_to_sentence_transformers"] = speed_ratios(result["encoders"], "sentence_transformers")
    write_atomic(args.out, json.dumps(result, indent=2).encode())

    peak = result["matmul_peak_gflops"]
    print(f"matmul peak: {peak['median']:.1f} GFLOP/s (min {peak['min']:.1f}, max {peak['max']:.1f})")  # noqa: T201
    for name, figures in result["encoders"].items():
        latency = figures["latency"]
        spread = latency["p50_ms_over_repeats"]
        line = f"{name:22s} p50 {latency['p50_ms']:6.2f} ms [{spread['min']:.2f}-{spread['max']:.2f}] p95 {latency['p95_ms']:6.2f}"
        for key, t in figures["throughput"].items():
            rate = t["texts_per_s"]
            line += f" | {key} {rate['median']:6.1f}/s [{rate['min']:.1f}-{rate['max']:.1f}] {t['fraction_of_matmul_peak']:.2f} of peak"
        ratios = result["ratios_to_sentence_transformers"][name]
        line += " | vs ST: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
        print(line)  # noqa: T201
    print(f"written {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
