"""FAISS indexes on real embeddings: exact where they should be, measured recall where
approximate, and index files that cannot load corrupt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError, Version

from neura_scholar.datasets import FaissIndexDataset
from neura_scholar.datasets.faiss_index_dataset import ids_path
from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.indexing import build_index

# Measured on the 886 real chunk embeddings of the small corpus (100 seeded queries, k=10):
# HNSW32 efSearch=64 -> 1.000, IVF16,Flat nprobe=4 -> 0.968, IVF16,PQ16 nprobe=4 -> 0.752.
# The floors leave room for FAISS version drift, not for a broken index.
RECALL_FLOORS = {("HNSW32", "efSearch", 64): 0.98, ("IVF16,Flat", "nprobe", 4): 0.9, ("IVF16,PQ16", "nprobe", 4): 0.65}


def _recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_flat_returns_the_exact_neighbours(small_embeddings: ChunkEmbeddings) -> None:
    index = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "Flat", {}, 1, 0)
    queries = small_embeddings.vectors[:50]
    scores, ids = index.search(queries, 10)
    exact = queries @ small_embeddings.vectors.T
    for row in range(50):
        top = np.argsort(-exact[row], kind="stable")[:10]
        np.testing.assert_allclose(scores[row], exact[row][top], atol=1e-5)
        assert set(ids[row]) == set(small_embeddings.chunk_ids[top].tolist()) or np.isclose(exact[row][top][-1], exact[row][top][-2])
        assert ids[row][0] == small_embeddings.chunk_ids[row]  # a chunk's nearest neighbour is itself


@pytest.mark.parametrize(("factory", "knob", "value"), list(RECALL_FLOORS))
def test_approximate_indexes_reach_their_recall_floor(small_embeddings: ChunkEmbeddings, factory: str, knob: str, value: int) -> None:
    exact = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "Flat", {}, 1, 0)
    approximate = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, factory, {knob: value}, 5000, 7)
    rng = np.random.default_rng(3)
    queries = small_embeddings.vectors[rng.choice(len(small_embeddings.vectors), 100, replace=False)]
    recall = _recall(approximate.search(queries, 10)[1], exact.search(queries, 10)[1])
    assert recall >= RECALL_FLOORS[(factory, knob, value)], recall


def test_no_minus_one_ever_becomes_a_chunk(small_embeddings: ChunkEmbeddings) -> None:
    # IVF with nprobe=1 over 64 lists: a query's list holds far fewer than 200 vectors, so
    # FAISS pads the result with -1; those never come back as chunk ids.
    index = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "IVF64,Flat", {"nprobe": 1}, 5000, 7)
    scores, ids = index.search(small_embeddings.vectors[:5], 200)
    valid = set(small_embeddings.chunk_ids.tolist())
    assert all(set(row) <= valid for row in ids)
    assert any(len(row) < 200 for row in ids)


def test_bad_factory_and_knob_are_clear_errors(small_embeddings: ChunkEmbeddings) -> None:
    with pytest.raises(ValueError, match="FAISS does not understand index factory 'Flatt'"):
        build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "Flatt", {}, 1, 0)
    with pytest.raises(ValueError, match="search parameter nprobe=4 does not apply"):
        build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "HNSW32", {"nprobe": 4}, 1, 0)


def _saved(tmp_path: Path, embeddings: ChunkEmbeddings, version: str | None = None) -> FaissIndexDataset:
    index = build_index(embeddings.vectors, embeddings.chunk_ids, "HNSW32", {"efSearch": 48}, 1, 0, "enc")
    dataset = FaissIndexDataset(str(tmp_path / "chunk_embedding_384.index"), dim=384, version=Version(None, version) if version else None)
    dataset.save(index)
    return dataset


def test_index_round_trip_keeps_ids_knobs_and_results(tmp_path: Path, small_embeddings: ChunkEmbeddings) -> None:
    dataset = _saved(tmp_path, small_embeddings)
    loaded = dataset.load()
    assert loaded.factory == "HNSW32" and loaded.search_params == {"efSearch": 48} and loaded.encoder == "enc"
    assert loaded.chunk_ids.tolist() == small_embeddings.chunk_ids.tolist()
    first_line = ids_path(tmp_path / "chunk_embedding_384.index").read_text().splitlines()[0]
    assert first_line == f'{{"position": 0, "chunk_id": "{small_embeddings.chunk_ids[0]}"}}'


@pytest.mark.parametrize(
    ("target", "damage", "message"),
    [
        ("index", lambda p: p.write_bytes(p.read_bytes()[:-50]), "truncated or overwritten"),
        ("index", lambda p: p.write_bytes(p.read_bytes()[:500] + bytes([p.read_bytes()[500] ^ 4]) + p.read_bytes()[501:]), "the file is corrupt"),
        ("ids", lambda p: p.write_text(p.read_text().replace("#0", "#9", 1)), "corrupt id map"),
        ("ids", lambda p: p.unlink(), "id map chunk_embedding_384.ids.jsonl is missing"),
    ],
)  # fmt: skip
def test_a_damaged_index_or_id_map_is_refused(tmp_path: Path, small_embeddings: ChunkEmbeddings, target, damage, message) -> None:  # type: ignore[no-untyped-def]
    dataset = _saved(tmp_path, small_embeddings)
    path = tmp_path / "chunk_embedding_384.index"
    damage(path if target == "index" else ids_path(path))
    with pytest.raises(DatasetError, match=message):
        dataset.load()


def test_wrong_dimension_is_refused_and_the_previous_version_still_loads(tmp_path: Path, small_embeddings: ChunkEmbeddings) -> None:
    _saved(tmp_path, small_embeddings, "2026-01-01T00.00.00.000Z")
    _saved(tmp_path, small_embeddings, "2026-01-02T00.00.00.000Z")
    latest = tmp_path / "chunk_embedding_384.index" / "2026-01-02T00.00.00.000Z" / "chunk_embedding_384.index"
    latest.write_bytes(latest.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="refusing it"):
        FaissIndexDataset(str(tmp_path / "chunk_embedding_384.index"), dim=384, version=Version(None, None)).load()
    previous = FaissIndexDataset(str(tmp_path / "chunk_embedding_384.index"), dim=384, version=Version("2026-01-01T00.00.00.000Z", None))
    assert previous.load().index.ntotal == len(small_embeddings.chunk_ids)
    with pytest.raises(DatasetError, match="index dimension 384 differs from the encoder's 768"):
        FaissIndexDataset(str(tmp_path / "chunk_embedding_384.index"), dim=768, version=Version("2026-01-01T00.00.00.000Z", None)).load()
