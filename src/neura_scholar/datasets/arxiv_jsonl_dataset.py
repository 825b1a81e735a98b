"""``ArxivJsonLinesDataset``: raw arXiv records from (gzip) JSON Lines files, read-only.

Each line becomes one raw record (``source``, ``line``, ``record``, ``error``) so validation can
name the file and line of any problem; a line that is not JSON is kept with its parse error.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from neura_scholar.corpus import raw_frame


def read_jsonl_records(path: Path) -> list[tuple[str, int, Any, str | None]]:
    """Every line of a ``.jsonl`` or ``.jsonl.gz`` file as ``(file, line, record, error)``."""
    opener = gzip.open if path.suffix == ".gz" else open
    rows: list[tuple[str, int, Any, str | None]] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((path.name, number, json.loads(line), None))
            except json.JSONDecodeError as exc:
                rows.append((path.name, number, None, str(exc)))
    return rows


class ArxivJsonLinesDataset(AbstractDataset[None, pd.DataFrame]):
    """Raw records from every file in ``path`` matching ``pattern``, in file-name order.

    Args:
        path: the corpus directory.
        pattern: glob of the files to read, e.g. ``papers.jsonl.gz`` or ``fulltext*.jsonl.gz``.
        required: when true, finding no file is an error that says how to get a corpus;
            when false (full text is optional), it yields no records.
    """

    def __init__(self, path: str, pattern: str, required: bool = True, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._path = Path(path)
        self._pattern = pattern
        self._required = required

    def _files(self) -> list[Path]:
        return sorted(self._path.glob(self._pattern)) if self._path.is_dir() else []

    def load(self) -> pd.DataFrame:
        files = self._files()
        if not files and self._required:
            raise DatasetError(
                f"no corpus file matching {self._pattern!r} in {self._path.resolve()}: set "
                "NEURA_SCHOLAR_CORPUS to a directory holding papers.jsonl.gz, or harvest one "
                "with `neura-scholar harvest --out <dir>/papers.jsonl.gz`"
            )
        rows = [row for file in files for row in read_jsonl_records(file)]
        return raw_frame(rows)

    def save(self, data: None) -> None:
        raise DatasetError("ArxivJsonLinesDataset is read-only: the corpus is an input")

    def _exists(self) -> bool:
        return bool(self._files())

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "pattern": self._pattern, "required": self._required}
