"""Comparing two models on the same queries: paired differences with significance.

For each metric, the per-query scores of a candidate and a baseline on the same queries are
compared with a seeded paired randomisation test (sign flips of the differences; two-sided,
with the +1 correction so a p-value is never 0) and a paired t-test (scipy). p-values are
Bonferroni-corrected across the metrics compared (multiplied by their number, capped at 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def randomisation_test(differences: np.ndarray, permutations: int, seed: int) -> float:
    """Two-sided p-value of the mean paired difference under random sign flips."""
    if len(differences) == 0:
        raise ValueError("no paired queries to compare")
    rng = np.random.default_rng(seed)
    observed = abs(differences.mean())
    signs = rng.choice(np.array([-1.0, 1.0]), size=(permutations, len(differences)))
    null = np.abs((signs * differences).mean(axis=1))
    return float((np.sum(null >= observed - 1e-12) + 1) / (permutations + 1))


def paired_t_test(differences: np.ndarray) -> float:
    """Two-sided p-value of a paired t-test; 1.0 when every difference is the same (no spread)."""
    if np.allclose(differences, differences[0]):
        return 1.0 if np.isclose(differences[0], 0.0) else 0.0
    return float(stats.ttest_1samp(differences, 0.0).pvalue)


def compare(
    candidate: pd.DataFrame,
    baseline: pd.DataFrame,
    metrics: Sequence[str],
    permutations: int = 10_000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per metric: both means, the difference, and raw and Bonferroni-corrected p-values.

    Both frames hold per-query scores indexed by query id; they must cover the same queries
    (a comparison on different queries would not be paired). A metric that does not apply to
    a query (NaN, e.g. chunk recall for a query without a source chunk) is compared on the
    queries where both have a value; ``queries`` says how many.
    """
    if set(candidate.index) != set(baseline.index):
        missing = sorted(set(candidate.index) ^ set(baseline.index))[:5]
        raise ValueError(f"candidate and baseline cover different queries, e.g. {missing}")
    baseline = baseline.loc[candidate.index]
    result: dict[str, dict[str, Any]] = {}
    for name in metrics:
        both = candidate[name].notna() & baseline[name].notna()
        differences = (candidate.loc[both, name] - baseline.loc[both, name]).to_numpy(
            dtype=np.float64
        )
        p_random = randomisation_test(differences, permutations, seed)
        p_t = paired_t_test(differences)
        result[name] = {
            "candidate": float(candidate.loc[both, name].mean()),
            "baseline": float(baseline.loc[both, name].mean()),
            "difference": float(differences.mean()),
            "queries": len(differences),
            "p_randomisation": p_random,
            "p_t_test": p_t,
            "p_randomisation_bonferroni": min(1.0, p_random * len(metrics)),
            "p_t_test_bonferroni": min(1.0, p_t * len(metrics)),
        }
    return result
