"""BEIR sets are read strictly (every bad record named with file and line) and exclusions apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neura_scholar.beir import BeirFormatError, apply_exclusions, document_texts, read_beir_set
from neura_scholar.metrics import evaluate


def write_set(
    root: Path,
    corpus: list[dict],
    queries: list[dict],
    qrels: list[tuple[str, str, int]],
    split: str = "test",
) -> Path:  # type: ignore[type-arg]
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


CORPUS = [{"_id": "d1", "title": "Graphs", "text": "spectral graph theory"}, {"_id": "d2", "title": "", "text": "lattice gauge"},
          {"_id": "q2", "text": "a query that is also a document"}]  # fmt: skip
QUERIES = [{"_id": "q1", "text": "graph spectra", "metadata": {"exclude": ["d2"]}}, {"_id": "q2", "text": "gauge fields"},
           {"_id": "q3", "text": "judged irrelevant only"}]  # fmt: skip
QRELS = [("q1", "d1", 2), ("q1", "d2", 1), ("q2", "d2", 1), ("q2", "q2", 1), ("q3", "d1", 0)]


def test_a_set_reads_with_grades_exclusions_and_dropped_queries(tmp_path: Path) -> None:
    found = read_beir_set(
        write_set(tmp_path / "toy", CORPUS, QUERIES, QRELS), exclude_identical_ids=True
    )
    assert found.name == "toy"
    assert found.qrels == {"q1": {"d1": 2, "d2": 1}, "q2": {"d2": 1, "q2": 1}}
    assert found.dropped_queries == 1  # q3 has no relevant document
    assert found.queries == {"q1": "graph spectra", "q2": "gauge fields"}
    assert found.exclusions == {"q1": {"d2"}, "q2": {"q2"}}
    assert document_texts(found.corpus)["abstract"].tolist() == [
        "Graphs. spectral graph theory",
        "lattice gauge",
        "a query that is also a document",
    ]


def test_exclusions_move_later_documents_up_before_scoring(tmp_path: Path) -> None:
    found = read_beir_set(
        write_set(tmp_path / "toy", CORPUS, QUERIES, QRELS), exclude_identical_ids=True
    )
    run = {"q1": {"d2": 0.9, "d1": 0.8}, "q2": {"q2": 0.99, "d1": 0.5, "d2": 0.4}}
    kept = apply_exclusions(run, found.exclusions)
    assert kept == {"q1": {"d1": 0.8}, "q2": {"d1": 0.5, "d2": 0.4}}
    scores = evaluate(found.qrels, kept, ["ndcg@2", "recall@2"])
    # q1: d1 (grade 2) at rank 1 -> dcg 2; ideal 2 + 1/log2(3) -> ndcg 2 / 2.6309 = 0.7602; d2 excluded
    assert scores.loc["q1", "ndcg@2"] == pytest.approx(2 / (2 + 1 / 1.5849625), abs=1e-6)
    assert scores.loc["q1", "recall@2"] == pytest.approx(0.5)
    # q2: d1 unjudged at 1, d2 (grade 1) at 2 -> 1/log2(3); ideal 1 + 1/log2(3) (q2 itself is judged)
    assert scores.loc["q2", "ndcg@2"] == pytest.approx(
        (1 / 1.5849625) / (1 + 1 / 1.5849625), abs=1e-6
    )


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "message"),
    [
        (CORPUS, QUERIES, [("q9", "d1", 1)], r"test.tsv:2: query 'q9' is not in queries.jsonl"),
        (CORPUS, QUERIES, [("q1", "d9", 1)], r"test.tsv:2: document 'd9' is not in corpus.jsonl"),
        (
            CORPUS,
            QUERIES,
            [("q1", "d1", "high")],
            r"test.tsv:2: score 'high' is not an integer grade",
        ),
        (
            [*CORPUS, {"_id": "d1", "text": "again"}],
            QUERIES,
            QRELS,
            r"corpus.jsonl:4: duplicate id 'd1' \(first on line 1\)",
        ),
        (CORPUS, [{"_id": "q1"}], QRELS, r"queries.jsonl:1: record 'q1' needs a string 'text'"),
        (
            [{"title": "no id", "text": "x"}],
            QUERIES,
            QRELS,
            r"corpus.jsonl:1: a record needs a non-empty string '_id'",
        ),
    ],
)
def test_bad_records_are_named(
    tmp_path: Path, corpus: list, queries: list, qrels: list, message: str
) -> None:  # type: ignore[type-arg]
    with pytest.raises(BeirFormatError, match=message):
        read_beir_set(write_set(tmp_path / "bad", corpus, queries, qrels))


def test_missing_pieces_are_named(tmp_path: Path) -> None:
    with pytest.raises(BeirFormatError, match="is not a directory"):
        read_beir_set(tmp_path / "nowhere")
    root = write_set(tmp_path / "toy", CORPUS, QUERIES, QRELS)
    with pytest.raises(BeirFormatError, match=r"qrels/dev.tsv is missing"):
        read_beir_set(root, split="dev")
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\nnot json\n')
    with pytest.raises(BeirFormatError, match=r"corpus.jsonl:2: not JSON"):
        read_beir_set(root)
