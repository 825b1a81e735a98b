"""IVF built in shards and merged on disk against the same IVF built in memory from the same
training: the same neighbours; the index file pair round-trips through its dataset, memory-mapped,
and a corrupt or missing lists file is refused; a rerun reuses finished shards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from neura_scholar.datasets import FaissIndexDataset, ManifestError
from neura_scholar.indexing import apply_search_params, deserialise_index
from neura_scholar.sharded_index import (
    add_shards_locally,
    build_ivf_on_disk,
    check_ivf,
    on_disk_lists,
    train_ivf,
)

FACTORY, SEARCH = "IVF16,Flat", {"nprobe": 4}


def _in_memory(vectors: np.ndarray) -> faiss.Index:
    """The reference: the same trained quantiser, every vector added in one index in RAM."""
    index = deserialise_index(train_ivf(vectors, FACTORY, 500, 3))
    index.add(vectors)
    apply_search_params(index, SEARCH)
    return index


def test_the_merged_on_disk_index_finds_what_the_in_memory_one_finds(small_embeddings: Any, tmp_path: Path) -> None:
    vectors, ids = small_embeddings.vectors, small_embeddings.chunk_ids
    merged = build_ivf_on_disk(vectors, ids, FACTORY, SEARCH, 500, 3, "enc", tmp_path / "build", shard_size=256)
    assert on_disk_lists(merged.index) is not None and merged.index.ntotal == len(vectors)
    assert len(list((tmp_path / "build/shards").glob("shard_*.index"))) == -(-len(vectors) // 256)
    reference = _in_memory(vectors)
    queries = vectors[::13]
    want_scores, want = reference.search(queries, 10)
    got_scores, got = merged.index.search(queries, 10)
    np.testing.assert_array_equal(got, want)  # positions: the shards were added under global ids
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)
    _, found = merged.search(queries[:3], 1)
    assert [f[0] for f in found] == [ids[i] for i in range(0, 39, 13)]  # each chunk finds itself

    # Through the catalog's dataset: the lists file lands beside the index, verified, mmap'd.
    dataset = FaissIndexDataset(str(tmp_path / "index/chunk.index"), dim=vectors.shape[1])
    dataset.save(merged)
    assert (tmp_path / "index/chunk.ivfdata").is_file()
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "index", moved)
    loaded = FaissIndexDataset(str(moved / "chunk.index"), dim=vectors.shape[1]).load()
    assert on_disk_lists(loaded.index).filename.endswith("moved/chunk.ivfdata")
    np.testing.assert_array_equal(loaded.index.search(queries, 10)[1], want)
    with (moved / "chunk.ivfdata").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(ManifestError, match="corrupt inverted lists; refusing it"):
        FaissIndexDataset(str(moved / "chunk.index"), dim=vectors.shape[1]).load()
    (moved / "chunk.ivfdata").unlink()
    with pytest.raises(ManifestError, match="chunk.ivfdata are missing"):
        FaissIndexDataset(str(moved / "chunk.index"), dim=vectors.shape[1]).load()


def test_a_rerun_adds_only_the_shards_not_finished(small_embeddings: Any, tmp_path: Path) -> None:
    vectors, ids = small_embeddings.vectors, small_embeddings.chunk_ids
    build_ivf_on_disk(vectors, ids, FACTORY, SEARCH, 500, 3, "enc", tmp_path, shard_size=256)
    (tmp_path / "shards/shard_000001.index").write_bytes(b"half-written")  # fails its manifest
    (tmp_path / "shards/shard_000002.index.manifest.json").unlink()  # never finished
    added: list[int] = []

    def counting(trained: bytes, shards: list[tuple[int, int, int]], data: np.ndarray) -> Iterator[tuple[int, bytes]]:
        added.extend(s for s, _, _ in shards)
        return add_shards_locally(trained, shards, data)

    again = build_ivf_on_disk(vectors, ids, FACTORY, SEARCH, 500, 3, "enc", tmp_path, shard_size=256, add_shards=counting)
    assert added == [1, 2]
    np.testing.assert_array_equal(again.index.search(vectors[:20], 5)[1], _in_memory(vectors).search(vectors[:20], 5)[1])


@pytest.mark.parametrize("factory", ["Flat", "HNSW32"])
def test_flat_and_hnsw_stay_single_machine(factory: str) -> None:
    with pytest.raises(ValueError, match="is not an IVF index: only IVF indexes are built in shards"):
        check_ivf(factory, 384)
