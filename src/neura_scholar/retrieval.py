"""Evaluation cases to runs: encode every query once, search the chunk index once, and read
the hits as the runs the metrics take (``{query_id: {doc_id: score}}``).

Three views of the same hits (DESIGN.md, "Paper level"):
- chunk run: the chunk hits themselves (for chunk_recall@k against the relevant chunk);
- adjusted paper run (adj@k): chunk hits collapsed to distinct papers (MaxP, SumP or FirstP);
- raw paper run (raw@k): the papers of the top k chunk hits only, so one paper may fill several
  of the k slots; it is a separate run per k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neura_scholar.indexing import ChunkIndex
from neura_scholar.search import Collapse, collapse_to_papers, split_chunk_id

Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Hits:
    """Chunk hits per query, best first."""

    chunk_ids: dict[str, list[str]]
    scores: dict[str, np.ndarray]


def retrieve(
    encode: Callable[[Sequence[str]], np.ndarray], index: ChunkIndex, cases: pd.DataFrame, depth: int
) -> Hits:
    """The top ``depth`` chunk hits of every case's query (``case_id``, ``query`` columns)."""
    if cases["case_id"].duplicated().any():
        raise ValueError("case ids must be unique")
    if len(cases) == 0:
        return Hits({}, {})
    vectors = encode(cases["query"].tolist())
    scores, ids = index.search(np.asarray(vectors, dtype=np.float32), depth)
    case_ids = cases["case_id"].tolist()
    return Hits(
        {cid: row for cid, row in zip(case_ids, ids, strict=True)},
        {cid: scores[i][: len(ids[i])] for i, cid in enumerate(case_ids)},
    )


def chunk_run(hits: Hits) -> Run:
    return {q: dict(zip(ids, map(float, hits.scores[q]), strict=True)) for q, ids in hits.chunk_ids.items()}


def paper_run(hits: Hits, method: Collapse = "maxp") -> Run:
    """Adjusted view: each query's chunk hits collapsed to distinct papers."""
    return {
        q: {h.paper_id: h.score for h in collapse_to_papers(ids, hits.scores[q].tolist(), method)}
        for q, ids in hits.chunk_ids.items()
    }


def raw_paper_run(hits: Hits, k: int) -> Run:
    """Raw view at ``k``: the papers among the top ``k`` chunk hits, each scored by its best
    chunk there (a paper that fills several slots still counts once as found)."""
    run: Run = {}
    for q, ids in hits.chunk_ids.items():
        papers: dict[str, float] = {}
        for chunk_id, score in zip(ids[:k], hits.scores[q][:k], strict=True):
            paper_id, _ = split_chunk_id(chunk_id)
            papers[paper_id] = max(papers.get(paper_id, -np.inf), float(score))
        run[q] = papers
    return run


def paper_qrels(cases: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Paper-level qrels from ``relevant_paper_ids`` (grade 1 each); cases with none are left out."""
    return {
        row.case_id: {pid: 1 for pid in row.relevant_paper_ids}
        for row in cases.itertuples(index=False)
        if len(row.relevant_paper_ids)
    }


def chunk_qrels(cases: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Chunk-level qrels from ``relevant_chunk_id``; cases without one are left out."""
    return {
        row.case_id: {row.relevant_chunk_id: 1}
        for row in cases.itertuples(index=False)
        if isinstance(row.relevant_chunk_id, str) and row.relevant_chunk_id
    }


def target_ranks(run: Run, targets: dict[str, str]) -> dict[str, int | None]:
    """1-based rank of each query's target document in its run (trec_eval order), or None."""
    from neura_scholar.metrics import ranked_ids

    ranks: dict[str, int | None] = {}
    for q, target in targets.items():
        order = ranked_ids(run.get(q, {}))
        ranks[q] = order.index(target) + 1 if target in order else None
    return ranks
