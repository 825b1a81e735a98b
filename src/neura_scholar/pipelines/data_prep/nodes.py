"""data_prep nodes: the corpus becomes papers, chunks and evaluation sets."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from neura_scholar import eval_sets
from neura_scholar.chunking import split_into_chunks
from neura_scholar.corpus import CorpusError, validate_papers, validate_sections
from neura_scholar.eval_sets import TermContext, near_duplicate_title_pairs, sample_ids
from neura_scholar.perturbations import build_perturbations
from neura_scholar.pipelines.data_prep.config import (
    ChunkingParams,
    FailureParams,
    HeldoutParams,
    PerturbationParams,
    SampleParams,
    SliceParams,
    TermParams,
    ValidationParams,
)
from neura_scholar.terms import count_document_frequencies, stopword_set

logger = logging.getLogger(__name__)


def validate_corpus(
    raw_papers: pd.DataFrame, raw_fulltext: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate papers and full text; full text of an unknown paper is an error too.

    Returns:
        ``corpus_papers``, ``corpus_sections`` and a report of what was read and dropped.
    """
    config = ValidationParams(**params)
    papers, paper_report = validate_papers(raw_papers, config.on_error)
    sections, text_report = validate_sections(raw_fulltext, config.on_error)
    orphans = sorted(set(sections["paper_id"]) - set(papers["paper_id"]))
    if orphans and config.on_error == "raise":
        raise CorpusError(f"full text for {len(orphans)} unknown papers, e.g. {orphans[:3]}")
    sections = sections[~sections["paper_id"].isin(orphans)].reset_index(drop=True)
    text_report.dropped["unknown_paper"] += len(orphans)
    text_report.kept -= len(orphans)
    for name, report in (("papers", paper_report), ("full text", text_report)):
        dropped = sum(report.dropped.values())
        logger.info("%s: read %d, kept %d, dropped %d %s", name, report.read, report.kept, dropped, dict(report.dropped))
        if report.read and dropped / report.read > config.max_dropped_fraction:
            raise CorpusError(
                f"{name}: dropped {dropped} of {report.read} records {dict(report.dropped)}, over "
                f"max_dropped_fraction={config.max_dropped_fraction}; fix the corpus or raise the limit"
            )
    return papers, sections, {"papers": paper_report.as_dict(), "fulltext": text_report.as_dict()}


def sample_corpus(
    papers: pd.DataFrame, sections: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded sample of ``size`` papers.

    Drawn first: ``fulltext_papers`` papers with full text and both papers of
    ``near_duplicate_pairs`` title near-duplicate pairs (so those hard cases exist in a small
    sample); the rest at random from the papers without full text.
    """
    config = SampleParams(**params)
    if config.size is None:
        chosen = set(papers["paper_id"])
    else:
        with_text = set(sections["paper_id"])
        pairs = near_duplicate_title_pairs(papers, config.near_duplicate_min_jaccard)
        pair_keys = sample_ids([f"{a}|{b}" for a, b, _ in pairs], config.near_duplicate_pairs, config.seed)
        first = sample_ids(sorted(with_text), config.fulltext_papers or 0, config.seed)
        first += [pid for key in pair_keys for pid in key.split("|")]
        first = list(dict.fromkeys(first))[: config.size]
        excluded = set(first) | (with_text if config.fulltext_papers is not None else set())
        rest = [pid for pid in papers["paper_id"] if pid not in excluded]
        chosen = set(first) | set(sample_ids(rest, config.size - len(first), config.seed))
    sample = papers[papers["paper_id"].isin(chosen)].reset_index(drop=True)
    sample_sections = sections[sections["paper_id"].isin(chosen)].reset_index(drop=True)
    logger.info(
        "sample: %d papers, %d with full text", len(sample), sample_sections["paper_id"].nunique()
    )
    return sample, sample_sections


def chunk_papers(
    papers: pd.DataFrame, sections: pd.DataFrame, tokenizer: Tokenizer, params: dict[str, Any]
) -> pd.DataFrame:
    """Token windows over every abstract and full-text section (``paper_chunks``)."""
    config = ChunkingParams(**params)
    chunks = split_into_chunks(papers, sections, tokenizer, config.max_tokens, config.overlap)
    logger.info("chunks: %d from %d papers, %.1f tokens each on average", len(chunks), len(papers), chunks["n_tokens"].mean())
    return chunks


def count_chunk_terms(chunks: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Document frequency of every term over the chunks (``term_document_frequency``)."""
    stopwords = stopword_set(TermParams(**params).extra_stopwords)
    return count_document_frequencies(chunks["text"], stopwords)


def _term_context(
    term_frequency: pd.DataFrame, chunks: pd.DataFrame, term_params: dict[str, Any]
) -> TermContext:
    stopwords = stopword_set(TermParams(**term_params).extra_stopwords)
    return TermContext(term_frequency, len(chunks), stopwords)


def build_heldout_set(
    papers: pd.DataFrame,
    chunks: pd.DataFrame,
    term_frequency: pd.DataFrame,
    params: dict[str, Any],
    term_params: dict[str, Any],
) -> pd.DataFrame:
    """Held-out queries of every configured kind (``heldout``)."""
    config = HeldoutParams(**params)
    heldout = eval_sets.build_heldout(
        papers,
        chunks,
        _term_context(term_frequency, chunks, term_params),
        n_papers=config.n_papers,
        seed=config.seed,
        kinds=config.kinds,
        keywords_terms=config.keywords_terms,
        topic_terms=config.topic_terms,
        field_names=config.field_names,
    )
    logger.info("heldout: %d cases %s", len(heldout), heldout["kind"].value_counts().to_dict())
    return heldout


def build_slice_set(heldout: pd.DataFrame, papers: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Held-out cases tagged by category group, year bucket, kind and length (``slices``)."""
    config = SliceParams(**params)
    return eval_sets.tag_slices(
        heldout, papers, config.year_edges, config.year_labels, config.length_edges, config.length_labels
    )


def build_perturbation_set(heldout: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Noisy forms of every held-out query (``perturbations``)."""
    config = PerturbationParams(**params)
    perturbations = build_perturbations(heldout, config.types, config.seed)
    logger.info("perturbations: %d %s", len(perturbations), perturbations["perturbation"].value_counts().to_dict())
    return perturbations


def build_failure_set(
    papers: pd.DataFrame,
    chunks: pd.DataFrame,
    term_frequency: pd.DataFrame,
    tokenizer: Tokenizer,
    params: dict[str, Any],
    term_params: dict[str, Any],
) -> pd.DataFrame:
    """Hard cases by type, each with the rule that decides it (``failures``)."""
    config = FailureParams(**params)
    rules, n, seed = config.rules, config.per_type, config.seed
    by_paper = chunks.groupby("paper_id", sort=False)["text"].apply(list).to_dict()
    ids = list(papers["paper_id"])
    min_chars = 3 * rules["very_long"]["min_query_tokens"]  # a token is at least ~3 characters
    long_ids = [pid for pid in ids if sum(map(len, by_paper[pid])) >= min_chars]
    terms = _term_context(term_frequency, chunks, term_params)
    groups = [
        eval_sets.one_word_cases(papers, by_paper, terms, sample_ids(ids, n, seed), rules["one_word"]),
        eval_sets.very_long_cases(papers, by_paper, tokenizer, long_ids, rules["very_long"]),
        eval_sets.formula_only_cases(papers, ids, rules["formula_only"]),
        eval_sets.acronym_only_cases(papers, ids, rules["acronym_only"]),
        eval_sets.near_duplicate_cases(papers, rules["near_duplicate_title"], n, seed),
        eval_sets.out_of_domain_cases(config.out_of_domain_queries, rules["out_of_domain"]),
    ]
    cases = [case for group in groups for case in _sample_cases(group, n, seed)]
    failures = eval_sets.failures_frame(cases)
    logger.info("failures: %d %s", len(failures), failures["failure_type"].value_counts().to_dict())
    return failures


def _sample_cases(cases: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    keep = set(sample_ids([c["case_id"] for c in cases], n, seed))
    return [c for c in cases if c["case_id"] in keep]


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def summarise_data_prep(
    validation: dict[str, Any],
    papers: pd.DataFrame,
    sections: pd.DataFrame,
    chunks: pd.DataFrame,
    heldout: pd.DataFrame,
    slices: pd.DataFrame,
    perturbations: pd.DataFrame,
    failures: pd.DataFrame,
    slice_params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The counts a reader checks first: a nested summary and flat metrics for MLflow."""
    min_cases = SliceParams(**slice_params).min_cases
    tags = ("category_group", "year_bucket", "kind", "length_bucket")
    per_slice = {tag: _counts(slices[tag]) for tag in tags}
    tokens = chunks["n_tokens"].to_numpy()
    token_stats = {
        "mean": float(tokens.mean()) if len(tokens) else 0.0,
        "median": float(np.median(tokens)) if len(tokens) else 0.0,
        "max": int(tokens.max()) if len(tokens) else 0,
    }
    cases = {
        "heldout": len(heldout),
        "slices": len(slices),
        "perturbations": len(perturbations),
        "failures": len(failures),
    }
    summary = {
        "validation": validation,
        "papers": len(papers),
        "papers_with_fulltext": int(sections["paper_id"].nunique()),
        "chunks": len(chunks),
        "chunks_by_source": _counts(chunks["source"]),
        "tokens_per_chunk": token_stats,
        "cases": cases,
        "heldout_by_kind": _counts(heldout["kind"]),
        "slices": per_slice,
        "small_slices": sorted(
            f"{tag}={value}" for tag, counts in per_slice.items() for value, c in counts.items() if c < min_cases
        ),
        "perturbations_by_type": _counts(perturbations["perturbation"]),
        "failures_by_type": _counts(failures["failure_type"]),
    }
    figures = {
        "papers": len(papers),
        "chunks": len(chunks),
        "tokens_per_chunk_mean": token_stats["mean"],
        "tokens_per_chunk_max": token_stats["max"],
        "papers_dropped": sum(validation["papers"]["dropped"].values()),
        **{f"cases_{name}": count for name, count in cases.items()},
    }
    # kedro-mlflow's metrics dataset takes {name: {"value", "step"}}.
    metrics = {name: {"value": float(value), "step": 0} for name, value in figures.items()}
    return summary, metrics
