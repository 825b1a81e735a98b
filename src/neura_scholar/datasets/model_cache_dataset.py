"""``ModelCacheDataset``: embeddings and indexes kept per model, so a model never re-embeds.

The stage evaluation pulls a registered version and needs the corpus embedded and indexed with
exactly that model. What it produces is kept under ``path``, keyed by what determines it: shards
by the encoder identity (which carries the model file's sha256), the chunk ids and the shard size
(:class:`~neura_scholar.embeddings.ShardStore`); indexes by those plus the index configuration.
The same bytes registered again, under any alias or version, find their work done.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from neura_scholar.datasets.faiss_index_dataset import FaissIndexDataset
from neura_scholar.embeddings import ShardStore
from neura_scholar.indexing import ChunkIndex


class ModelCache:
    """Shards (through :attr:`shards`) and finished indexes (by key) under ``root``."""

    def __init__(self, root: str | Path, dim: int) -> None:
        self.root = Path(root)
        self.shards = ShardStore(self.root / "shards")
        self._dim = dim

    @staticmethod
    def index_key(embedding_job: str, index_config: dict[str, Any]) -> str:
        text = embedding_job + "\n" + json.dumps(index_config, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def _dataset(self, key: str) -> FaissIndexDataset:
        return FaissIndexDataset(str(self.root / "indexes" / key / "chunk_index.index"), self._dim)

    def index(self, key: str) -> ChunkIndex | None:
        """The index kept under ``key``, verified; None when there is none (a corrupt one is refused)."""
        dataset = self._dataset(key)
        return dataset.load() if dataset.exists() else None

    def save_index(self, key: str, index: ChunkIndex) -> None:
        self._dataset(key).save(index)


class ModelCacheDataset(AbstractDataset[ModelCache, ModelCache]):
    """Loads the :class:`ModelCache` at ``path`` (the node writes through it as work finishes)."""

    def __init__(self, path: str, dim: int, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._path = path
        self._dim = dim

    def load(self) -> ModelCache:
        return ModelCache(self._path, self._dim)

    def save(self, data: ModelCache) -> None:
        raise DatasetError("ModelCacheDataset is an input: embeddings and indexes are written through the cache")

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "dim": self._dim}
