"""``PostgresCorpusDataset``: raw arXiv records read from PostgreSQL, read-only.

``papers`` rows become paper records; ``chunks`` rows are grouped per paper into full-text
records (``{"paper_id", "sections": [...]}``), so the same validation runs on both sources.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from neura_scholar.corpus import raw_frame
from neura_scholar.postgres_corpus import check_table, iter_rows, table_exists


def _paper_record(row: dict[str, Any]) -> dict[str, Any]:
    published = row["published"]
    if isinstance(published, dt.date):
        published = published.isoformat()
    return {**row, "categories": list(row["categories"]), "published": published}


class PostgresCorpusDataset(AbstractDataset[None, pd.DataFrame]):
    """Raw records from the ``papers`` or ``chunks`` table.

    Args:
        dsn: libpq connection URI, e.g. ``postgresql://postgres@127.0.0.1:5432/neura_scholar``
            (passwords belong in PGPASSWORD or ~/.pgpass, not in configuration).
        table: ``papers`` or ``chunks``; nothing else is read.
        required: when false, a missing table yields no records (full text is optional).
        fetch_size: rows per round trip of the server-side cursor.
        statement_timeout_ms: the bound on each statement.
    """

    def __init__(
        self,
        dsn: str,
        table: str,
        required: bool = True,
        fetch_size: int = 2000,
        statement_timeout_ms: int = 60_000,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.metadata = metadata
        check_table(table)
        self._dsn = dsn
        self._table = table
        self._required = required
        self._fetch_size = fetch_size
        self._timeout = statement_timeout_ms

    def load(self) -> pd.DataFrame:
        if not table_exists(self._dsn, self._table):
            if self._required:
                raise DatasetError(
                    f"table {self._table!r} does not exist; load a corpus with "
                    "`neura-scholar db load --corpus <dir> --dsn <dsn>`"
                )
            return raw_frame([])
        rows = iter_rows(self._dsn, self._table, self._fetch_size, self._timeout)
        source = f"postgresql table {self._table}"
        if self._table == "papers":
            return raw_frame(
                (source, number, _paper_record(row), None) for number, row in enumerate(rows, 1)
            )
        records = []
        number = 0
        for paper_id, group in groupby(rows, key=lambda row: row["paper_id"]):
            pieces = list(group)
            records.append(
                (
                    source,
                    number + 1,
                    {
                        "paper_id": paper_id,
                        "sections": [{"heading": p["heading"], "text": p["text"]} for p in pieces],
                    },
                    None,
                )
            )
            number += len(pieces)
        return raw_frame(records)

    def save(self, data: None) -> None:
        raise DatasetError("PostgresCorpusDataset is read-only; load data with `neura-scholar db load`")

    def _exists(self) -> bool:
        return table_exists(self._dsn, self._table)

    def _describe(self) -> dict[str, Any]:
        return {"table": self._table, "required": self._required, "fetch_size": self._fetch_size}
