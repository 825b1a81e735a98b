"""Loading a corpus directory: into PostgreSQL (validate first, then upsert in one go), or
straight into chunks (for benchmarks that need every chunk of a corpus without a Kedro run)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg2
from tokenizers import Tokenizer

from neura_scholar.chunking import split_into_chunks
from neura_scholar.corpus import OnError, validate_papers, validate_sections
from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset
from neura_scholar.postgres_corpus import (
    create_schema,
    ensure_database,
    upsert_papers,
    upsert_sections,
)


def load_corpus_into_postgres(
    corpus_dir: Path, dsn: str, on_error: OnError = "raise", limit: int | None = None
) -> dict[str, int]:
    """Validate ``corpus_dir`` (papers.jsonl.gz, fulltext*.jsonl.gz) and upsert it.

    Args:
        limit: load only the first ``limit`` papers by id (and their full text).

    Returns:
        ``{"papers": n, "chunks": m}``: rows written to each table.
    """
    papers, _ = validate_papers(ArxivJsonLinesDataset(str(corpus_dir), "papers.jsonl.gz").load(), on_error)
    raw_text = ArxivJsonLinesDataset(str(corpus_dir), "fulltext*.jsonl.gz", required=False).load()
    sections, _ = validate_sections(raw_text, on_error)
    if limit is not None:
        papers = papers.head(limit)
    sections = sections[sections["paper_id"].isin(set(papers["paper_id"]))]
    ensure_database(dsn)
    conn = psycopg2.connect(dsn)
    try:
        create_schema(conn)
        n_papers = upsert_papers(conn, papers)
        n_chunks = upsert_sections(conn, sections) if len(sections) else 0
    finally:
        conn.close()
    return {"papers": n_papers, "chunks": n_chunks}


def chunk_corpus_directory(corpus_dir: Path, tokenizer: Tokenizer, max_tokens: int = 128, overlap: int = 32) -> pd.DataFrame:
    """Every chunk of ``corpus_dir`` (validated, invalid records dropped), in chunk_id order."""
    papers, _ = validate_papers(ArxivJsonLinesDataset(str(corpus_dir), "papers.jsonl.gz").load())
    sections, _ = validate_sections(ArxivJsonLinesDataset(str(corpus_dir), "fulltext*.jsonl.gz", required=False).load())
    return split_into_chunks(papers, sections, tokenizer, max_tokens, overlap).sort_values("chunk_id")
