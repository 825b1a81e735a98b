"""Metrics against hand-computed cases and against trec_eval (pytrec-eval-terrier) and ranx on
randomised runs. We implement trec_eval's tie rule (score descending, then document id
descending); pytrec_eval applies the same rule, so runs with ties are compared with it. ranx
orders tied documents its own way, so it is compared on runs without ties."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import pytrec_eval
from ranx import Qrels, Run
from ranx import evaluate as ranx_evaluate

from neura_scholar.metrics import evaluate, parse_metric, ranked_ids, summarise

KS = (1, 3, 5, 10)


def test_hand_computed_query() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 0, "d": 1}}
    run = {"q": {"x": 0.9, "a": 0.8, "c": 0.7, "b": 0.7, "y": 0.1}}
    # Ranking: x, a, then the 0.7 tie broken by id descending: c before b, then y.
    assert ranked_ids(run["q"]) == ["x", "a", "c", "b", "y"]
    values = evaluate(qrels, run, ["recall@3", "recall_cap@2", "success@1", "mrr@5", "ndcg@4", "map@4"]).loc["q"]
    assert values["recall@3"] == pytest.approx(1 / 3)  # a found; b and d not in the top 3
    assert values["recall_cap@2"] == pytest.approx(1 / 2)  # 1 of min(3, 2)
    assert values["success@1"] == 0.0
    assert values["mrr@5"] == pytest.approx(1 / 2)  # a at rank 2
    dcg = 2 / math.log2(3) + 0 + 1 / math.log2(5)  # a (2) at rank 2, c (0) at 3, b (1) at 4
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # grades 2, 1, 1
    assert values["ndcg@4"] == pytest.approx(dcg / idcg)
    assert values["map@4"] == pytest.approx((1 / 2 + 2 / 4) / 3)  # P@2 and P@4, over 3 relevant


def test_a_query_without_hits_scores_zero_and_counts() -> None:
    per_query = evaluate({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": {"a": 1.0}}, ["recall@10", "mrr@10"])
    assert per_query.loc["q2"].tolist() == [0.0, 0.0]
    assert summarise(per_query) == {"recall@10": {"mean": 0.5, "queries": 2}, "mrr@10": {"mean": 0.5, "queries": 2}}


def test_bad_names_and_queries_without_relevant_documents() -> None:
    assert parse_metric("ndcg@10") == ("ndcg", 10)
    for bad in ("ndcg", "precision@10", "recall@0"):
        with pytest.raises(ValueError, match="unknown metric"):
            parse_metric(bad)
    with pytest.raises(ValueError, match="query 'q' has no relevant document"):
        evaluate({"q": {"a": 0}}, {}, ["recall@1"])


def _random_case(seed: int, ties: bool) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    rng = random.Random(seed)
    qrels, run = {}, {}
    for q in range(30):
        docs = [f"d{i:03d}" for i in range(40)]
        judged = rng.sample(docs, 8)
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        qrels[f"q{q}"][judged[0]] = max(1, qrels[f"q{q}"][judged[0]])
        if q % 7 == 0:
            continue  # some queries retrieve nothing
        retrieved = rng.sample(docs, rng.randint(1, 25))
        run[f"q{q}"] = {d: (rng.randint(0, 5) / 5 if ties else rng.random()) for d in retrieved}
    return qrels, run


@pytest.mark.parametrize("seed", range(5))
def test_against_trec_eval_with_ties(seed: int) -> None:
    qrels, run = _random_case(seed, ties=True)
    measures = {f"ndcg_cut_{k}" for k in KS} | {f"map_cut_{k}" for k in KS} | {f"recall_{k}" for k in KS}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    ours = evaluate(qrels, run, [f"{m}@{k}" for m in ("ndcg", "map", "recall") for k in KS])
    for qid in qrels:
        for k in KS:
            ref = reference.get(qid, {})
            assert ours.loc[qid, f"ndcg@{k}"] == pytest.approx(ref.get(f"ndcg_cut_{k}", 0.0), abs=1e-9), (qid, k)
            assert ours.loc[qid, f"map@{k}"] == pytest.approx(ref.get(f"map_cut_{k}", 0.0), abs=1e-9), (qid, k)
            assert ours.loc[qid, f"recall@{k}"] == pytest.approx(ref.get(f"recall_{k}", 0.0), abs=1e-9), (qid, k)
    # trec_eval's recip_rank has no cut-off: compare mrr at a depth beyond every run.
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    ours_rr = evaluate(qrels, run, ["mrr@1000"])
    for qid in qrels:
        assert ours_rr.loc[qid, "mrr@1000"] == pytest.approx(rr.get(qid, {}).get("recip_rank", 0.0), abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_against_ranx_without_ties(seed: int) -> None:
    qrels, run = _random_case(seed, ties=False)
    names = [f"{m}@{k}" for m in ("ndcg", "map", "recall", "mrr") for k in KS] + [f"hit_rate@{k}" for k in KS]
    reference = ranx_evaluate(Qrels(qrels), Run(run), names, make_comparable=True)
    ours = evaluate(qrels, run, [n.replace("hit_rate", "success") for n in names])
    for name in names:
        assert float(np.mean(ours[name.replace("hit_rate", "success")])) == pytest.approx(reference[name], abs=1e-9), name
