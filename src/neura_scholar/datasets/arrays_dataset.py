"""Array artifacts as ``.npz`` (never pickled), atomic and manifest-verified.

``NpzDataset``: a dict of plain numpy arrays (e.g. ``drift_reference.npz``).
``EmbeddingsDataset``: :class:`ChunkEmbeddings`, with count, dim and encoder in the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from neura_scholar.datasets.manifest import ManifestDataset
from neura_scholar.embeddings import ChunkEmbeddings, ShardStore, array_bytes, load_arrays


class NpzDataset(ManifestDataset[dict[str, np.ndarray]]):
    """A dict of arrays; object arrays are refused on save and never unpickled on load."""

    def _serialise(self, data: dict[str, np.ndarray]) -> bytes:
        return array_bytes(**data)

    def _deserialise(self, data: bytes) -> dict[str, np.ndarray]:
        return load_arrays(data)

    def _manifest_fields(self, data: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"arrays": {name: list(array.shape) for name, array in sorted(data.items())}}


class EmbeddingsDataset(ManifestDataset[ChunkEmbeddings]):
    """Chunk embeddings: ``vectors`` float32 [n, dim] and ``chunk_ids`` in one ``.npz``."""

    def _serialise(self, data: ChunkEmbeddings) -> bytes:
        return array_bytes(
            vectors=data.vectors, chunk_ids=data.chunk_ids, encoder=np.array(data.encoder)
        )

    def _deserialise(self, data: bytes) -> ChunkEmbeddings:
        arrays = load_arrays(data)
        return ChunkEmbeddings(arrays["vectors"], arrays["chunk_ids"], str(arrays["encoder"]))

    def _manifest_fields(self, data: ChunkEmbeddings) -> dict[str, Any]:
        return {"count": len(data.chunk_ids), "dim": data.dim, "encoder": data.encoder}


class ShardStoreDataset(AbstractDataset[ShardStore, ShardStore]):
    """Where embedding keeps finished shards between runs; loading gives the store itself
    (the node writes each shard through it as soon as it is done)."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._path = path

    def load(self) -> ShardStore:
        return ShardStore(self._path)

    def save(self, data: ShardStore) -> None:
        raise DatasetError("ShardStoreDataset is an input: shards are written through the store")

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}


class OptionalNpzDataset(
    AbstractDataset[dict[str, np.ndarray] | None, dict[str, np.ndarray] | None]
):
    """An :class:`NpzDataset` that may be left unconfigured (read-only).

    Args:
        location: the ``.npz`` file, or empty for none (loads as ``None``). A location that is
            given must hold a verified file: a missing or corrupt one is refused, never skipped.
            (Not called ``filepath``, which Kedro would turn into the project directory when empty.)
    """

    def __init__(self, location: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._location = location or ""

    def load(self) -> dict[str, np.ndarray] | None:
        return NpzDataset(self._location).load() if self._location else None

    def save(self, data: dict[str, np.ndarray] | None) -> None:
        raise DatasetError(
            "OptionalNpzDataset is read-only: it names a file kept from an earlier run"
        )

    def _describe(self) -> dict[str, Any]:
        return {"location": self._location}
