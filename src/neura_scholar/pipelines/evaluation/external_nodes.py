"""evaluation on external labelled sets (BEIR form): chunked, embedded and indexed like the
corpus, searched, collapsed to documents, and scored with graded relevance by the same code."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from tokenizers import Tokenizer

from neura_scholar.beir import BeirSet, apply_exclusions, document_texts
from neura_scholar.chunking import split_into_chunks
from neura_scholar.encoder_selection import EvalEncoder
from neura_scholar.indexing import build_index
from neura_scholar.metrics import evaluate
from neura_scholar.pipelines.data_prep.config import ChunkingParams
from neura_scholar.pipelines.evaluation.nodes import EvaluationParams
from neura_scholar.retrieval import paper_run, retrieve

logger = logging.getLogger(__name__)


class ExternalParams(BaseModel):
    """``evaluation.external``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoders: list[str] = ["candidate"]
    metrics: list[str]


def score_external_set(
    found: BeirSet,
    encoder: EvalEncoder,
    tokenizer: Tokenizer,
    chunking: ChunkingParams,
    metrics: list[str],
    depth: int,
) -> pd.DataFrame:
    """Per-query metrics of one encoder on one set (MaxP over the documents' chunks, each
    query's excluded documents removed before ranking)."""
    if encoder.encode is None:
        raise ValueError(f"encoder {encoder.name!r} is unavailable: {encoder.unavailable}")
    empty = pd.DataFrame(columns=["paper_id", "position", "heading", "text"])
    chunks = split_into_chunks(
        document_texts(found.corpus), empty, tokenizer, chunking.max_tokens, chunking.overlap
    )
    vectors = np.asarray(encoder.encode(chunks["text"].tolist()), dtype=np.float32)
    index = build_index(vectors, chunks["chunk_id"].to_numpy(), "Flat", {}, 1, 0, encoder.identity)
    cases = pd.DataFrame({"case_id": list(found.queries), "query": list(found.queries.values())})
    run = apply_exclusions(
        paper_run(retrieve(encoder.encode, index, cases, depth)), found.exclusions
    )
    return evaluate(found.qrels, run, metrics)


def evaluate_external_sets(
    sets: dict[str, BeirSet], encoders: dict[str, EvalEncoder], tokenizer: Tokenizer,
    chunking_params: dict[str, Any], retrieval_params: dict[str, Any], params: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:  # fmt: skip
    """``external_metrics`` (per set and encoder: means with query counts, and the set's size)
    and ``external_per_query`` (set, encoder, query_id, metrics); empty when no set is given."""
    config, chunking = ExternalParams(**params), ChunkingParams(**chunking_params)
    depth = EvaluationParams(**retrieval_params).depth
    report: dict[str, Any] = {}
    frames = []
    for name, found in sets.items():
        if not found.qrels:
            raise ValueError(
                f"external set {name!r} has no query with a relevant document in its qrels"
            )
        entry: dict[str, Any] = {"documents": len(found.corpus), "queries": len(found.qrels),
                                 "dropped_queries": found.dropped_queries, "encoders": {}}  # fmt: skip
        for encoder_name in config.encoders:
            if encoder_name not in encoders:
                raise ValueError(
                    f"evaluation.external.encoders names {encoder_name!r}; known: {sorted(encoders)}"
                )
            per_query = score_external_set(
                found, encoders[encoder_name], tokenizer, chunking, config.metrics, depth
            )
            entry["encoders"][encoder_name] = {
                m: {"mean": float(per_query[m].mean()), "queries": int(per_query[m].count())}
                for m in per_query
            }
            frames.append(per_query.reset_index().assign(set=name, encoder=encoder_name))
            logger.info(
                "external set %s, %s: %s",
                name,
                encoder_name,
                {m: round(v["mean"], 4) for m, v in entry["encoders"][encoder_name].items()},
            )
        report[name] = entry
    columns = ["set", "encoder", "query_id", *config.metrics]
    return report, pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns
    )
