"""evaluation nodes: the evaluation sets through the index, scored, and the gate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.encoder_selection import (
    EmbeddingParams,
    EvalEncoder,
    evaluation_encoders,
    select_encoder,
)
from neura_scholar.encoders import Encoder
from neura_scholar.indexing import ChunkIndex
from neura_scholar.metrics import evaluate
from neura_scholar.retrieval import (
    Hits,
    chunk_qrels,
    chunk_run,
    paper_qrels,
    paper_run,
    raw_paper_run,
    retrieve,
    target_ranks,
)

logger = logging.getLogger(__name__)


class ComparisonParams(BaseModel):
    """``evaluation.comparison``: the encoders evaluated beside the candidate, and the baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoders: dict[str, str]
    baseline: str
    metrics: list[str]
    permutations: int = Field(10_000, ge=100)
    seed: int = 0


class EvaluationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ks: list[int]
    metrics: list[str]
    collapse: list[str] = ["maxp", "sump", "firstp"]
    depth: int = Field(200, ge=1)
    perturbation_k: int = Field(10, ge=1)
    min_slice_cases: int = Field(20, ge=1)


def load_evaluation_encoders(
    fp32: bytes, optimised: bytes, int8: bytes, registry_model: dict[str, Any] | None, reference: Encoder,
    registry_models: dict[str, dict[str, Any]], encoder_params: dict[str, Any], runtime: dict[str, Any],
    comparison_params: dict[str, Any],
) -> dict[str, EvalEncoder]:  # fmt: skip
    """``evaluation_encoders``: the candidate (the encoder the index was built with, chosen as
    the embedding pipeline chose it) and every comparison encoder, by name."""
    models = {"fp32": fp32, "optimised": optimised, "int8": int8}
    config = EmbeddingParams(**encoder_params)
    candidate = select_encoder(models, registry_model, config, runtime)
    sources = ComparisonParams(**comparison_params).encoders
    return evaluation_encoders(
        candidate, reference, models, registry_models, sources, config, runtime
    )


def retrieve_eval_sets(
    heldout: pd.DataFrame, perturbations: pd.DataFrame, failures: pd.DataFrame, index: ChunkIndex,
    encoders: dict[str, EvalEncoder], params: dict[str, Any],
) -> dict[str, Hits]:  # fmt: skip
    """Chunk hits of every case, encoded with the candidate, which must have built the index."""
    config = EvaluationParams(**params)
    candidate = encoders["candidate"]
    if candidate.identity != index.encoder or candidate.encode is None:
        raise ValueError(
            f"the index was built with {index.encoder} but queries would be encoded with {candidate.identity}"
        )
    return retrieve_all(candidate.encode, index, heldout, perturbations, failures, config.depth)


def retrieve_all(
    encode: Callable[[Sequence[str]], np.ndarray], index: ChunkIndex, heldout: pd.DataFrame,
    perturbations: pd.DataFrame, failures: pd.DataFrame, depth: int,
) -> dict[str, Hits]:  # fmt: skip
    return {name: retrieve(encode, index, cases, depth) for name, cases in
            (("heldout", heldout), ("perturbations", perturbations), ("failures", failures))}  # fmt: skip


def _metric_names(config: EvaluationParams) -> list[str]:
    return [f"{m}@{k}" for m in config.metrics for k in config.ks]


def score_heldout(
    heldout: pd.DataFrame, hits: dict[str, Hits], params: dict[str, Any]
) -> pd.DataFrame:
    """Per-query results (``per_query_results``): every metric at paper level for each collapse
    (adj), raw@k, and chunk_recall@k where the case names a chunk; one row per case."""
    config = EvaluationParams(**params)
    names, found = _metric_names(config), hits["heldout"]
    qrels = paper_qrels(heldout)
    frames = [
        evaluate(qrels, paper_run(found, method), names).add_prefix(f"{method}.")  # type: ignore[arg-type]
        for method in config.collapse
    ]
    for k in config.ks:
        frames.append(evaluate(qrels, raw_paper_run(found, k), [f"recall@{k}"]).add_prefix("raw."))
    chunks = chunk_qrels(heldout)
    if chunks:
        frames.append(
            evaluate(chunks, chunk_run(found), [f"recall@{k}" for k in config.ks]).add_prefix(
                "chunk."
            )
        )
    per_query = pd.concat(frames, axis=1)
    per_query.index.name = "case_id"
    return per_query.reset_index()


def summarise_retrieval(
    per_query: pd.DataFrame, slices: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Means with the number of queries behind each (``retrieval_metrics``), and the same per
    slice with a flag on slices under ``min_slice_cases`` (``slice_metrics``)."""
    config = EvaluationParams(**params)
    columns = [c for c in per_query.columns if c != "case_id"]
    overall = {
        c: {"mean": float(per_query[c].mean()), "queries": int(per_query[c].count())}
        for c in columns
    }
    tagged = per_query.merge(
        slices[["case_id", "category_group", "year_bucket", "kind", "length_bucket"]], on="case_id"
    )
    rows = []
    for tag in ("category_group", "year_bucket", "kind", "length_bucket"):
        for value, group in tagged.groupby(tag):
            row = {
                "slice": tag,
                "value": value,
                "cases": len(group),
                "too_small": len(group) < config.min_slice_cases,
            }
            row.update({c: float(group[c].mean()) for c in columns})
            rows.append(row)
    return overall, pd.DataFrame(rows)


def score_perturbations(
    heldout: pd.DataFrame,
    perturbations: pd.DataFrame,
    hits: dict[str, Hits],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Per perturbation type: pass rate (the target paper still in the top k) and the mean rank
    change against the clean query (a miss counts as rank depth + 1)."""
    config = EvaluationParams(**params)
    targets = {r.case_id: r.relevant_paper_ids[0] for r in heldout.itertuples(index=False)}
    clean = target_ranks(paper_run(hits["heldout"]), targets)
    noisy = target_ranks(paper_run(hits["perturbations"]), {
        r.case_id: targets[r.clean_case_id] for r in perturbations.itertuples(index=False)})  # fmt: skip
    miss = config.depth + 1
    report: dict[str, Any] = {}
    for kind, group in perturbations.groupby("perturbation"):
        ranks = np.array([noisy[c] or miss for c in group["case_id"]])
        clean_ranks = np.array([clean[c] or miss for c in group["clean_case_id"]])
        report[str(kind)] = {
            "cases": len(group),
            f"pass_rate@{config.perturbation_k}": float((ranks <= config.perturbation_k).mean()),
            "mean_rank_change": float((ranks - clean_ranks).mean()),
        }
    return report


def score_failures(failures: pd.DataFrame, hits: dict[str, Hits]) -> dict[str, Any]:
    """Pass rate per failure type under each case's own rule. The out-of-domain threshold is
    calibrated: the given quantile of the top scores of the in-domain held-out queries."""
    in_domain = np.array([s[0] for s in hits["heldout"].scores.values() if len(s)])
    runs = paper_run(hits["failures"])
    results: dict[str, list[bool]] = {}
    calibrated: dict[str, float] = {}
    for case in failures.itertuples(index=False):
        rule = case.rule
        run = runs.get(case.case_id, {})
        if rule["type"] == "target_in_top_k":
            rank = target_ranks({case.case_id: run}, {case.case_id: case.relevant_paper_ids[0]})[
                case.case_id
            ]
            passed = rank is not None and rank <= rule["k"]
        elif rule["type"] == "rank_above":
            ranks = target_ranks(
                {"a": run, "b": run}, {"a": rule["paper_id"], "b": rule["other_paper_id"]}
            )
            passed = ranks["a"] is not None and (ranks["b"] is None or ranks["a"] < ranks["b"])
        elif rule["type"] == "max_score_below":
            threshold = float(np.quantile(in_domain, rule["in_domain_quantile"]))
            calibrated[case.failure_type] = threshold
            passed = max(run.values(), default=-1.0) < threshold
        else:
            raise ValueError(f"case {case.case_id}: unknown rule type {rule['type']!r}")
        results.setdefault(case.failure_type, []).append(passed)
    report = {t: {"cases": len(v), "pass_rate": float(np.mean(v))} for t, v in results.items()}
    for failure_type, threshold in calibrated.items():
        report[failure_type]["calibrated_threshold"] = threshold
    return report
