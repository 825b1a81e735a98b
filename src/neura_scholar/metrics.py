"""Retrieval metrics, vectorised, with trec_eval's conventions (DESIGN.md, "Metric definitions").

Data contract (as ranx, BEIR and pytrec_eval): qrels ``{query_id: {doc_id: grade}}``, run
``{query_id: {doc_id: score}}``, string ids. Ranking: score descending, ties broken by document
id descending (trec_eval's rule). Relevant = grade >= 1. Every query in the qrels is averaged;
a query without hits scores 0. Metric names: ``recall@10``, ``recall_cap@10``,
``success@10``, ``mrr@10``, ``ndcg@10``, ``map@10``.

- recall@k = |rel in top k| / |rel|;  recall_cap@k = |rel in top k| / min(|rel|, k)
- success@k = 1 if any relevant in top k;  mrr@k = 1 / rank of the first relevant within k
- ndcg@k = sum_{i<=k} grade_i / log2(i + 1), over the same sum for the ideal ordering of every
  judged document (linear gain, as trec_eval's ndcg_cut)
- map@k = sum over relevant i <= k of precision@i, divided by |rel|
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

METRICS = ("recall", "recall_cap", "success", "mrr", "ndcg", "map")
_NAME = re.compile(r"^(?P<metric>[a-z_]+)@(?P<k>\d+)$")

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``."""
    match = _NAME.match(name)
    if match is None or match["metric"] not in METRICS or int(match["k"]) < 1:
        raise ValueError(f"unknown metric {name!r}; use one of {METRICS} followed by @k, k >= 1")
    return match["metric"], int(match["k"])


def ranked_ids(scores: dict[str, float], k: int | None = None) -> list[str]:
    """Document ids by score descending, ties by id descending; at most ``k``."""
    by_id = sorted(scores, reverse=True)
    ordered = sorted(by_id, key=lambda doc: -scores[doc])  # stable: ties keep id-descending order
    return ordered if k is None else ordered[:k]


def _grade_matrix(qrels: Qrels, run: Run, query_ids: Sequence[str], depth: int) -> np.ndarray:
    """float [q, depth]: the grade of the document at each rank (0 when none or unjudged)."""
    grades = np.zeros((len(query_ids), depth), dtype=np.float64)
    for row, qid in enumerate(query_ids):
        judged = qrels[qid]
        for col, doc in enumerate(ranked_ids(run.get(qid, {}), depth)):
            grades[row, col] = judged.get(doc, 0)
    return grades


def evaluate(qrels: Qrels, run: Run, metrics: Sequence[str]) -> pd.DataFrame:
    """Per-query metric values: one row per query in ``qrels`` (index ``query_id``), one column
    per metric. Queries of the run that the qrels do not judge are ignored.

    Raises:
        ValueError: for an unknown metric name, or qrels with a query that has no relevant
            document (it could never score and would only dilute the mean).
    """
    parsed = [parse_metric(m) for m in metrics]
    query_ids = sorted(qrels)
    for qid in query_ids:
        if not any(g >= 1 for g in qrels[qid].values()):
            raise ValueError(f"query {qid!r} has no relevant document (grade >= 1) in the qrels")
    depth = max((k for _, k in parsed), default=1)
    grades = _grade_matrix(qrels, run, query_ids, depth)
    relevant = grades >= 1
    n_rel = np.array([sum(g >= 1 for g in qrels[q].values()) for q in query_ids], dtype=np.float64)
    ideal = np.zeros((len(query_ids), depth))
    for row, qid in enumerate(query_ids):
        top = sorted((g for g in qrels[qid].values() if g > 0), reverse=True)[:depth]
        ideal[row, : len(top)] = top
    discounts = 1.0 / np.log2(np.arange(2, depth + 2))
    ranks = np.arange(1, depth + 1)
    columns = {}
    for name, (metric, k) in zip(metrics, parsed, strict=True):
        hits = relevant[:, :k]
        found = hits.sum(axis=1)
        if metric == "recall":
            values = found / n_rel
        elif metric == "recall_cap":
            values = found / np.minimum(n_rel, k)
        elif metric == "success":
            values = (found > 0).astype(np.float64)
        elif metric == "mrr":
            first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
            values = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
        elif metric == "ndcg":
            dcg = (grades[:, :k] * discounts[:k]).sum(axis=1)
            idcg = (ideal[:, :k] * discounts[:k]).sum(axis=1)
            values = np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)
        else:  # map
            precision = np.cumsum(hits, axis=1) / ranks[:k]
            values = (precision * hits).sum(axis=1) / n_rel
        columns[name] = values
    return pd.DataFrame(columns, index=pd.Index(query_ids, name="query_id"))


def summarise(per_query: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The mean of every metric with the number of queries it averages."""
    return {name: {"mean": float(per_query[name].mean()), "queries": int(per_query[name].count())} for name in per_query}
