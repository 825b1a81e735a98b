"""Every gate scenario: floors, slices, significant and insignificant drops against a baseline,
and fail-closed cases (NaN, missing metric, empty set, missing baseline, no drift verdict).
The comparisons come from the real paired tests on hand-built per-query scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from neura_scholar.comparison import compare
from neura_scholar.gate import GateError, GateParams, enforce, judge

METRIC = "maxp.recall@10"
GATE = GateParams(
    floors={METRIC: 0.6},
    slice_floors={METRIC: 0.5},
    max_drop={METRIC: 0.02},
    alpha=0.05,
    min_queries=100,
)
GOOD = {METRIC: {"mean": 0.9, "queries": 200}}
SLICES = pd.DataFrame({"slice": ["kind", "kind"], "value": ["title", "topic"], "cases": [150, 5],
                       "too_small": [False, True], METRIC: [0.9, 0.1]})  # fmt: skip
QUIET_DRIFT = {
    "mean_paired_cosine": {"value": 0.999, "threshold": 0.98, "drifted": False},
    "samples": 1200,
    "drifted": False,
}


def _per_query(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {METRIC: values}, index=pd.Index([f"q{i:03d}" for i in range(len(values))], name="case_id")
    )


def _against(candidate: np.ndarray, baseline: np.ndarray) -> dict[str, Any]:
    return {"baseline": "pytorch", "baseline_error": "",
            "vs_baseline": compare(_per_query(candidate), _per_query(baseline), [METRIC], permutations=2000, seed=0)}  # fmt: skip


def _verdict(
    comparison: dict[str, Any], metrics: dict[str, Any] = GOOD, drift: dict[str, Any] = QUIET_DRIFT
) -> dict[str, Any]:
    return judge(metrics, SLICES, comparison, drift, GATE)


def _failed(verdict: dict[str, Any]) -> list[str]:
    return [
        f"{r['check']} {r['metric']}: {r['reason']}" for r in verdict["checks"] if not r["passed"]
    ]


def test_a_better_candidate_passes() -> None:
    verdict = _verdict(_against(np.ones(200), np.r_[np.ones(150), np.zeros(50)]))
    assert verdict["passed"], _failed(verdict)
    # floor, one judged slice (the 5-case slice is skipped), baseline, drift statistic
    assert [r["check"] for r in verdict["checks"]] == ["floor", "slice floor", "baseline", "drift"]
    baseline = verdict["checks"][2]
    assert baseline["value"] == pytest.approx(-0.25)  # a negative drop: the candidate is better


def test_a_drop_that_is_not_significant_passes() -> None:
    # 7 queries lose the target and 1 gains it: drop 6/200 = 0.03 > 0.02. Under random sign
    # flips of those 8 differences |sum| >= 6 has probability 2 * (1 + 8) / 256 = 0.07 > 0.05.
    candidate = np.ones(200)
    baseline = np.ones(200)
    candidate[:7] = 0  # 7 losses
    baseline[7:8] = 0  # 1 win: mean difference -6/200 = -0.03
    comparison = _against(candidate, baseline)
    entry = comparison["vs_baseline"][METRIC]
    assert entry["difference"] == pytest.approx(-0.03)
    assert entry["p_randomisation_bonferroni"] > 0.05
    verdict = _verdict(comparison)
    assert verdict["passed"], _failed(verdict)


def test_a_significant_drop_fails_with_its_p_value() -> None:
    candidate = np.r_[np.zeros(40), np.ones(160)]  # 40 losses, no wins: drop 0.2
    comparison = _against(candidate, np.ones(200))
    verdict = _verdict(comparison)
    assert _failed(verdict) == [
        f"baseline {METRIC}: drop 0.2000 > 0.0200 and significant (p=0.0005 < 0.05)"
    ]
    with pytest.raises(
        GateError,
        match=r"quality gate failed:\n.*\n  baseline +maxp.recall@10 +0.2000 +0.0200 +200 +0.0005  drop",
    ):
        enforce(verdict)


@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        ({METRIC: {"mean": 0.35, "queries": 200}}, "below floor by 0.2500"),
        ({METRIC: {"mean": float("nan"), "queries": 200}}, "NaN"),
        ({}, "missing"),
        (
            {METRIC: {"mean": float("nan"), "queries": 0}},
            "NaN",
        ),  # an empty set: no queries, no mean
        ({METRIC: {"mean": 0.9, "queries": 40}}, "40 queries < 100"),
    ],
)
def test_the_floor_fails_closed(metrics: dict[str, Any], reason: str) -> None:
    verdict = _verdict(_against(np.ones(200), np.ones(200)), metrics=metrics)
    assert _failed(verdict) == [f"floor {METRIC}: {reason}"]
    assert verdict["checks"][0]["value"] is None or not np.isnan(
        verdict["checks"][0]["value"]
    )  # JSON-safe


def test_a_missing_baseline_fails_closed() -> None:
    missing = {
        "baseline": "production",
        "baseline_error": "baseline encoder 'production' is unavailable: no alias",
    }
    verdict = _verdict(missing)
    assert _failed(verdict) == [
        f"baseline {METRIC}: baseline missing: baseline encoder 'production' is unavailable: no alias"
    ]
    verdict = _verdict({"baseline": "pytorch", "baseline_error": "", "vs_baseline": {}})
    assert _failed(verdict) == [f"baseline {METRIC}: not compared with the baseline"]


def test_a_weak_slice_and_drift_fail() -> None:
    slices = SLICES.assign(**{METRIC: [0.45, 0.1]})
    drifted = {
        "domain_classifier_auc": {"value": 0.9, "threshold": 0.55, "drifted": True},
        "samples": 1200,
        "drifted": True,
    }
    verdict = judge(GOOD, slices, _against(np.ones(200), np.ones(200)), drifted, GATE)
    assert _failed(verdict) == [
        f"slice floor kind=title: {METRIC}: below floor by 0.0500",
        "drift domain_classifier_auc: drifted past 0.55",
    ]
    assert _failed(
        judge(GOOD, SLICES, _against(np.ones(200), np.ones(200)), {"error": "unavailable"}, GATE)
    ) == ["drift drift: no drift verdict: unavailable"]
