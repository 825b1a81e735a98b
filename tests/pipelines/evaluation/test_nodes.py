"""Failure rules and perturbation scores by hand (the gate: tests/test_gate.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neura_scholar.pipelines.evaluation.nodes import score_failures, score_perturbations
from neura_scholar.retrieval import Hits


def _hits(rows: dict[str, list[tuple[str, float]]]) -> Hits:
    return Hits(
        {q: [c for c, _ in r] for q, r in rows.items()},
        {q: np.array([s for _, s in r]) for q, r in rows.items()},
    )


def test_failure_rules_by_hand() -> None:
    hits = {
        # In-domain top scores 0.9, 0.8, 0.7, 0.6 -> the 0.25 quantile is 0.675.
        "heldout": _hits({f"h{i}": [(f"x{i}#0", s)] for i, s in enumerate([0.9, 0.8, 0.7, 0.6])}),
        "failures": _hits(
            {
                "ood-low": [("a#0", 0.5)],
                "ood-high": [("a#0", 0.7)],
                "top-ok": [("z#0", 0.9), ("p#0", 0.8)],
                "top-miss": [("z#0", 0.9), ("y#0", 0.8), ("p#3", 0.7)],
                "dup-ok": [("a#1", 0.9), ("b#0", 0.8)],
                "dup-bad": [("b#0", 0.9), ("a#1", 0.8)],
            }
        ),  # fmt: skip
    }
    failures = pd.DataFrame(
        [
            (
                "ood-low",
                "out_of_domain",
                [],
                {"type": "max_score_below", "in_domain_quantile": 0.25},
            ),
            (
                "ood-high",
                "out_of_domain",
                [],
                {"type": "max_score_below", "in_domain_quantile": 0.25},
            ),
            ("top-ok", "one_word", ["p"], {"type": "target_in_top_k", "k": 2}),
            ("top-miss", "one_word", ["p"], {"type": "target_in_top_k", "k": 2}),
            (
                "dup-ok",
                "near_duplicate_title",
                ["a"],
                {"type": "rank_above", "paper_id": "a", "other_paper_id": "b"},
            ),
            (
                "dup-bad",
                "near_duplicate_title",
                ["a"],
                {"type": "rank_above", "paper_id": "a", "other_paper_id": "b"},
            ),
        ],
        columns=["case_id", "failure_type", "relevant_paper_ids", "rule"],
    )
    report = score_failures(failures, hits)
    assert report["out_of_domain"] == {
        "cases": 2,
        "pass_rate": 0.5,
        "calibrated_threshold": pytest.approx(0.675),
    }
    assert report["one_word"] == {"cases": 2, "pass_rate": 0.5}
    assert report["near_duplicate_title"] == {"cases": 2, "pass_rate": 0.5}


def test_perturbation_pass_rate_and_rank_change_by_hand() -> None:
    heldout = pd.DataFrame({"case_id": ["c1", "c2"], "relevant_paper_ids": [["p"], ["q"]]})
    perturbations = pd.DataFrame(
        {
            "case_id": ["c1~typo", "c2~typo"],
            "clean_case_id": ["c1", "c2"],
            "perturbation": ["typo", "typo"],
        }
    )
    hits = {
        "heldout": _hits({"c1": [("p#0", 0.9)], "c2": [("z#0", 0.9), ("q#0", 0.8)]}),
        # c1's target falls from rank 1 to 3; c2's target disappears (rank depth + 1 = 4).
        "perturbations": _hits(
            {"c1~typo": [("a#0", 0.9), ("b#0", 0.8), ("p#0", 0.7)], "c2~typo": [("z#0", 0.9)]}
        ),
    }
    params = {"ks": [10], "metrics": ["recall"], "depth": 3, "perturbation_k": 2}
    report = score_perturbations(heldout, perturbations, hits, params)
    # Pass@2: neither; rank change: (3 - 1) + (4 - 2) = 4 over 2 cases.
    assert report == {"typo": {"cases": 2, "pass_rate@2": 0.0, "mean_rank_change": 2.0}}
