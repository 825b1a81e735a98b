"""``ReportDataset``: a JSON document (a dict of counts or figures), atomic and verified."""

from __future__ import annotations

import json
from typing import Any

from neura_scholar.datasets.manifest import ManifestDataset


class ReportDataset(ManifestDataset[dict[str, Any]]):
    """A dict saved as indented, key-sorted JSON; NaN and infinities are refused."""

    def _serialise(self, data: dict[str, Any]) -> bytes:
        if not isinstance(data, dict):
            raise TypeError(f"ReportDataset saves a dict, got {type(data).__name__}")
        return (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()

    def _deserialise(self, data: bytes) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(data)
        return loaded

    def _manifest_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"keys": sorted(data)}


class ReportFileDataset(ManifestDataset[bytes | str]):
    """A rendered report file (a PNG plot, a Markdown page) as its bytes; text is saved as UTF-8.
    Loading returns bytes, or text when ``text: true``."""

    def __init__(self, filepath: str, text: bool = False, **kwargs: Any) -> None:
        super().__init__(filepath, **kwargs)
        self._text = text

    def _serialise(self, data: bytes | str) -> bytes:
        if isinstance(data, str):
            return data.encode()
        if isinstance(data, bytes):
            return data
        raise TypeError(f"ReportFileDataset saves bytes or str, got {type(data).__name__}")

    def _deserialise(self, data: bytes) -> bytes | str:
        return data.decode() if self._text else data
