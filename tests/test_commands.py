"""The `neura-scholar` commands, run as a user runs them (click's runner, real server, real DB)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner

from neura_scholar.commands import main
from tests.conftest import PROJECT_DIR
from tests.test_oai_pmh import PAGE_2, OaiServer


def test_harvest_takes_defaults_from_conf_and_options_override_them(tmp_path: Path) -> None:
    server = OaiServer([(200, {}, PAGE_2)])
    try:
        out = tmp_path / "corpus" / "papers.jsonl.gz"
        result = CliRunner().invoke(
            main,
            ["harvest", "--out", str(out), "--base-url", server.url, "--delay", "0",
             "--project-dir", str(PROJECT_DIR)],
        )  # fmt: skip
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert result.exit_code == 0, result.output
    assert out.is_file()
    # set and dates come from conf/base/harvest.yml.
    assert server.queries[0]["set"] == ["cs"]
    assert server.queries[0]["from"] == ["2024-01-01"] and server.queries[0]["until"] == ["2024-01-31"]


def test_harvest_refuses_a_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["harvest", "--out", str(tmp_path / "p.jsonl.gz"), "--from", "Jan 1", "--project-dir", str(PROJECT_DIR)]
    )
    assert result.exit_code != 0
    assert "date_from must be YYYY-MM-DD, got 'Jan 1'" in str(result.exception)


@pytest.mark.postgres
def test_db_load(pg_dsn: str, small_corpus_dir: Path) -> None:
    args = ["db", "load", "--corpus", str(small_corpus_dir), "--dsn", pg_dsn, "--limit", "50"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "loaded 50 papers" in result.output
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), min(paper_id) FROM papers")
        count, first = cur.fetchone()  # type: ignore[misc]
    assert count == 50 and first == "0704.0033"
