"""Drift statistics: quiet when the same encoder re-embeds the same sample, loud on a real shift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from neura_scholar.drift import centroid_distance, drift_report, mean_paired_cosine, mmd_test

THRESHOLDS = {
    "min_paired_cosine": 0.99,
    "max_centroid_distance": 0.02,
    "mmd_alpha": 0.01,
    "max_classifier_auc": 0.55,
}


def test_hand_values() -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert mean_paired_cosine(a, b) == pytest.approx(0.5)  # 0 and 1
    assert centroid_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        mean_paired_cosine(a, b[:1])


def test_same_encoder_same_sample_is_quiet(
    small_embeddings: Any, onnx_encoders: dict[str, Any], data_prep_outputs: dict[str, Any]
) -> None:
    chunks = data_prep_outputs["paper_chunks"].sort_values("chunk_id")
    texts = chunks["text"].tolist()[:300]
    reference = onnx_encoders["fp32"].encode(texts).vectors
    again = onnx_encoders["fp32"].encode(texts).vectors
    report = drift_report(reference, again, THRESHOLDS, permutations=200, seed=0)
    assert report["drifted"] is False
    assert report["mean_paired_cosine"]["value"] > 0.99999


def test_a_shift_in_the_corpus_is_detected(
    small_embeddings: Any, data_prep_outputs: dict[str, Any]
) -> None:
    """Reference: chunks of physics papers; current: chunks of cs and stat papers."""
    papers = data_prep_outputs["papers"].set_index("paper_id")["category_group"]
    groups = np.array([papers[c.rpartition("#")[0]] for c in small_embeddings.chunk_ids])
    reference = small_embeddings.vectors[groups == "physics"][:120]
    current = small_embeddings.vectors[np.isin(groups, ["cs", "stat"])][:120]
    report = drift_report(reference, current, THRESHOLDS, permutations=200, seed=0)
    assert report["drifted"] is True
    assert report["domain_classifier_auc"]["value"] > 0.8
    assert report["mmd_p_value"]["value"] < 0.01


def test_mmd_matches_the_direct_formula_and_its_p_value_is_a_permutation_count() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 4)), rng.normal(loc=0.4, size=(25, 4))
    z = np.vstack([x, y])
    squared = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-squared / np.median(squared[np.triu_indices(55, 1)]))
    direct = kernel[:30, :30].mean() + kernel[30:, 30:].mean() - 2 * kernel[:30, 30:].mean()
    observed, p_value = mmd_test(x, y, permutations=99, seed=0)
    assert observed == pytest.approx(direct, rel=1e-9)
    assert (p_value * 100) == pytest.approx(round(p_value * 100))  # (count + 1) / (99 + 1)
    assert p_value < 0.05  # a shifted mean is found
    assert mmd_test(x, x[::-1].copy(), permutations=99, seed=0)[1] > 0.5  # the same points are not
