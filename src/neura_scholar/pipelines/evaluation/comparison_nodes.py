"""evaluation nodes that compare: every encoder on the same evaluation sets, paired tests
against the baseline, and drift against the stored drift reference."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.comparison import compare
from neura_scholar.drift import drift_report
from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.encoder_selection import EvalEncoder
from neura_scholar.indexing import build_index
from neura_scholar.pipelines.evaluation.nodes import (
    ComparisonParams,
    EvaluationParams,
    retrieve_all,
    score_failures,
    score_heldout,
    score_perturbations,
)

logger = logging.getLogger(__name__)


class DriftParams(BaseModel):
    """``evaluation.drift``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_paired_cosine: float
    max_centroid_distance: float
    mmd_alpha: float = Field(gt=0, lt=1)
    max_classifier_auc: float
    permutations: int = Field(ge=1)
    seed: int = 0


def _texts_in_order(chunks: pd.DataFrame, chunk_ids: np.ndarray) -> list[str]:
    texts = chunks.set_index("chunk_id")["text"]
    missing = pd.Index(chunk_ids).difference(texts.index)
    if len(missing):
        raise ValueError(
            f"{len(missing)} embedded chunks are not in paper_chunks (e.g. {list(missing[:3])}): rerun embedding"
        )
    return texts.loc[chunk_ids].tolist()


def evaluate_encoders(
    heldout: pd.DataFrame, perturbations: pd.DataFrame, failures: pd.DataFrame, chunks: pd.DataFrame,
    embeddings: ChunkEmbeddings, encoders: dict[str, EvalEncoder], params: dict[str, Any],
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``encoder_results``: each comparison encoder through the same evaluation as the candidate,
    on an exact (Flat) index of its own embeddings of every chunk, so differences are the
    encoder's alone. An encoder with the candidate's identity reuses ``chunk_embeddings``."""
    config = EvaluationParams(**params)
    results: dict[str, dict[str, Any]] = {}
    texts: list[str] | None = None
    for name, encoder in encoders.items():
        if name == "candidate":
            continue
        if encoder.encode is None:
            results[name] = {"unavailable": encoder.unavailable}
            logger.warning("comparison encoder %s is unavailable: %s", name, encoder.unavailable)
            continue
        if encoder.identity == embeddings.encoder:
            vectors = embeddings.vectors
        else:
            texts = texts if texts is not None else _texts_in_order(chunks, embeddings.chunk_ids)
            vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        index = build_index(vectors, embeddings.chunk_ids, "Flat", {}, 1, 0, encoder.identity)
        hits = retrieve_all(encoder.encode, index, heldout, perturbations, failures, config.depth)
        results[name] = {
            "per_query": score_heldout(heldout, hits, params),
            "robustness": score_perturbations(heldout, perturbations, hits, params),
            "failures": score_failures(failures, hits),
        }
        logger.info("evaluated comparison encoder %s (%s)", name, encoder.identity)
    return results


def _baseline_frame(
    name: str, rows: dict[str, dict[str, Any]], baseline_file: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, str]:
    if name == "file":
        if baseline_file is None:
            return None, "no stored baseline file (baseline_results)"
        return baseline_file, ""
    if name not in rows:
        raise ValueError(
            f"evaluation.comparison.baseline {name!r} is not 'file' or an encoder name: {sorted(rows)}"
        )
    if "unavailable" in rows[name]:
        return None, f"baseline encoder {name!r} is unavailable: {rows[name]['unavailable']}"
    return rows[name]["per_query"], ""


def compare_with_baseline(
    per_query: pd.DataFrame, robustness: dict[str, Any], failures: dict[str, Any], encoder_results: dict[str, dict[str, Any]],
    baseline_file: pd.DataFrame | None, params: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:  # fmt: skip
    """``comparison_report``: every encoder's means, robustness and failure pass rates, and its
    paired differences to the baseline (randomisation and t-test, Bonferroni across
    ``metrics``); and ``comparison_per_query``, the per-query scores behind them."""
    config = ComparisonParams(**params)
    rows = {
        "candidate": {"per_query": per_query, "robustness": robustness, "failures": failures},
        **encoder_results,
    }
    baseline, error = _baseline_frame(config.baseline, rows, baseline_file)
    report: dict[str, Any] = {
        "baseline": config.baseline,
        "baseline_error": error,
        "metrics": config.metrics,
        "encoders": {},
    }
    frames = []
    for name, row in rows.items():
        if "unavailable" in row:
            report["encoders"][name] = {"unavailable": row["unavailable"]}
            continue
        scores = row["per_query"].set_index("case_id")
        entry: dict[str, Any] = {
            "metrics": {
                c: {"mean": float(scores[c].mean()), "queries": int(scores[c].count())}
                for c in scores.columns
            },
            "robustness": row["robustness"],
            "failures": row["failures"],
        }
        if baseline is not None and name != config.baseline:
            try:
                entry["vs_baseline"] = compare(
                    scores,
                    baseline.set_index("case_id"),
                    config.metrics,
                    config.permutations,
                    config.seed,
                )
            except (KeyError, ValueError) as exc:
                entry["vs_baseline_error"] = f"cannot pair with the baseline: {exc}"
        report["encoders"][name] = entry
        frames.append(row["per_query"].assign(encoder=name))
    return report, pd.concat(frames, ignore_index=True)


def _reference_texts(
    reference: dict[str, np.ndarray], chunks: pd.DataFrame, heldout: pd.DataFrame
) -> tuple[list[str], np.ndarray, int]:
    """The reference sample's texts as they are today, their stored vectors, and how many
    sampled items no longer exist (left out)."""
    chunk_texts = chunks.set_index("chunk_id")["text"]
    query_texts = heldout.set_index("case_id")["query"]
    keep_chunks = np.isin(reference["chunk_ids"], chunk_texts.index)
    keep_queries = np.isin(reference["query_ids"], query_texts.index)
    texts = (
        chunk_texts.loc[reference["chunk_ids"][keep_chunks]].tolist()
        + query_texts.loc[reference["query_ids"][keep_queries]].tolist()
    )
    vectors = np.vstack(
        [reference["chunk_vectors"][keep_chunks], reference["query_vectors"][keep_queries]]
    )
    return texts, vectors, int((~keep_chunks).sum() + (~keep_queries).sum())


def measure_drift(
    latest: dict[str, np.ndarray], pinned: dict[str, np.ndarray] | None, chunks: pd.DataFrame, heldout: pd.DataFrame,
    encoders: dict[str, EvalEncoder], params: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """``drift_report``: each encoder's embeddings of the drift-reference sample (its chunks and
    queries as they are today) against the stored reference vectors, with verdicts. The
    reference is the pinned one when given, else the one this run's embedding wrote."""
    config = DriftParams(**params)
    reference = pinned if pinned is not None else latest
    texts, stored, missing = _reference_texts(reference, chunks, heldout)
    report: dict[str, Any] = {
        "reference": {
            "encoder": str(reference["encoder"]),
            "data_version": str(reference["data_version"]),
            "pinned": pinned is not None,
            "samples": len(texts),
            "missing_samples": missing,
        },  # fmt: skip
        "encoders": {},
    }
    thresholds = config.model_dump(exclude={"permutations", "seed"})
    for name, encoder in encoders.items():
        if encoder.encode is None:
            report["encoders"][name] = {"error": f"unavailable: {encoder.unavailable}"}
        elif len(texts) < 10:
            report["encoders"][name] = {
                "error": f"only {len(texts)} reference samples still exist ({missing} gone)"
            }
        else:
            current = np.asarray(encoder.encode(texts), dtype=np.float32)
            entry = drift_report(stored, current, thresholds, config.permutations, config.seed)
            report["encoders"][name] = {
                **entry,
                "encoder": encoder.identity,
                "same_encoder_as_reference": encoder.identity == report["reference"]["encoder"],
            }
    return report
