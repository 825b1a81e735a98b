"""The evaluation's plots, drawn with matplotlib (Agg, no display) from the report dicts, as PNG
bytes: metrics against k per encoder, per-slice bars, perturbation pass rates per encoder, and
drift statistics against their thresholds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _available(comparison: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: entry for name, entry in comparison["encoders"].items() if "metrics" in entry}


def plot_metrics_at_k(
    comparison: dict[str, Any],
    ks: Sequence[int],
    metrics: Sequence[str] = ("recall", "ndcg"),
    collapse: str = "maxp",
) -> bytes:
    """One panel per metric: its mean at each k, one line per encoder."""
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for name, entry in _available(comparison).items():
            values = [
                entry["metrics"].get(f"{collapse}.{metric}@{k}", {}).get("mean", np.nan) for k in ks
            ]
            axis.plot(list(ks), values, marker="o", label=name)
        axis.set_xscale("log")
        axis.set_xticks(list(ks), [str(k) for k in ks])
        axis.set_xlabel("k")
        axis.set_ylabel(f"{collapse}.{metric}@k")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle("held-out retrieval by encoder")
    return png_bytes(figure)


def plot_slices(slices: pd.DataFrame, metric: str) -> bytes:
    """Horizontal bars of ``metric`` per slice; slices too small to judge are hatched grey."""
    frame = slices.sort_values(["slice", "value"]).reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(frame) + 1.2))
    labels = [
        f"{s}={v} (n={n})"
        for s, v, n in zip(frame["slice"], frame["value"], frame["cases"], strict=True)
    ]
    colours = ["lightgrey" if small else "tab:blue" for small in frame["too_small"]]
    bars = axis.barh(range(len(frame)), frame[metric], color=colours)
    for bar, small in zip(bars, frame["too_small"], strict=True):
        if small:
            bar.set_hatch("//")
    axis.set_yticks(range(len(frame)), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, 1.02)
    axis.set_xlabel(f"{metric} (grey: too few cases to judge)")
    axis.set_title("held-out by slice (candidate)")
    return png_bytes(figure)


def plot_robustness(comparison: dict[str, Any], k: int) -> bytes:
    """Grouped bars: pass rate@k per perturbation type, one bar per encoder."""
    encoders = _available(comparison)
    kinds = sorted({kind for entry in encoders.values() for kind in entry["robustness"]})
    width = 0.8 / max(len(encoders), 1)
    figure, axis = plt.subplots(figsize=(max(6, 1.1 * len(kinds)), 3.6))
    for i, (name, entry) in enumerate(encoders.items()):
        rates = [entry["robustness"].get(kind, {}).get(f"pass_rate@{k}", np.nan) for kind in kinds]
        axis.bar(np.arange(len(kinds)) + i * width, rates, width, label=name)
    axis.set_xticks(np.arange(len(kinds)) + 0.4 - width / 2, kinds, rotation=20, fontsize=8)
    axis.set_ylim(0, 1.02)
    axis.set_ylabel(f"pass rate@{k}")
    axis.set_title("perturbed queries: target still in the top k")
    axis.legend(fontsize=8)
    return png_bytes(figure)


def plot_drift(drift: dict[str, Any]) -> bytes:
    """One panel per drift statistic: its value per encoder and the threshold as a line."""
    statistics = ("mean_paired_cosine", "centroid_distance", "mmd_p_value", "domain_classifier_auc")
    measured = {name: entry for name, entry in drift["encoders"].items() if "drifted" in entry}
    figure, axes = plt.subplots(
        1, len(statistics), figsize=(4 * len(statistics), 3.4), squeeze=False
    )
    for axis, statistic in zip(axes[0], statistics, strict=True):
        names = list(measured)
        values = [measured[n][statistic]["value"] for n in names]
        colours = ["tab:red" if measured[n][statistic]["drifted"] else "tab:green" for n in names]
        axis.bar(range(len(names)), values, color=colours)
        if names:
            axis.axhline(
                measured[names[0]][statistic]["threshold"],
                color="black",
                linestyle="--",
                linewidth=1,
            )
        axis.set_xticks(range(len(names)), names, rotation=30, fontsize=8)
        axis.set_title(statistic, fontsize=9)
    figure.suptitle(
        f"drift against the reference ({drift['reference']['encoder'].split(' ')[0]}); red = drifted"
    )
    return png_bytes(figure)
