"""The evaluation's one-page Markdown summary: the verdict, every encoder side by side with its
difference to the baseline, the weakest slices, robustness, failures and drift, linking the
plots written beside it."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _encoder_rows(comparison: dict[str, Any], metric: str, test: str) -> list[list[Any]]:
    rows = []
    for name, entry in comparison["encoders"].items():
        if "metrics" not in entry:
            rows.append([name, "unavailable", "", "", entry.get("unavailable", "")])
            continue
        diff = entry.get("vs_baseline", {}).get(metric)
        delta = (
            f"{diff['difference']:+.4f}"
            if diff
            else ("baseline" if name == comparison["baseline"] else "-")
        )
        p = f"{diff[f'p_{test}_bonferroni']:.3g}" if diff else "-"
        rows.append(
            [name, entry["metrics"][metric]["mean"], entry["metrics"][metric]["queries"], delta, p]
        )
    return rows


def render_summary(
    verdict: dict[str, Any], comparison: dict[str, Any], slices: pd.DataFrame, drift: dict[str, Any],
    plots: dict[str, str], headline: list[str], slice_metric: str, test: str,
) -> str:  # fmt: skip
    """Markdown: ``plots`` maps a title to a file name relative to the summary."""
    lines = ["# Evaluation summary", "", f"**Gate: {'PASSED' if verdict['passed'] else 'FAILED'}** "
             f"({sum(c['passed'] for c in verdict['checks'])}/{len(verdict['checks'])} checks; baseline: {comparison['baseline']})", ""]  # fmt: skip
    failed = [c for c in verdict["checks"] if not c["passed"]]
    if failed:
        lines += _table(["check", "metric", "value", "threshold", "reason"],
                        [[c["check"], c["metric"], c["value"], c["threshold"], c["reason"]] for c in failed])  # fmt: skip
    if comparison.get("baseline_error"):
        lines += [f"Baseline missing: {comparison['baseline_error']}", ""]
    for metric in headline:
        lines += [f"## {metric}", ""] + _table(
            ["encoder", "mean", "queries", "vs baseline", f"p ({test}, Bonferroni)"],
            _encoder_rows(comparison, metric, test),
        )
    judged = slices[~slices["too_small"]].nsmallest(3, slice_metric) if len(slices) else slices
    lines += [f"## Weakest slices ({slice_metric}, candidate)", ""]
    lines += _table(
        ["slice", "cases", slice_metric],
        [
            [f"{r['slice']}={r['value']}", r["cases"], r[slice_metric]]
            for r in judged.to_dict("records")
        ],
    )
    candidate = comparison["encoders"].get("candidate", {})
    lines += ["## Robustness and failures (candidate)", ""]
    lines += _table(["perturbation", "cases", "pass rate", "mean rank change"],
                    [[k, v["cases"], next(x for n, x in v.items() if n.startswith("pass_rate")), v["mean_rank_change"]]
                     for k, v in sorted(candidate.get("robustness", {}).items())])  # fmt: skip
    lines += _table(
        ["failure type", "cases", "pass rate"],
        [[k, v["cases"], v["pass_rate"]] for k, v in sorted(candidate.get("failures", {}).items())],
    )
    lines += [
        "## Drift against the reference",
        "",
        f"Reference: `{drift['reference']['encoder']}`, {drift['reference']['samples']} samples.",
        "",
    ]
    stats = ("mean_paired_cosine", "centroid_distance", "mmd_p_value", "domain_classifier_auc")
    lines += _table(["encoder", *stats, "drifted"],
                    [[n, *(e[s]["value"] for s in stats), e["drifted"]] if "drifted" in e else [n, *("-" for _ in stats), e.get("error", "")]
                     for n, e in drift["encoders"].items()])  # fmt: skip
    lines += ["## Plots", ""] + [f"- [{title}]({path})" for title, path in plots.items()] + [""]
    return "\n".join(lines)
