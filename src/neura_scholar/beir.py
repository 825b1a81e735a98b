"""External labelled sets in BEIR form, read strictly, for the same evaluation code.

A set is a directory with ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``, optional ``metadata.exclude``: document ids never to count for that query,
e.g. the query's own paper) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score``
with a header line; graded, relevant = score >= 1). With ``exclude_identical_ids`` a document
whose id equals the query id is excluded too (BEIR's ``ignore_identical_ids`` for sets like
ArguAna and Quora, where queries are also documents).

Queries without any relevant document in the qrels cannot score and are dropped (counted).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

Qrels = dict[str, dict[str, int]]


class BeirFormatError(ValueError):
    """A BEIR set is missing a file or holds a malformed record; the message says where."""


@dataclass(frozen=True)
class BeirSet:
    name: str
    corpus: pd.DataFrame  # doc_id, title, text
    queries: dict[str, str]
    qrels: Qrels  # only queries with a relevant document
    exclusions: dict[str, set[str]]
    dropped_queries: int  # in the qrels but without a relevant document


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BeirFormatError(
            f"{path} is missing (a BEIR set needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
        )
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BeirFormatError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("_id"), str)
                or not record["_id"]
            ):
                raise BeirFormatError(f"{path}:{number}: a record needs a non-empty string '_id'")
            if not isinstance(record.get("text"), str):
                raise BeirFormatError(
                    f"{path}:{number}: record {record['_id']!r} needs a string 'text'"
                )
            records.append(record | {"_line": number})
    return records


def _unique(records: list[dict[str, Any]], path: Path) -> None:
    seen: dict[str, int] = {}
    for record in records:
        if record["_id"] in seen:
            raise BeirFormatError(
                f"{path}:{record['_line']}: duplicate id {record['_id']!r} (first on line {seen[record['_id']]})"
            )
        seen[record["_id"]] = record["_line"]


def read_qrels(path: Path, queries: dict[str, str], doc_ids: set[str]) -> Qrels:
    if not path.is_file():
        raise BeirFormatError(
            f"{path} is missing (a BEIR set needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
        )
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise BeirFormatError(
                f"{path}:1: expected the header 'query-id<TAB>corpus-id<TAB>score', got {header}"
            )
        for number, row in enumerate(rows, 2):
            if len(row) < 3:
                raise BeirFormatError(
                    f"{path}:{number}: expected 3 tab-separated fields, got {len(row)}"
                )
            query_id, doc_id, score = row[0], row[1], row[2].strip()
            if query_id not in queries:
                raise BeirFormatError(
                    f"{path}:{number}: query {query_id!r} is not in queries.jsonl"
                )
            if doc_id not in doc_ids:
                raise BeirFormatError(
                    f"{path}:{number}: document {doc_id!r} is not in corpus.jsonl"
                )
            if not score.lstrip("-").isdigit():
                raise BeirFormatError(f"{path}:{number}: score {score!r} is not an integer grade")
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    return qrels


def read_beir_set(
    path: str | Path, split: str = "test", exclude_identical_ids: bool = False
) -> BeirSet:
    """The set at ``path``, checked: every qrel names a known query and document."""
    root = Path(path)
    if not root.is_dir():
        raise BeirFormatError(f"{root} is not a directory holding a BEIR set")
    docs = _records(root / "corpus.jsonl")
    _unique(docs, root / "corpus.jsonl")
    query_records = _records(root / "queries.jsonl")
    _unique(query_records, root / "queries.jsonl")
    queries = {r["_id"]: r["text"] for r in query_records}
    corpus = pd.DataFrame(
        {
            "doc_id": [d["_id"] for d in docs],
            "title": [str(d.get("title") or "") for d in docs],
            "text": [d["text"] for d in docs],
        }
    )
    judged = read_qrels(
        root / "qrels" / f"{split}.tsv", queries, set(corpus["doc_id"])
    )  # checks every id
    qrels = {q: docs_ for q, docs_ in judged.items() if any(g >= 1 for g in docs_.values())}
    exclusions: dict[str, set[str]] = {}
    doc_ids = set(corpus["doc_id"])
    for record in query_records:
        if record["_id"] not in qrels:
            continue
        excluded = set((record.get("metadata") or {}).get("exclude", []))
        if exclude_identical_ids and record["_id"] in doc_ids:
            excluded.add(record["_id"])
        if excluded:
            exclusions[record["_id"]] = excluded
    return BeirSet(
        root.name,
        corpus,
        {q: queries[q] for q in qrels},
        qrels,
        exclusions,
        len(judged) - len(qrels),
    )


def apply_exclusions(
    run: dict[str, dict[str, float]], exclusions: dict[str, set[str]]
) -> dict[str, dict[str, float]]:
    """The run without each query's excluded documents (the next documents move up)."""
    return {
        q: {d: s for d, s in docs.items() if d not in exclusions.get(q, set())}
        for q, docs in run.items()
    }


def document_texts(corpus: pd.DataFrame) -> pd.DataFrame:
    """``paper_id`` and ``abstract`` columns for the chunker: the title, then the text."""
    joined = [
        f"{title}. {text}" if title else text
        for title, text in zip(corpus["title"], corpus["text"], strict=True)
    ]
    return pd.DataFrame({"paper_id": corpus["doc_id"], "abstract": joined})
