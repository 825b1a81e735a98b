"""evaluation nodes that report: model_comparison.jsonl rows, plots, the summary page, MLflow
metrics, and the gate's verdict (judged, reported, then enforced)."""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from neura_scholar.encoder_selection import EvalEncoder
from neura_scholar.eval_sets import fingerprint_cases
from neura_scholar.evaluation_plots import (
    plot_drift,
    plot_metrics_at_k,
    plot_robustness,
    plot_slices,
)
from neura_scholar.evaluation_summary import render_summary
from neura_scholar.gate import GateParams, enforce, judge
from neura_scholar.indexing import ChunkIndex
from neura_scholar.pipelines.evaluation.nodes import ComparisonParams, EvaluationParams

logger = logging.getLogger(__name__)

PLOTS = {"metrics at k": "plots/metrics_at_k.png", "slices": "plots/slices.png",
         "robustness": "plots/robustness.png", "drift": "plots/drift.png"}  # fmt: skip


def judge_gate(
    retrieval_metrics: dict[str, Any], slice_metrics: pd.DataFrame, comparison: dict[str, Any],
    drift: dict[str, Any], params: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """``gate_report``: floors, significant drops of the candidate against the baseline, and the
    candidate's drift. Judged here and saved either way; :func:`enforce_gate` stops the run."""
    candidate = comparison["encoders"].get("candidate", {})
    against = {"baseline": comparison.get("baseline"),
               "baseline_error": comparison.get("baseline_error") or candidate.get("vs_baseline_error", ""),
               "vs_baseline": candidate.get("vs_baseline", {})}  # fmt: skip
    return judge(
        retrieval_metrics,
        slice_metrics,
        against,
        drift["encoders"].get("candidate", {}),
        GateParams(**params),
    )


def enforce_gate(
    verdict: dict[str, Any],
    summary: str,
    model_comparison: list[dict[str, Any]],
    external: dict[str, Any],
    metric_count: int,
) -> None:
    """Raise :class:`~neura_scholar.gate.GateError` with the table of failed checks. The other
    inputs are there so that every report is written before a failed gate stops the run."""
    enforce(verdict)
    logger.info("quality gate passed: %d checks (%d MLflow metrics, %d rows in model_comparison, %d external sets)",
                len(verdict["checks"]), metric_count, len(model_comparison), len(external))  # fmt: skip


def _export_figures(
    source: str, registry: dict[str, str], export_report: dict[str, Any]
) -> dict[str, Any]:
    """Size and speed of the encoder from the export report, where it measured that encoder."""
    variant = (
        source.partition(":")[2] if source.startswith("onnx:") else registry.get("variant", "")
    )
    if source == "reference":
        return {"speed": export_report.get("reference", {}).get("speed")}
    entry = export_report.get("variants", {}).get(variant)
    if entry is None or source.startswith("models:/"):
        return {}  # a registry version's size and speed were measured by the run that exported it
    return {"size_mb": entry["size_mb"], "speed": entry["speed"]}


def record_model_comparison(
    comparison: dict[str, Any], drift: dict[str, Any], encoders: dict[str, EvalEncoder], export_report: dict[str, Any],
    index: ChunkIndex, heldout: pd.DataFrame, perturbations: pd.DataFrame, failures: pd.DataFrame,
    provenance: dict[str, Any], params: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """``model_comparison`` rows (appended to model_comparison.jsonl): one per encoder, with its
    identity and origin, every metric, robustness, failures, drift, size and speed, and its
    differences to the baseline, tagged with the git commit and the evaluation data's hash."""
    config = ComparisonParams(**params)
    fingerprint = fingerprint_cases(heldout, perturbations, failures)
    rows = []
    for name, entry in comparison["encoders"].items():
        encoder = encoders[name]
        row: dict[str, Any] = {
            **provenance, "eval_data_hash": fingerprint, "encoder": name, "identity": encoder.identity,
            "source": encoder.source, "registry": encoder.registry, "is_candidate": name == "candidate",
            "is_baseline": name == config.baseline,
            "index": {"factory": index.factory, "search_params": index.search_params} if name == "candidate" else {"factory": "Flat"},
        }  # fmt: skip
        if "metrics" not in entry:
            rows.append({**row, "unavailable": entry["unavailable"]})
            continue
        drifted = drift["encoders"].get(name, {})
        row.update({
            "metrics": {m: v["mean"] for m, v in entry["metrics"].items()},
            "queries": max(v["queries"] for v in entry["metrics"].values()),
            "robustness": entry["robustness"],
            "failures": {k: v["pass_rate"] for k, v in entry["failures"].items()},
            "drift": {k: v["value"] for k, v in drifted.items() if isinstance(v, dict) and "value" in v} | {"drifted": drifted.get("drifted")},
            **_export_figures(encoder.source, encoder.registry, export_report),
            "vs_baseline": entry.get("vs_baseline", {}), "vs_baseline_error": entry.get("vs_baseline_error", ""),
        })  # fmt: skip
        rows.append(row)
    return rows


def draw_plots(
    comparison: dict[str, Any],
    slice_metrics: pd.DataFrame,
    drift: dict[str, Any],
    params: dict[str, Any],
    summary_params: dict[str, Any],
) -> tuple[bytes, bytes, bytes, bytes]:
    """PNG bytes: metrics at k per encoder, per-slice bars, perturbation pass rates, drift."""
    config = EvaluationParams(**params)
    return (
        plot_metrics_at_k(comparison, config.ks),
        plot_slices(slice_metrics, summary_params["slice_metric"]),
        plot_robustness(comparison, config.perturbation_k),
        plot_drift(drift),
    )


def write_summary(
    verdict: dict[str, Any], comparison: dict[str, Any], slice_metrics: pd.DataFrame, drift: dict[str, Any],
    gate_params: dict[str, Any], summary_params: dict[str, Any], *plots: bytes,
) -> str:  # fmt: skip
    """``evaluation_summary``: the one-page Markdown summary linking the plots (which it takes
    as inputs so they exist when it does)."""
    test = GateParams(**gate_params).test
    return render_summary(
        verdict,
        comparison,
        slice_metrics,
        drift,
        PLOTS,
        summary_params["headline"],
        summary_params["slice_metric"],
        test,
    )


def flatten_metrics(
    comparison: dict[str, Any], drift: dict[str, Any], verdict: dict[str, Any]
) -> tuple[dict[str, dict[str, float]], int]:
    """``evaluation_metrics`` for MLflow: every encoder's means, its difference to the baseline,
    its drift statistics, and the verdict (1 passed, 0 failed); and how many there are."""
    figures: dict[str, float] = {"gate.passed": float(verdict["passed"])}
    for name, entry in comparison["encoders"].items():
        for metric, value in entry.get("metrics", {}).items():
            figures[f"{name}.{metric}"] = value["mean"]
        for metric, value in entry.get("vs_baseline", {}).items():
            figures[f"{name}.vs_baseline.{metric}"] = value["difference"]
    for name, entry in drift["encoders"].items():
        for statistic, value in entry.items():
            if isinstance(value, dict) and "value" in value:
                figures[f"{name}.drift.{statistic}"] = value["value"]
    # MLflow metric names take no "@": recall@10 is logged as recall_at_10; NaN is left out.
    metrics = {
        key.replace("@", "_at_"): {"value": float(value), "step": 0}
        for key, value in figures.items()
        if not math.isnan(value)
    }
    return metrics, len(metrics)
