"""Atomic writes with a verified manifest, and the versioned dataset base that uses them.

Every artifact is written to a temporary file in its own directory, fsynced and renamed into
place; then a manifest (``<file>.manifest.json``: sha256, size, rows, ...) is written the same
way. Loading verifies size and sha256 before parsing a byte, so a truncated or bit-flipped file
is refused with a clear error. With ``versioned: true`` a version counts only once its manifest
exists, so a version whose write died half-way is never picked as "latest".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from abc import abstractmethod
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from kedro.io import AbstractVersionedDataset, DatasetError, Version

MANIFEST_SUFFIX = ".manifest.json"
_T = TypeVar("_T")


class ManifestError(DatasetError):
    """An artifact does not match its manifest (or has none): it is refused."""


def manifest_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}{MANIFEST_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename (all or nothing)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would make artifacts private to one user
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_with_manifest(
    path: str | os.PathLike[str], data: bytes, **fields: Any
) -> dict[str, Any]:
    """Write ``data`` atomically, then its manifest (last, so it vouches for a finished file)."""
    manifest = {
        "file": Path(path).name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        **fields,
    }
    write_atomic(path, data)
    write_atomic(manifest_path(path), json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    mpath = manifest_path(path)
    if not mpath.exists():
        raise ManifestError(
            f"{path} has no manifest ({mpath.name}): it was not written completely; refusing it"
        )
    try:
        manifest: dict[str, Any] = json.loads(mpath.read_text())
    except ValueError as exc:
        raise ManifestError(f"manifest {mpath} is corrupt: {exc}") from exc
    for key in ("sha256", "size"):
        if key not in manifest:
            raise ManifestError(f"manifest {mpath} lacks {key!r}")
    return manifest


def read_verified(path: str | os.PathLike[str]) -> tuple[bytes, dict[str, Any]]:
    """Read ``path`` and check it against its manifest.

    Raises:
        ManifestError: when the file is missing, has no manifest, or its size or sha256 differ.
    """
    manifest = read_manifest(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ManifestError(f"{path} is missing although its manifest exists") from exc
    if len(data) != manifest["size"]:
        raise ManifestError(
            f"{path} is {len(data)} bytes but its manifest says {manifest['size']}: "
            "truncated or overwritten; refusing it"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["sha256"]:
        raise ManifestError(
            f"{path} sha256 {digest[:12]}... differs from its manifest's "
            f"{manifest['sha256'][:12]}...: the file is corrupt; refusing it"
        )
    return data, manifest


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
