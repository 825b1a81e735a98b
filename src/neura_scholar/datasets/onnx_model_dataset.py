"""``OnnxModelDataset``: a serialised ONNX model, atomic, manifest-verified, never pickled.

The manifest records sha256 and size plus the model's opset, input and output names and
embedding dimension; loading refuses a file whose bytes or description differ.
"""

from __future__ import annotations

from typing import Any

from neura_scholar.datasets.manifest import ManifestDataset, ManifestError
from neura_scholar.onnx_export import describe_onnx


class OnnxModelDataset(ManifestDataset[bytes]):
    """ONNX model bytes on disk (``data/06_models/<variant>.onnx``); load returns the bytes."""

    def _serialise(self, data: bytes) -> bytes:
        if not isinstance(data, bytes):
            raise TypeError(f"OnnxModelDataset saves serialised ONNX bytes, got {type(data).__name__}")
        return data

    def _deserialise(self, data: bytes) -> bytes:
        return data

    def _manifest_fields(self, data: bytes) -> dict[str, Any]:
        try:
            return describe_onnx(data)
        except ValueError as exc:
            raise ManifestError(f"{self._filepath}: {exc}") from exc
