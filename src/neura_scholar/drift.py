"""Embedding drift: today's vectors of the drift-reference sample against the stored ones.

- mean paired cosine: the same chunks (or queries) embedded then and now, row by row;
- centroid distance: 1 - cosine between the two sets' mean vectors;
- MMD (RBF kernel, median-distance bandwidth) with a seeded permutation p-value;
- domain-classifier ROC AUC: how well a logistic regression tells the two sets apart under
  5-fold cross-validation (0.5 = indistinguishable; Evidently's default threshold is 0.55).
Each statistic is compared with its threshold from parameters and gets a verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict


def mean_paired_cosine(reference: np.ndarray, current: np.ndarray) -> float:
    """Mean cosine of row i of ``reference`` with row i of ``current`` (L2-normalised rows)."""
    if reference.shape != current.shape:
        raise ValueError(f"paired sets must have the same shape, got {reference.shape} and {current.shape}")
    return float(np.mean(np.sum(reference * current, axis=1)))


def centroid_distance(reference: np.ndarray, current: np.ndarray) -> float:
    a, b = reference.mean(axis=0), current.mean(axis=0)
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _rbf_mmd(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    z = np.vstack([x, y])
    squared = np.sum(z * z, axis=1)
    kernel = np.exp(-gamma * np.maximum(squared[:, None] + squared[None, :] - 2 * z @ z.T, 0.0))
    n = len(x)
    return float(kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean())


def mmd_test(reference: np.ndarray, current: np.ndarray, permutations: int, seed: int) -> tuple[float, float]:
    """MMD^2 between the sets and its permutation p-value (with the +1 correction)."""
    z = np.vstack([reference, current])
    squared = np.sum(z * z, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * z @ z.T, 0.0)
    median = float(np.median(distances[np.triu_indices(len(z), 1)]))
    gamma = 1.0 / median if median > 0 else 1.0
    observed = _rbf_mmd(reference, current, gamma)
    rng = np.random.default_rng(seed)
    n = len(reference)
    count = 0
    for _ in range(permutations):
        order = rng.permutation(len(z))
        count += _rbf_mmd(z[order[:n]], z[order[n:]], gamma) >= observed - 1e-12
    return observed, float((count + 1) / (permutations + 1))


def domain_classifier_auc(reference: np.ndarray, current: np.ndarray, seed: int) -> float:
    """Cross-validated ROC AUC of a classifier separating the two sets."""
    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_val_predict(LogisticRegression(max_iter=1000), x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def drift_report(
    reference: np.ndarray, current: np.ndarray, thresholds: dict[str, float], permutations: int, seed: int
) -> dict[str, Any]:
    """Every statistic with its threshold and verdict (``drifted``), and the overall verdict."""
    mmd, p_value = mmd_test(reference, current, permutations, seed)
    figures = {
        "mean_paired_cosine": (mean_paired_cosine(reference, current), lambda v: v < thresholds["min_paired_cosine"]),
        "centroid_distance": (centroid_distance(reference, current), lambda v: v > thresholds["max_centroid_distance"]),
        "mmd_p_value": (p_value, lambda v: v < thresholds["mmd_alpha"]),
        "domain_classifier_auc": (domain_classifier_auc(reference, current, seed), lambda v: v > thresholds["max_classifier_auc"]),
    }
    report: dict[str, Any] = {name: {"value": value, "drifted": bool(test(value))} for name, (value, test) in figures.items()}
    report["mmd"] = mmd
    report["drifted"] = any(entry["drifted"] for entry in report.values() if isinstance(entry, dict))
    return report
