"""data_prep on 200 real papers: the outputs hold together and are reproducible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from tokenizers import Tokenizer

from neura_scholar.corpus import category_group
from tests.pipelines.data_prep.runs import file_datasets, run_data_prep


def test_papers_sections_and_chunks(data_prep_outputs: dict[str, Any], small_params: dict[str, Any]) -> None:
    papers, sections, chunks = (data_prep_outputs[k] for k in ("papers", "paper_sections", "paper_chunks"))
    assert len(papers) == 200 and papers["paper_id"].is_unique
    assert sections["paper_id"].nunique() == 6  # 4 sectioned + 2 plain full texts
    assert chunks["chunk_id"].is_unique
    assert set(chunks["paper_id"]) == set(papers["paper_id"])  # every paper has its abstract
    assert chunks["n_tokens"].max() <= small_params["chunking"]["max_tokens"]
    assert (chunks["chunk_id"] == chunks["paper_id"] + "#" + chunks["position"].astype(str)).all()
    full = chunks[chunks["source"] == "fulltext"]
    assert set(full["paper_id"]) == set(sections["paper_id"])


def test_every_relevant_id_exists_and_matches_its_paper(data_prep_outputs: dict[str, Any]) -> None:
    paper_ids = set(data_prep_outputs["papers"]["paper_id"])
    chunk_paper = data_prep_outputs["paper_chunks"].set_index("chunk_id")["paper_id"]
    for name in ("heldout", "slices", "perturbations", "failures"):
        cases = data_prep_outputs[name]
        assert cases["case_id"].is_unique, name
        for row in cases.itertuples():
            assert set(row.relevant_paper_ids) <= paper_ids, (name, row.case_id)
            if isinstance(row.relevant_chunk_id, str):
                assert chunk_paper[row.relevant_chunk_id] in row.relevant_paper_ids


def test_heldout_kinds_and_no_verbatim_queries(data_prep_outputs: dict[str, Any], small_params: dict[str, Any]) -> None:
    heldout = data_prep_outputs["heldout"]
    chunks = data_prep_outputs["paper_chunks"]
    titles = data_prep_outputs["papers"].set_index("paper_id")["title"]
    counts = heldout["kind"].value_counts().to_dict()
    assert counts["title"] == 40 and counts["keywords"] >= 36 and counts["topic"] >= 36
    texts = chunks.groupby("paper_id")["text"].apply(lambda t: " ".join(t).lower())
    for row in heldout.itertuples():
        if row.kind == "title":
            assert row.query == titles[row.paper_id]
        else:
            assert row.query.lower() not in texts[row.paper_id], row.case_id
        if row.kind == "keywords":
            assert len(row.query.split()) == small_params["heldout"]["keywords_terms"]
            assert row.relevant_chunk_id.startswith(f"{row.paper_id}#")
        if row.kind == "topic":
            field = small_params["heldout"]["field_names"].values()
            assert any(row.query.startswith(f"{name}: ") for name in field)


def test_slices_tag_every_heldout_case(data_prep_outputs: dict[str, Any], small_params: dict[str, Any]) -> None:
    heldout, slices = data_prep_outputs["heldout"], data_prep_outputs["slices"]
    assert list(slices["case_id"]) == list(heldout["case_id"])
    config = small_params["slices"]
    assert set(slices["year_bucket"]) <= set(config["year_labels"])
    assert set(slices["length_bucket"]) <= set(config["length_labels"])
    for row in slices.itertuples():
        words = len(row.query.split())
        assert row.length_words == words
        expected = "short-1-3" if words <= 3 else "medium-4-8" if words <= 8 else "long-9+"
        assert row.length_bucket == expected
        assert row.year_bucket == ("before-2000" if row.year < 2000 else "2000-2009" if row.year < 2010
                                   else "2010-2014" if row.year < 2015 else "2015-2019" if row.year < 2020
                                   else "2020-later")  # fmt: skip
        assert row.category_group == category_group(row.primary_category)  # mapping: test_corpus.py


def test_perturbations_link_to_heldout_cases(data_prep_outputs: dict[str, Any], small_params: dict[str, Any]) -> None:
    heldout = data_prep_outputs["heldout"].set_index("case_id")
    noisy = data_prep_outputs["perturbations"]
    assert set(noisy["clean_case_id"]) <= set(heldout.index)
    assert set(noisy["perturbation"]) <= set(small_params["perturbations"]["types"])
    # Case, truncation and shuffle apply to every multi-word query.
    multi_word = sum(len(q.split()) > 1 for q in heldout["query"])
    assert (noisy["perturbation"] == "case").sum() == len(heldout)
    assert (noisy["perturbation"] == "truncation").sum() == multi_word


def test_failures_carry_their_rules(data_prep_outputs: dict[str, Any], small_params: dict[str, Any], tokenizer: Tokenizer) -> None:
    failures = data_prep_outputs["failures"]
    rules = small_params["failures"]["rules"]
    for row in failures.itertuples():
        assert row.rule["type"] == rules[row.failure_type]["type"]
        if row.failure_type == "out_of_domain":
            assert row.relevant_paper_ids == []
        else:
            assert len(row.relevant_paper_ids) == 1
        if row.failure_type == "one_word":
            assert len(row.query.split()) == 1
        if row.failure_type == "very_long":
            n = len(tokenizer.encode(row.query, add_special_tokens=False).ids)
            assert n >= rules["very_long"]["min_query_tokens"]
        if row.failure_type == "formula_only":
            assert row.query.startswith("$") and row.query.endswith("$")
    counts = failures["failure_type"].value_counts().to_dict()
    assert counts["out_of_domain"] == 5 and counts["one_word"] == 5
    assert counts["very_long"] >= 1  # the full-text papers are long enough


def test_same_seed_same_outputs(
    data_prep_outputs: dict[str, Any], small_corpus_dir: Path, tokenizer: Tokenizer, small_params: dict[str, Any]
) -> None:
    again = run_data_prep(*file_datasets(small_corpus_dir), tokenizer, small_params)
    for name in ("paper_chunks", "heldout", "slices", "perturbations", "failures"):
        pd.testing.assert_frame_equal(again[name], data_prep_outputs[name], obj=name)


def test_another_heldout_seed_draws_other_papers(
    data_prep_outputs: dict[str, Any], small_corpus_dir: Path, tokenizer: Tokenizer, small_params: dict[str, Any]
) -> None:
    params = {**small_params, "heldout": {**small_params["heldout"], "seed": 8}}
    other = run_data_prep(*file_datasets(small_corpus_dir), tokenizer, params)
    assert set(other["heldout"]["paper_id"]) != set(data_prep_outputs["heldout"]["paper_id"])


def test_summary_counts_match_the_outputs(data_prep_outputs: dict[str, Any]) -> None:
    summary, metrics = data_prep_outputs["data_prep_summary"], data_prep_outputs["data_prep_metrics"]
    assert summary["papers"] == 200
    assert summary["chunks"] == len(data_prep_outputs["paper_chunks"])
    assert summary["cases"]["perturbations"] == len(data_prep_outputs["perturbations"])
    assert summary["tokens_per_chunk"]["max"] == data_prep_outputs["paper_chunks"]["n_tokens"].max()
    assert sum(summary["slices"]["kind"].values()) == len(data_prep_outputs["slices"])
    assert metrics["chunks"] == {"value": float(summary["chunks"]), "step": 0}
    assert summary["validation"]["papers"] == {"read": 200, "kept": 200, "dropped": {}}
