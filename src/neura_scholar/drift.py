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
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict


def mean_paired_cosine(reference: np.ndarray, current: np.ndarray) -> float:
    """Mean cosine of row i of ``reference`` with row i of ``current`` (L2-normalised rows)."""
    if reference.shape != current.shape:
        raise ValueError(
            f"paired sets must have the same shape, got {reference.shape} and {current.shape}"
        )
    return float(np.mean(np.sum(reference * current, axis=1)))


def centroid_distance(reference: np.ndarray, current: np.ndarray) -> float:
    a, b = reference.mean(axis=0), current.mean(axis=0)
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def mmd_test(
    reference: np.ndarray, current: np.ndarray, permutations: int, seed: int
) -> tuple[float, float]:
    """MMD^2 (biased, RBF kernel with the median squared distance as bandwidth) between the sets
    and its permutation p-value (with the +1 correction).

    The kernel matrix is computed once; MMD^2 of a split is ``w^T K w`` with ``w`` = 1/n on one
    side and -1/m on the other, so all permutations are one matrix product.
    """
    z = np.vstack([reference, current]).astype(np.float64)
    squared = np.sum(z * z, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * z @ z.T, 0.0)
    median = float(np.median(distances[np.triu_indices(len(z), 1)]))
    kernel = np.exp(-distances / (median if median > 0 else 1.0))
    n, m = len(reference), len(current)
    side = np.r_[np.full(n, 1.0 / n), np.full(m, -1.0 / m)]
    observed = float(side @ kernel @ side)
    rng = np.random.default_rng(seed)
    weights = np.stack([side[rng.permutation(n + m)] for _ in range(permutations)])
    null = np.einsum("ij,ij->i", weights @ kernel, weights)
    return observed, float((np.sum(null >= observed - 1e-12) + 1) / (permutations + 1))


def domain_classifier_auc(reference: np.ndarray, current: np.ndarray, seed: int, paired: bool = False) -> float:
    """Cross-validated ROC AUC of a classifier separating the two sets.

    With ``paired`` (row i of both sets is the same text) both rows of a pair fall in the same
    fold: otherwise the classifier sees one twin in training and scores the other against its
    label, which pushes the AUC of two near-identical sets far below 0.5.
    """
    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    model = LogisticRegression(max_iter=1000)
    if paired:
        groups = np.r_[np.arange(len(reference)), np.arange(len(current))]
        folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
        scores = cross_val_predict(model, x, y, groups=groups, cv=folds, method="predict_proba")[:, 1]
    else:
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def drift_report(
    reference: np.ndarray,
    current: np.ndarray,
    thresholds: dict[str, float],
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    """Every statistic with its threshold and verdict (``drifted``), and the overall verdict.

    Args:
        reference, current: float32 [n, dim], row i of both the same text (L2-normalised).
        thresholds: ``min_paired_cosine``, ``max_centroid_distance``, ``mmd_alpha`` and
            ``max_classifier_auc``.
    """
    mmd, p_value = mmd_test(reference, current, permutations, seed)
    figures = {
        "mean_paired_cosine": (
            mean_paired_cosine(reference, current),
            thresholds["min_paired_cosine"],
            False,
        ),
        "centroid_distance": (
            centroid_distance(reference, current),
            thresholds["max_centroid_distance"],
            True,
        ),
        "mmd_p_value": (p_value, thresholds["mmd_alpha"], False),
        "domain_classifier_auc": (
            domain_classifier_auc(reference, current, seed, paired=True),
            thresholds["max_classifier_auc"],
            True,
        ),
    }
    report: dict[str, Any] = {
        name: {
            "value": value,
            "threshold": threshold,
            "drifted": bool(value > threshold if above else value < threshold),
        }
        for name, (value, threshold, above) in figures.items()
    }
    report["mmd"] = mmd
    report["samples"] = len(reference)
    report["drifted"] = any(
        entry["drifted"] for entry in report.values() if isinstance(entry, dict)
    )
    return report
