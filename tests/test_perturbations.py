"""Perturbations: deterministic under the seed, each changes the query the way its name says."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from neura_scholar.perturbations import (
    PERTURBATIONS,
    build_perturbations,
    latex_add,
    latex_strip,
    perturb,
    truncation,
    word_drop,
    word_shuffle,
)

CASES = pd.DataFrame(
    {
        "case_id": ["heldout-title-1", "heldout-keywords-2"],
        "query": ["Convergence of the discrete dipole approximation", "$\\alpha$-stable \\emph{processes} limit"],
        "kind": ["title", "keywords"],
        "relevant_paper_ids": [["1"], ["2"]],
        "relevant_chunk_id": [None, "2#0"],
    }
)


def test_same_seed_same_perturbations_other_seed_other_typos() -> None:
    first = build_perturbations(CASES, list(PERTURBATIONS), seed=11)
    again = build_perturbations(CASES.iloc[::-1], list(PERTURBATIONS), seed=11)
    key = ["case_id"]
    pd.testing.assert_frame_equal(
        first.sort_values(key).reset_index(drop=True), again.sort_values(key).reset_index(drop=True)
    )
    other = build_perturbations(CASES, ["typo"], seed=12)
    assert list(other["query"]) != list(first[first["perturbation"] == "typo"]["query"])


def test_every_perturbation_is_linked_to_its_clean_case_and_changes_the_query() -> None:
    noisy = build_perturbations(CASES, list(PERTURBATIONS), seed=11)
    clean = CASES.set_index("case_id")
    for row in noisy.itertuples():
        assert row.case_id == f"{row.clean_case_id}~{row.perturbation}"
        assert row.clean_query == clean.loc[row.clean_case_id, "query"] != row.query
        assert row.relevant_paper_ids == clean.loc[row.clean_case_id, "relevant_paper_ids"]
    # LaTeX can only be stripped from the query that has some.
    stripped = noisy[noisy["perturbation"] == "latex_strip"]
    assert list(stripped["clean_case_id"]) == ["heldout-keywords-2"]
    assert stripped["query"].iloc[0] == "-stable processes limit"


def test_hand_checked_perturbations() -> None:
    rng = random.Random(0)
    assert truncation("a b c d e", rng) == "a b c"
    assert truncation("single", rng) is None
    assert latex_strip("the $\\mathcal{O}(n)$ bound in \\textbf{bold}", rng) == "the O(n) bound in bold"
    assert latex_strip("no latex here", rng) is None
    assert latex_add("alpha decay", rng) == "$\\alpha$ decay"
    dropped = word_drop("w1 w2 w3 w4 w5 w6 w7 w8", rng)
    assert dropped is not None and len(dropped.split()) == 6  # a quarter of 8 words dropped
    shuffled = word_shuffle("a b c", rng)
    assert shuffled is not None and sorted(shuffled.split()) == ["a", "b", "c"] and shuffled != "a b c"
    assert word_shuffle("same same", rng) is None


def test_typo_edits_one_character_per_edited_word() -> None:
    query = "convergence discrete dipole approximation"
    noisy = perturb(query, "typo", seed=3, case_id="x")
    assert noisy is not None
    changed = [(a, b) for a, b in zip(query.split(), noisy.split(), strict=True) if a != b]
    assert len(changed) == 1  # 4 eligible words // 4 = 1 edit
    a, b = changed[0]
    assert abs(len(a) - len(b)) <= 1 and a[0] == b[0]


def test_unknown_perturbation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown perturbations \\['emoji'\\]"):
        build_perturbations(CASES, ["emoji"], seed=1)
