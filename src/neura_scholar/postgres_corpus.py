"""The corpus in PostgreSQL: schema, idempotent loading, and safe streaming reads.

Two tables: ``papers`` (one row per paper) and ``chunks`` (a paper's full text as ordered
pieces: ``paper_id``, ``position``, ``heading``, ``text``). Reads go through a named
(server-side) cursor inside a read-only transaction with a statement timeout; table names come
from an allow-list and are quoted as identifiers, values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql

# Allowed tables and the columns read from each, in order.
TABLE_COLUMNS: dict[str, list[str]] = {
    "papers": [
        "paper_id", "title", "abstract", "categories", "primary_category", "published", "authors",
    ],
    "chunks": ["paper_id", "position", "heading", "text"],
}  # fmt: skip
_ORDER_BY = {"papers": ["paper_id"], "chunks": ["paper_id", "position"]}

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS papers (
    paper_id          text PRIMARY KEY,
    title             text NOT NULL,
    abstract          text NOT NULL,
    categories        text[] NOT NULL CHECK (cardinality(categories) > 0),
    primary_category  text NOT NULL,
    published         date NOT NULL,
    authors           text NOT NULL,
    loaded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chunks (
    paper_id  text NOT NULL REFERENCES papers (paper_id) ON DELETE CASCADE,
    position  integer NOT NULL CHECK (position >= 0),
    heading   text NOT NULL,
    text      text NOT NULL,
    PRIMARY KEY (paper_id, position)
);
"""


def check_table(table: str) -> list[str]:
    """The columns of an allowed table; any other name is refused."""
    if table not in TABLE_COLUMNS:
        raise ValueError(f"table {table!r} is not allowed; choose one of {sorted(TABLE_COLUMNS)}")
    return TABLE_COLUMNS[table]


def ensure_database(dsn: str) -> None:
    """Create the database the DSN names when it does not exist (connecting to ``postgres``)."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError(f"the DSN {dsn!r} names no database")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = psycopg2.connect(admin)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def create_schema(conn: psycopg2.extensions.connection) -> None:
    """Create the ``papers`` and ``chunks`` tables if missing."""
    with conn.cursor() as cur:
        cur.execute(SCHEMA_SQL)
    conn.commit()


def upsert_papers(conn: psycopg2.extensions.connection, papers: pd.DataFrame) -> int:
    """Insert or update validated papers (the ``papers`` table of data_prep); returns the count."""
    columns = TABLE_COLUMNS["papers"]
    rows = [
        (r.paper_id, r.title, r.abstract, list(r.categories), r.primary_category, r.published, r.authors)
        for r in papers[columns].itertuples(index=False)
    ]
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns[1:]
    )
    query = sql.SQL(
        "INSERT INTO papers ({}) VALUES %s ON CONFLICT (paper_id) DO UPDATE SET {}, loaded_at = now()"
    ).format(sql.SQL(", ").join(map(sql.Identifier, columns)), updates)
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, query.as_string(cur), rows, page_size=1000)
    conn.commit()
    return len(rows)


def upsert_sections(conn: psycopg2.extensions.connection, sections: pd.DataFrame) -> int:
    """Replace the full text of every paper in ``sections`` (one transaction); returns rows."""
    paper_ids = sorted(set(sections["paper_id"]))
    rows = [tuple(r) for r in sections[TABLE_COLUMNS["chunks"]].itertuples(index=False)]
    with conn.cursor() as cur:
        # Replace, not merge: a paper whose new full text has fewer pieces keeps no stale ones.
        cur.execute("DELETE FROM chunks WHERE paper_id = ANY(%s)", (paper_ids,))
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO chunks (paper_id, position, heading, text) VALUES %s",
            rows,
            page_size=1000,
        )
    conn.commit()
    return len(rows)


@contextmanager
def read_only_connection(dsn: str, statement_timeout_ms: int) -> Iterator[psycopg2.extensions.connection]:
    """A connection whose transaction is read-only with ``statement_timeout`` set; rolled back
    and closed on exit."""
    if statement_timeout_ms < 1:
        raise ValueError(f"statement_timeout_ms must be positive, got {statement_timeout_ms}")
    conn = psycopg2.connect(dsn)
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as setup:
            setup.execute("SET LOCAL statement_timeout = %s", (statement_timeout_ms,))
        yield conn
        conn.rollback()
    finally:
        conn.close()


def iter_rows(
    dsn: str,
    table: str,
    fetch_size: int = 2000,
    statement_timeout_ms: int = 60_000,
) -> Iterator[dict[str, Any]]:
    """Stream an allowed table's rows as dicts, in primary-key order.

    A named cursor keeps the result on the server (``fetch_size`` rows per round trip); the
    transaction is read-only and each statement is bounded by ``statement_timeout_ms``.
    """
    columns = check_table(table)
    if fetch_size < 1:
        raise ValueError(f"fetch_size must be positive, got {fetch_size}")
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, _ORDER_BY[table])),
    )
    with read_only_connection(dsn, statement_timeout_ms) as conn:
        with conn.cursor(name=f"neura_scholar_{table}") as cur:
            cur.itersize = fetch_size
            cur.execute(query)
            for row in cur:
                yield dict(zip(columns, row, strict=True))


def table_exists(dsn: str, table: str) -> bool:
    check_table(table)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",))
            row = cur.fetchone()
            return bool(row and row[0])
    finally:
        conn.close()
