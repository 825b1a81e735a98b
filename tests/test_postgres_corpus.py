"""The corpus in a real PostgreSQL server: loading, safe reads, and the same data_prep outputs
as the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2
import psycopg2.errors
import pytest
from kedro.io import DatasetError
from tokenizers import Tokenizer

from neura_scholar.corpus import validate_papers, validate_sections
from neura_scholar.corpus_loading import load_corpus_into_postgres
from neura_scholar.datasets import PostgresCorpusDataset
from neura_scholar.postgres_corpus import read_only_connection
from tests.pipelines.data_prep.runs import file_datasets, run_data_prep

pytestmark = pytest.mark.postgres


def _count(dsn: str, table: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # table is a literal of this test
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def test_loading_is_idempotent_and_reads_back_the_same_corpus(pg_dsn: str, small_corpus_dir: Path) -> None:
    first = load_corpus_into_postgres(small_corpus_dir, pg_dsn)
    second = load_corpus_into_postgres(small_corpus_dir, pg_dsn)
    assert first == second and first["papers"] == 200 and first["chunks"] > 0
    assert _count(pg_dsn, "papers") == 200
    assert _count(pg_dsn, "chunks") == first["chunks"]

    files_papers, files_text = file_datasets(small_corpus_dir)
    from_files, _ = validate_papers(files_papers.load())
    from_db, report = validate_papers(PostgresCorpusDataset(pg_dsn, "papers", fetch_size=17).load())
    assert report.as_dict() == {"read": 200, "kept": 200, "dropped": {}}
    pd.testing.assert_frame_equal(from_db, from_files)
    sections_files, _ = validate_sections(files_text.load())
    sections_db, _ = validate_sections(PostgresCorpusDataset(pg_dsn, "chunks").load())
    pd.testing.assert_frame_equal(sections_db, sections_files)


def test_file_and_postgres_paths_give_identical_data_prep_outputs(
    pg_dsn: str, small_corpus_dir: Path, tokenizer: Tokenizer, small_params: dict[str, Any],
    data_prep_outputs: dict[str, Any],
) -> None:  # fmt: skip
    load_corpus_into_postgres(small_corpus_dir, pg_dsn)
    from_db = run_data_prep(
        PostgresCorpusDataset(pg_dsn, "papers"),
        PostgresCorpusDataset(pg_dsn, "chunks", required=False),
        tokenizer,
        small_params,
    )
    for name in ("papers", "paper_sections", "paper_chunks", "heldout", "slices", "perturbations", "failures"):
        pd.testing.assert_frame_equal(from_db[name], data_prep_outputs[name], obj=name)
    assert from_db["data_prep_summary"]["chunks"] == data_prep_outputs["data_prep_summary"]["chunks"]


def test_only_allowed_tables_are_read(pg_dsn: str) -> None:
    for name in ("users", "papers; DROP TABLE papers", 'papers"--'):
        with pytest.raises(ValueError, match="is not allowed; choose one of \\['chunks', 'papers'\\]"):
            PostgresCorpusDataset(pg_dsn, name)


def test_missing_tables(pg_dsn: str) -> None:
    assert PostgresCorpusDataset(pg_dsn, "chunks", required=False).load().empty
    with pytest.raises(DatasetError, match="table 'papers' does not exist; load a corpus with `neura-scholar db load"):
        PostgresCorpusDataset(pg_dsn, "papers").load()


def test_reads_are_read_only_and_time_bounded(pg_dsn: str) -> None:
    with read_only_connection(pg_dsn, statement_timeout_ms=200) as conn, conn.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone() == ("200ms",)
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            cur.execute("CREATE TABLE sneaky (x int)")
    with read_only_connection(pg_dsn, statement_timeout_ms=50) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(2)")


def test_the_throwaway_server_fallback_starts_a_real_server() -> None:
    """What the tests use when no server answers on 127.0.0.1:5432."""
    import shutil

    from tests.conftest import _start_throwaway_server

    dsn, executor = _start_throwaway_server()
    try:
        with psycopg2.connect(f"{dsn}/postgres") as conn, conn.cursor() as cur:
            cur.execute("SELECT current_setting('port')::int")
            row = cur.fetchone()
        assert row is not None and dsn.endswith(f":{row[0]}") and row[0] != 5432
    finally:
        executor.stop()
        shutil.rmtree(Path(executor.datadir).parent, ignore_errors=True)
