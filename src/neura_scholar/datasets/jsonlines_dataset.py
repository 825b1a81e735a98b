"""``JsonLinesDataset``: a DataFrame as JSON Lines (one object a line), atomic and verified."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from neura_scholar.datasets.manifest import ManifestDataset


class JsonLinesDataset(ManifestDataset[pd.DataFrame]):
    """Records as UTF-8 JSON Lines in column order, with a sha256 manifest checked on load.

    Used for the evaluation sets (``heldout.jsonl``, ``slices.jsonl``, ...): readable by any
    tool, one case a line. ``None`` is written as ``null``; NaN and infinities are refused.
    """

    def _serialise(self, data: pd.DataFrame) -> bytes:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"JsonLinesDataset saves a pandas DataFrame, got {type(data).__name__}")
        lines = [
            json.dumps(_plain(record), ensure_ascii=False, allow_nan=False)
            for record in _missing_text_as_none(data).to_dict(orient="records")
        ]
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def _deserialise(self, data: bytes) -> pd.DataFrame:
        records = [json.loads(line) for line in data.decode().splitlines() if line]
        return pd.DataFrame.from_records(records)

    def _manifest_fields(self, data: pd.DataFrame) -> dict[str, Any]:
        return {"rows": len(data)}  # columns do not survive an empty file, so rows only


def _missing_text_as_none(data: pd.DataFrame) -> pd.DataFrame:
    """Missing values of text columns become ``None`` (pandas 3 keeps them as NaN); a NaN in a
    numeric column stays and is refused."""
    frame = data.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column].dtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _plain(value: Any) -> Any:
    """numpy scalars and arrays inside records become plain JSON values."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return value


class AppendJsonLinesDataset(ManifestDataset[list[dict[str, Any]]]):
    """A log of records, one JSON object a line, that each save extends (``model_comparison.jsonl``).

    Saving reads the current file (verified against its manifest: a corrupt log is refused,
    not overwritten), appends the new records and writes the whole file atomically with a new
    manifest, so a crash leaves either the old log or the new one.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(filepath, None, metadata)

    def _serialise(self, data: list[dict[str, Any]]) -> bytes:
        return "".join(
            json.dumps(_plain(r), ensure_ascii=False, allow_nan=False) + "\n" for r in data
        ).encode()

    def _deserialise(self, data: bytes) -> list[dict[str, Any]]:
        return [json.loads(line) for line in data.decode().splitlines() if line]

    def _manifest_fields(self, data: list[dict[str, Any]]) -> dict[str, Any]:
        return {"rows": len(data)}

    def save(self, data: list[dict[str, Any]]) -> None:
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise TypeError("AppendJsonLinesDataset saves a list of records (dicts)")
        existing = self.load() if self._exists() else []
        super().save(existing + data)
