"""The quality gate: absolute floors, significant drops against a baseline, and drift.

It fails closed: a missing or NaN metric, fewer queries than required (an empty evaluation set
has none), a baseline that could not be evaluated, a metric the comparison did not cover, or a
drift report without a verdict is a failure, never a pass. A drop against the baseline counts
only when it is larger than allowed *and* significant (Bonferroni-corrected p below alpha).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class GateParams(BaseModel):
    """``evaluation.gate`` in parameters_evaluation.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    floors: dict[str, float]
    slice_floors: dict[str, float] = {}
    max_drop: dict[str, float] = {}
    alpha: float = Field(0.05, gt=0, lt=1)
    test: Literal["randomisation", "t_test"] = "randomisation"
    min_queries: int = Field(1, ge=1)
    fail_on_drift: bool = True


class GateError(RuntimeError):
    """The quality gate failed; the message is the table of what failed."""


def _row(
    check: str,
    metric: str,
    value: float,
    threshold: float,
    queries: int,
    reason: str,
    p_value: float | None = None,
) -> dict[str, Any]:
    return {"check": check, "metric": metric, "value": value, "threshold": threshold, "queries": queries,
            "p_value": p_value, "passed": not reason, "reason": reason}  # fmt: skip


def _missing_or_few(value: float, queries: int, min_queries: int) -> str:
    if math.isnan(value):
        return "NaN"
    if queries < min_queries:
        return f"{queries} queries < {min_queries}"
    return ""


def floor_checks(metrics: dict[str, Any], config: GateParams) -> list[dict[str, Any]]:
    rows = []
    for name, floor in sorted(config.floors.items()):
        entry = metrics.get(name)
        if entry is None:
            rows.append(_row("floor", name, math.nan, floor, 0, "missing"))
            continue
        value, queries = float(entry["mean"]), int(entry["queries"])
        reason = _missing_or_few(value, queries, config.min_queries)
        if not reason and value < floor:
            reason = f"below floor by {floor - value:.4f}"
        rows.append(_row("floor", name, value, floor, queries, reason))
    return rows


def slice_floor_checks(slices: pd.DataFrame, config: GateParams) -> list[dict[str, Any]]:
    """Every slice large enough to judge against ``slice_floors``; small slices are skipped
    (they are flagged in slice_metrics), missing metrics and NaN fail."""
    rows = []
    judged = slices[~slices["too_small"]] if len(slices) else slices
    for name, floor in sorted(config.slice_floors.items()):
        if name not in slices.columns:
            rows.append(_row("slice floor", name, math.nan, floor, 0, "missing"))
            continue
        for entry in judged.to_dict("records"):
            value = float(entry[name])
            reason = (
                "NaN"
                if math.isnan(value)
                else (f"below floor by {floor - value:.4f}" if value < floor else "")
            )
            rows.append(
                _row(
                    "slice floor",
                    f"{entry['slice']}={entry['value']}: {name}",
                    value,
                    floor,
                    int(entry["cases"]),
                    reason,
                )
            )
    return rows


def baseline_checks(comparison: dict[str, Any], config: GateParams) -> list[dict[str, Any]]:
    """The candidate against the baseline: a drop above ``max_drop`` with a corrected p-value
    below ``alpha`` fails; so does a baseline that is missing or a metric it did not compare."""
    if not config.max_drop:
        return []
    error = comparison.get("baseline_error") or (
        "no comparison with a baseline" if "vs_baseline" not in comparison else ""
    )
    rows = []
    for name, allowed in sorted(config.max_drop.items()):
        if error:
            rows.append(_row("baseline", name, math.nan, allowed, 0, f"baseline missing: {error}"))
            continue
        entry = comparison["vs_baseline"].get(name)
        if entry is None:
            rows.append(
                _row("baseline", name, math.nan, allowed, 0, "not compared with the baseline")
            )
            continue
        drop = float(entry["baseline"]) - float(entry["candidate"])
        p_value = float(entry[f"p_{config.test}_bonferroni"])
        reason = _missing_or_few(drop, int(entry["queries"]), config.min_queries)
        if not reason and drop > allowed and p_value < config.alpha:
            reason = f"drop {drop:.4f} > {allowed:.4f} and significant (p={p_value:.2g} < {config.alpha})"
        rows.append(_row("baseline", name, drop, allowed, int(entry["queries"]), reason, p_value))
    return rows


def drift_checks(drift: dict[str, Any], config: GateParams) -> list[dict[str, Any]]:
    if not config.fail_on_drift:
        return []
    if "drifted" not in drift:
        return [
            _row(
                "drift",
                "drift",
                math.nan,
                math.nan,
                0,
                f"no drift verdict: {drift.get('error', 'missing')}",
            )
        ]
    rows = []
    for name, entry in sorted(drift.items()):
        if isinstance(entry, dict) and "drifted" in entry:
            reason = f"drifted past {entry['threshold']}" if entry["drifted"] else ""
            rows.append(
                _row(
                    "drift",
                    name,
                    float(entry["value"]),
                    float(entry["threshold"]),
                    int(drift.get("samples", 0)),
                    reason,
                )
            )
    return rows


def judge(
    metrics: dict[str, Any],
    slices: pd.DataFrame,
    comparison: dict[str, Any],
    drift: dict[str, Any],
    config: GateParams,
) -> dict[str, Any]:
    """The verdict with every check (NaN written as ``None``, so the verdict saves as JSON)."""
    rows = floor_checks(metrics, config) + slice_floor_checks(slices, config)
    rows += baseline_checks(comparison, config) + drift_checks(drift, config)
    for row in rows:
        row.update({key: None for key in ("value", "threshold") if math.isnan(row[key])})
    return {
        "passed": all(r["passed"] for r in rows),
        "checks": rows,
        "baseline": comparison.get("baseline"),
    }


def enforce(verdict: dict[str, Any]) -> None:
    """Raise :class:`GateError` with the table of failed checks unless the verdict passed."""
    if not verdict["passed"]:
        raise GateError("quality gate failed:\n" + format_failures(verdict["checks"]))


def _number(value: float | None, width: int) -> str:
    return f"{value:{width}.4f}" if value is not None else f"{'-':>{width}s}"


def format_failures(rows: list[dict[str, Any]]) -> str:
    """One line per failed check: check, metric, value, threshold, queries, p-value, reason."""
    lines = [
        f"  {'check':12s} {'metric':40s} {'value':>8s} {'threshold':>9s} {'queries':>7s} {'p':>8s}  reason"
    ]
    for r in rows:
        if not r["passed"]:
            p = f"{r['p_value']:.2g}" if r["p_value"] is not None else "-"
            lines.append(f"  {r['check']:12s} {r['metric']:40s} {_number(r['value'], 8)} {_number(r['threshold'], 9)} "
                         f"{r['queries']:7d} {p:>8s}  {r['reason']}")  # fmt: skip
    return "\n".join(lines)
