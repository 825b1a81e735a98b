"""The versioned dataset base for the project's artifacts (see :mod:`neura_scholar.artifacts`).

With ``versioned: true`` a version counts only once its manifest exists, so a version whose
write died half-way is never picked as "latest".
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from kedro.io import AbstractVersionedDataset, DatasetError, Version

from neura_scholar.artifacts import (
    MANIFEST_SUFFIX,
    ManifestError,
    manifest_path,
    read_manifest,
    read_verified,
    write_atomic,
    write_with_manifest,
)

__all__ = [
    "MANIFEST_SUFFIX", "ManifestDataset", "ManifestError", "manifest_path", "read_manifest",
    "read_verified", "write_atomic", "write_with_manifest",
]  # fmt: skip

_T = TypeVar("_T")


def _complete_version_exists(path: str) -> bool:
    return Path(path).is_file() and manifest_path(path).is_file()



class ManifestDataset(AbstractVersionedDataset[_T, _T], Generic[_T]):
    """Base of the project's file datasets: local files, atomic writes, verified loads.

    Subclasses turn their data into bytes and back, and say what else the manifest records
    about it (row count, dimension, ...), which loading checks again.
    """

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
        manifest_extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            filepath=PurePosixPath(filepath),
            version=version,
            exists_function=_complete_version_exists,
        )
        self.metadata = metadata
        # Fixed facts for the manifest from the catalog, e.g. the producing model.
        self._manifest_extra = manifest_extra

    @abstractmethod
    def _serialise(self, data: _T) -> bytes: ...

    @abstractmethod
    def _deserialise(self, data: bytes) -> _T: ...

    def _manifest_fields(self, data: _T) -> dict[str, Any]:
        """What the manifest records besides sha256 and size (and load checks again)."""
        return {}

    def save(self, data: _T) -> None:
        path = self._get_save_path()
        payload = self._serialise(data)
        write_with_manifest(path, payload, **self._manifest_fields(data), **(self._manifest_extra or {}))
        self._invalidate_cache()

    def load(self) -> _T:
        path = self._get_load_path()
        payload, manifest = read_verified(path)
        data = self._deserialise(payload)
        for key, value in self._manifest_fields(data).items():
            if key in manifest and manifest[key] != value:
                raise ManifestError(f"{path}: {key} is {value!r} but its manifest says {manifest.get(key)!r}")
        return data

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return _complete_version_exists(str(path))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _invalidate_cache(self) -> None:
        self._clear_version_cache()
