"""Datasets for encoders: the PyTorch reference checkpoint, and the MLflow model registry.

``ReferenceEncoderDataset`` loads the checkpoint as a :class:`TorchEncoder` (read-only).
``MlflowOnnxRegistryDataset`` registers ONNX variants as new versions of one registered model
and moves aliases; loading returns what each alias points at.
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError
from mlflow import MlflowClient

from neura_scholar.encoders import TorchEncoder
from neura_scholar.model_registry import (
    RegistryError,
    load_onnx_from_registry,
    register_onnx_variant,
    resolve_version,
    set_alias,
)


class ReferenceEncoderDataset(AbstractDataset[TorchEncoder, TorchEncoder]):
    """The checkpoint as the PyTorch reference encoder (eager attention by default: the graph
    the ONNX export and its optimiser work on)."""

    def __init__(self, checkpoint: str, attn_implementation: str = "eager", metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._checkpoint = checkpoint
        self._attn = attn_implementation

    def load(self) -> TorchEncoder:
        return TorchEncoder(self._checkpoint, attn_implementation=self._attn)

    def save(self, data: TorchEncoder) -> None:
        raise DatasetError("ReferenceEncoderDataset is read-only: it is the source checkpoint")

    def _describe(self) -> dict[str, Any]:
        return {"checkpoint": self._checkpoint, "attn_implementation": self._attn}


class MlflowOnnxRegistryDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Registers ``{variant: {"model": bytes, "tags": {...}}}`` under ``model_name``.

    Args:
        model_name: the registered model, e.g. ``neura-scholar-encoder``.
        aliases: alias -> variant moved to that variant's new version after registering,
            e.g. ``{"candidate": "int8"}``.
    """

    def __init__(self, model_name: str, aliases: dict[str, str] | None = None, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._model_name = model_name
        self._aliases = aliases or {}

    def save(self, data: dict[str, Any]) -> None:
        unknown = {v for v in self._aliases.values() if v not in data}
        if unknown:
            raise DatasetError(
                f"aliases point at variants {sorted(unknown)} that were not produced: {sorted(data)}"
            )
        versions = {
            variant: register_onnx_variant(entry["model"], self._model_name, variant, entry["tags"])
            for variant, entry in data.items()
        }
        for alias, variant in self._aliases.items():
            set_alias(self._model_name, alias, versions[variant].version)

    def load(self) -> dict[str, Any]:
        client = MlflowClient()
        result = {}
        for alias in self._aliases:
            version = client.get_model_version_by_alias(self._model_name, alias)
            result[alias] = {"version": version.version, "tags": dict(version.tags)}
        return result

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "aliases": self._aliases}


class RegistryModelDataset(AbstractDataset[dict[str, Any] | None, dict[str, Any] | None]):
    """An ONNX model version from the MLflow registry by URI (``models:/<name>@<alias>`` or
    ``/<version>``), checked against its sha256 tag, as ``{"uri", "model", "tags"}``; ``None``
    when no URI is configured."""

    def __init__(self, uri: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._uri = uri or None

    def load(self) -> dict[str, Any] | None:
        if self._uri is None:
            return None
        model, tags = load_onnx_from_registry(self._uri)
        return {"uri": self._uri, "model": model, "tags": tags}

    def save(self, data: dict[str, Any] | None) -> None:
        raise DatasetError("RegistryModelDataset is read-only; model_export registers versions")

    def _describe(self) -> dict[str, Any]:
        return {"uri": self._uri}


class RegistryModelsDataset(AbstractDataset[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]):
    """Several registry versions by name, e.g. ``{"production": "models:/neura-scholar-encoder@production"}``,
    each loaded as :class:`RegistryModelDataset` does.

    Args:
        uris: name -> ``models:/`` URI.
        missing_ok: a URI that names no version yet (an alias nobody has set) loads as
            ``{"uri", "error"}`` instead of failing, so whoever uses it can say it is missing.
            A file that does not match its sha256 tag is refused either way.
    """

    def __init__(self, uris: dict[str, str] | None = None, missing_ok: bool = True, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._uris = dict(uris or {})
        self._missing_ok = missing_ok

    def load(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for name, uri in self._uris.items():
            try:
                resolve_version(uri)
            except RegistryError as exc:
                if not self._missing_ok:
                    raise
                result[name] = {"uri": uri, "error": str(exc)}
                continue
            model, tags = load_onnx_from_registry(uri)
            result[name] = {"uri": uri, "model": model, "tags": tags}
        return result

    def save(self, data: dict[str, dict[str, Any]]) -> None:
        raise DatasetError("RegistryModelsDataset is read-only; model_export registers versions")

    def _describe(self) -> dict[str, Any]:
        return {"uris": self._uris, "missing_ok": self._missing_ok}
