"""Paired significance between two models' per-query scores: by hand and against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neura_scholar.comparison import compare, paired_t_test, randomisation_test


def _frames(candidate: list[float], baseline: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    index = [f"q{i}" for i in range(len(candidate))]
    return pd.DataFrame({"m": candidate}, index=index), pd.DataFrame({"m": baseline}, index=index)


def test_a_consistent_gain_is_significant_and_no_change_is_not() -> None:
    # Ten queries, each +1: only the two all-equal sign patterns of 2^10 reach |mean| = 1,
    # so the exact p is 2/1024 ~ 0.002.
    assert randomisation_test(np.ones(10), 20_000, seed=1) == pytest.approx(2 / 1024, abs=0.001)
    assert paired_t_test(np.ones(10)) == 0.0
    assert randomisation_test(np.zeros(10), 1000, seed=1) == 1.0
    assert paired_t_test(np.zeros(10)) == 1.0


def test_against_scipy_on_a_random_paired_sample() -> None:
    rng = np.random.default_rng(7)
    baseline = rng.random(200)
    candidate = np.clip(baseline + rng.normal(0.02, 0.1, 200), 0, 1)
    differences = candidate - baseline
    scipy_perm = stats.permutation_test(
        (differences,), lambda d, axis: np.mean(d, axis=axis), permutation_type="samples",
        n_resamples=20_000, random_state=3, alternative="two-sided",
    ).pvalue  # fmt: skip
    ours = randomisation_test(differences, 20_000, seed=3)
    assert ours == pytest.approx(scipy_perm, abs=0.01)  # Monte Carlo error of 20k resamples
    assert paired_t_test(differences) == pytest.approx(stats.ttest_rel(candidate, baseline).pvalue)


def test_compare_reports_means_differences_and_bonferroni() -> None:
    candidate, baseline = _frames([1, 1, 0, 1], [0, 1, 0, 0])
    candidate["n"], baseline["n"] = [0.5] * 4, [0.5] * 4
    result = compare(candidate, baseline, ["m", "n"], permutations=2000, seed=0)
    assert (
        result["m"]["candidate"] == 0.75
        and result["m"]["baseline"] == 0.25
        and result["m"]["difference"] == 0.5
    )
    assert result["m"]["p_randomisation_bonferroni"] == pytest.approx(
        min(1.0, 2 * result["m"]["p_randomisation"])
    )
    assert result["n"]["p_randomisation"] == 1.0 and result["n"]["p_t_test_bonferroni"] == 1.0


def test_different_queries_cannot_be_paired() -> None:
    candidate, baseline = _frames([1.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="cover different queries"):
        compare(candidate, baseline.rename(index={"q1": "q9"}), ["m"])


def test_a_metric_that_does_not_apply_to_a_query_is_compared_where_both_have_it() -> None:
    index = pd.Index(["a", "b", "c", "d"], name="case_id")
    candidate = pd.DataFrame({"chunk.recall@10": [1.0, 0.0, np.nan, 1.0]}, index=index)
    baseline = pd.DataFrame({"chunk.recall@10": [1.0, 1.0, np.nan, np.nan]}, index=index)
    entry = compare(candidate, baseline, ["chunk.recall@10"], permutations=200, seed=0)[
        "chunk.recall@10"
    ]
    assert entry["queries"] == 2  # a and b
    assert (entry["candidate"], entry["baseline"], entry["difference"]) == (0.5, 1.0, -0.5)
    assert not np.isnan(entry["p_randomisation"]) and not np.isnan(entry["p_t_test"])
