"""model_export nodes: the reference checkpoint becomes ONNX variants, checked and measured."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from neura_scholar import speed
from neura_scholar.encoders import (
    BatchLimits,
    Encoder,
    OnnxEncoder,
    OnnxRuntimeSettings,
    TorchEncoder,
)
from neura_scholar.eval_sets import sample_ids
from neura_scholar.onnx_export import describe_onnx, export_onnx, optimise_onnx, quantise_onnx
from neura_scholar.pipelines.model_export.config import ExportParams, ParityParams, SpeedParams

logger = logging.getLogger(__name__)

VARIANTS = ("fp32", "optimised", "int8")


class ParityError(ValueError):
    """A variant's embeddings drifted from the reference beyond its threshold."""


def export_onnx_model(reference: TorchEncoder, params: dict[str, Any]) -> bytes:
    """The reference as ONNX with pooling and normalisation in the graph (``encoder_fp32``)."""
    config = ExportParams(**params)
    model = export_onnx(reference.module, config.opset, reference.dim)
    logger.info("exported %s: %.1f MB, opset %d", reference.name, len(model) / 2**20, config.opset)
    return model


def optimise_onnx_model(fp32: bytes, reference: TorchEncoder) -> tuple[bytes, dict[str, int]]:
    """onnxruntime's transformer optimiser (``encoder_optimised``) and the fusions it made."""
    optimised, fusions = optimise_onnx(fp32, reference.config.num_attention_heads, reference.dim)
    logger.info("optimised: fusions %s", fusions)
    return optimised, fusions


def quantise_onnx_model(optimised: bytes, params: dict[str, Any]) -> bytes:
    """Dynamic INT8 quantisation of the optimised graph (``encoder_int8``)."""
    per_channel = ExportParams(**params).quantisation.per_channel
    model = quantise_onnx(optimised, per_channel)
    logger.info("quantised (%s): %.1f MB", "per channel" if per_channel else "per tensor", len(model) / 2**20)
    return model


def select_probe_texts(chunks: pd.DataFrame, heldout: pd.DataFrame, params: dict[str, Any]) -> dict[str, list[str]]:
    """A seeded sample of real chunks and held-out queries to check and time the variants on."""
    config = ParityParams(**params)
    chunk_ids = sample_ids(list(chunks["chunk_id"]), config.chunks, config.seed)
    case_ids = sample_ids(list(heldout["case_id"]), config.queries, config.seed)
    return {
        "chunks": chunks.set_index("chunk_id").loc[chunk_ids, "text"].tolist(),
        "queries": heldout.set_index("case_id").loc[case_ids, "query"].tolist(),
        "chunk_pool": chunks.sort_values("chunk_id")["text"].tolist(),
    }


def _onnx_encoders(models: dict[str, bytes], checkpoint: str, runtime: dict[str, Any]) -> dict[str, Encoder]:
    settings = OnnxRuntimeSettings(**runtime)
    return {name: OnnxEncoder(model, checkpoint, f"onnx:{name}", settings) for name, model in models.items()}


def check_parity(
    reference: TorchEncoder,
    fp32: bytes,
    optimised: bytes,
    int8: bytes,
    probe_texts: dict[str, list[str]],
    params: dict[str, Any],
    runtime: dict[str, Any],
) -> dict[str, dict[str, float]]:
    """Mean and minimum cosine of each variant to the reference on real chunks and queries.

    Raises:
        ParityError: naming every variant below its threshold, and by how much.
    """
    config = ParityParams(**params)
    texts = probe_texts["chunks"] + probe_texts["queries"]
    expected = reference.encode(texts).vectors
    encoders = _onnx_encoders({"fp32": fp32, "optimised": optimised, "int8": int8}, reference.checkpoint, runtime)
    parity = {}
    for name, encoder in encoders.items():
        cosines = np.sum(encoder.encode(texts).vectors * expected, axis=1)
        parity[name] = {"mean_cosine": float(cosines.mean()), "min_cosine": float(cosines.min()), "texts": len(texts)}
    failures = [
        f"{name}: {stat} {parity[name][stat]:.6f} < {floor} (short by {floor - parity[name][stat]:.6f})"
        for name, floors in config.thresholds.items()
        for stat, floor in floors.items()
        if parity[name][stat] < floor
    ]
    logger.info("parity: %s", parity)
    if failures:
        raise ParityError("variants below their parity thresholds: " + "; ".join(failures))
    return parity


def measure_encoder_speed(
    reference: TorchEncoder,
    fp32: bytes,
    optimised: bytes,
    int8: bytes,
    probe_texts: dict[str, list[str]],
    params: dict[str, Any],
    runtime: dict[str, Any],
) -> dict[str, Any]:
    """Latency, throughput and memory of the reference, each variant and sentence-transformers,
    measured side by side in this run; ratios to sentence-transformers are the headline."""
    config = SpeedParams(**params)
    peak = speed.matmul_gflops()
    cfg = reference.config
    flops = {
        n: speed.encoder_flops_per_token(cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, n)
        for n in config.input_tokens
    }
    # n tokens with [CLS] and [SEP] = n - 2 content tokens.
    inputs = {
        n: speed.texts_with_tokens(reference.tokenizer, probe_texts["chunk_pool"], n - 2, config.throughput_texts)
        for n in config.input_tokens
    }
    queries = probe_texts["queries"][: config.latency_queries]
    # Every encoder runs the same batches: batch_size texts whatever their length.
    limits = BatchLimits(max_batch_size=config.batch_size, max_batch_tokens=config.batch_size * max(config.input_tokens))
    onnx = _onnx_encoders({"fp32": fp32, "optimised": optimised, "int8": int8}, reference.checkpoint, runtime)
    encoders: dict[str, speed.EncodeFn] = {
        name: partial(encoder.encode, limits=limits) for name, encoder in {"torch": reference, **onnx}.items()
    }
    if config.include_sentence_transformers:
        encoders["sentence_transformers"] = speed.sentence_transformers_encode(str(reference.checkpoint_dir), config.batch_size)
    results = {
        name: speed.benchmark_encoder(
            encode, queries, inputs, batch_size=config.batch_size, latency_repeats=config.latency_repeats,
            throughput_repeats=config.throughput_repeats, flops_per_token=flops, peak_gflops=peak["median"],
        )  # fmt: skip
        for name, encode in encoders.items()
    }
    logger.info("speed: %s", {n: round(r["latency"]["p50_ms"], 2) for n, r in results.items()})
    return {"matmul_peak_gflops": peak, "flops_per_token": flops, "encoders": results}


def speed_ratios(speeds: dict[str, Any], peer: str) -> dict[str, dict[str, float]]:
    """Each encoder against ``peer``: latency p50 ratio (<1 is faster) and throughput ratios."""
    base = speeds[peer]
    ratios = {}
    for name, result in speeds.items():
        entry = {"latency_p50": result["latency"]["p50_ms"] / base["latency"]["p50_ms"]}
        for key, figures in result["throughput"].items():
            entry[f"throughput_{key}"] = figures["texts_per_s"]["median"] / base["throughput"][key]["texts_per_s"]["median"]
        ratios[name] = entry
    return ratios


def build_export_report(
    fp32: bytes,
    optimised: bytes,
    int8: bytes,
    fusions: dict[str, int],
    parity: dict[str, dict[str, float]],
    speeds: dict[str, Any],
    params: dict[str, Any],
    runtime: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """``export_report`` (every figure per variant) and flat MLflow metrics."""
    models = {"fp32": fp32, "optimised": optimised, "int8": int8}
    encoders = speeds["encoders"]
    peer = "sentence_transformers" if "sentence_transformers" in encoders else "torch"
    report = {
        "export": ExportParams(**params).model_dump(),
        "runtime": {**runtime, "providers_used": OnnxRuntimeSettings(**runtime).resolved_providers()},
        "fusions": fusions,
        "variants": {
            name: {**describe_onnx(model), "size_mb": len(model) / 2**20, "parity": parity[name], "speed": encoders[name]}
            for name, model in models.items()
        },
        "reference": {"speed": encoders["torch"]},
        "peer": {"name": peer, "speed": encoders[peer]},
        "ratios_to_peer": speed_ratios(encoders, peer),
        "matmul_peak_gflops": speeds["matmul_peak_gflops"],
        "flops_per_token": speeds["flops_per_token"],
    }
    figures = {}
    for name, variant in report["variants"].items():
        figures[f"{name}.size_mb"] = variant["size_mb"]
        figures[f"{name}.mean_cosine"] = variant["parity"]["mean_cosine"]
        figures[f"{name}.min_cosine"] = variant["parity"]["min_cosine"]
        figures[f"{name}.latency_p50_ms"] = variant["speed"]["latency"]["p50_ms"]
        for key, value in report["ratios_to_peer"][name].items():
            figures[f"{name}.ratio_{key}"] = value
    return report, {k: {"value": float(v), "step": 0} for k, v in figures.items()}


def prepare_registry_entries(
    fp32: bytes, optimised: bytes, int8: bytes, report: dict[str, Any], checkpoint: str
) -> dict[str, dict[str, Any]]:
    """What the registry dataset registers: each variant's bytes and its tags."""
    models = {"fp32": fp32, "optimised": optimised, "int8": int8}
    entries = {}
    for name, model in models.items():
        variant = report["variants"][name]
        tags = {
            "source_checkpoint": checkpoint,
            "tokenizer_checkpoint": checkpoint,
            "size_mb": f"{variant['size_mb']:.2f}",
            "mean_cosine": f"{variant['parity']['mean_cosine']:.6f}",
            "min_cosine": f"{variant['parity']['min_cosine']:.6f}",
            "opset": variant["opset"],
            "dim": variant["dim"],
        }
        entries[name] = {"model": model, "tags": tags}
    return entries
