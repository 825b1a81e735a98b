"""Artifacts written all-or-nothing and verified on read.

Every artifact is written to a temporary file in its own directory, fsynced and renamed into
place; then a manifest (``<file>.manifest.json``: sha256, size, rows, ...) is written the same
way, last, so it vouches for a finished file. Reading verifies size and sha256 before anything
parses a byte, so a truncated or bit-flipped file is refused with a clear error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.io import DatasetError

MANIFEST_SUFFIX = ".manifest.json"


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
    if not mpath.exists() and not Path(path).exists():
        raise ManifestError(f"{path} is missing (neither the file nor its manifest exists)")
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
    _refuse_unless_matching(path, manifest, len(data), lambda: hashlib.sha256(data).hexdigest())
    return data, manifest


def _refuse_unless_matching(
    path: str | os.PathLike[str], manifest: dict[str, Any], size: int, sha256: Callable[[], str]
) -> None:
    """Size first (cheap), then the sha256 (computed only when the size matches)."""
    if size != manifest["size"]:
        raise ManifestError(f"{path} is {size} bytes but its manifest says {manifest['size']}: truncated or overwritten; refusing it")
    digest = sha256()
    if digest != manifest["sha256"]:
        raise ManifestError(
            f"{path} sha256 {digest[:12]}... differs from its manifest's {manifest['sha256'][:12]}...: the file is corrupt; refusing it"
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, read in blocks (never whole into memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check ``path`` against its manifest without reading it into memory (for files that are
    read later in pieces, e.g. by other processes); returns the manifest.

    Raises:
        ManifestError: as :func:`read_verified`.
    """
    manifest = read_manifest(path)
    if not Path(path).is_file():
        raise ManifestError(f"{path} is missing although its manifest exists")
    _refuse_unless_matching(path, manifest, Path(path).stat().st_size, lambda: file_sha256(path))
    return manifest
