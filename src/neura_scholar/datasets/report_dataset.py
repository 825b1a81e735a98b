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
