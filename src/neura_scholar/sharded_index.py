"""IVF indexes built in shards and merged into one on-disk index (FAISS's ``contrib.ondisk``).

The coarse quantiser (and PQ codebooks) are trained once on a seeded sample, exactly as
:func:`~neura_scholar.indexing.build_index` samples; each shard of vectors is added to a copy of
the trained empty index (in parallel as Ray tasks, or one after another here), with ids = the
vectors' global positions; the shards' inverted lists are then merged into one ``.ivfdata``
file that search reads memory-mapped, so the index never has to fit in RAM. Shard files are
written atomically with a manifest and reused by a rerun. Flat and HNSW indexes have no
inverted lists to shard: they stay single-machine (:func:`build_index`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk

from neura_scholar.artifacts import ManifestError, read_verified, write_with_manifest
from neura_scholar.indexing import (
    ChunkIndex,
    apply_search_params,
    deserialise_index,
    serialise_index,
)

logger = logging.getLogger(__name__)


def check_ivf(factory: str, dim: int) -> None:
    """Raise unless ``factory`` builds an IVF index (the only kind with lists to shard)."""
    try:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"FAISS does not understand index factory {factory!r}: {exc}") from exc
    try:
        faiss.extract_index_ivf(index)
    except RuntimeError as exc:
        raise ValueError(
            f"{factory!r} is not an IVF index: only IVF indexes are built in shards and merged on disk; "
            "Flat and HNSW stay single-machine (indexing.build.on_disk: false)"
        ) from exc


def train_ivf(vectors: np.ndarray, factory: str, train_size: int, seed: int) -> bytes:
    """The trained, empty index (serialised), trained on the seeded sample build_index draws."""
    check_ivf(factory, vectors.shape[1])
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(len(vectors), size=min(train_size, len(vectors)), replace=False))]
    try:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    except RuntimeError as exc:
        raise ValueError(f"training {factory!r} on {len(sample)} vectors failed: {exc}") from exc
    return serialise_index(index)


def add_shard(trained: bytes, vectors: np.ndarray, first: int) -> bytes:
    """A copy of the trained index holding ``vectors`` under ids ``first, first + 1, ...``."""
    index = deserialise_index(trained)
    ids = np.arange(first, first + len(vectors), dtype=np.int64)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return serialise_index(index)


def _shard_path(workdir: Path, shard: int) -> Path:
    return workdir / "shards" / f"shard_{shard:06d}.index"


def _done(path: Path, rows: int) -> bool:
    """Whether a shard file is complete (its manifest verifies and it holds ``rows`` vectors)."""
    if not path.exists():
        return False
    try:
        _, manifest = read_verified(path)
    except ManifestError:
        return False
    return bool(manifest.get("ntotal") == rows)


# (trained index, [(shard, start, stop)], vectors) -> (shard, shard index bytes) as each finishes
ShardRunner = Callable[[bytes, list[tuple[int, int, int]], np.ndarray], Iterator[tuple[int, bytes]]]


def add_shards_locally(trained: bytes, shards: list[tuple[int, int, int]], vectors: np.ndarray) -> Iterator[tuple[int, bytes]]:
    """Each shard in turn: one shard's index in memory at a time."""
    for shard, start, stop in shards:
        yield shard, add_shard(trained, vectors[start:stop], start)


def build_ivf_on_disk(
    vectors: np.ndarray, chunk_ids: np.ndarray, factory: str, search_params: dict[str, Any], train_size: int,
    seed: int, encoder: str, workdir: Path, shard_size: int, add_shards: ShardRunner = add_shards_locally,
) -> ChunkIndex:  # fmt: skip
    """Train once, add each shard to a copy (``add_shards``: here, or as Ray tasks), merge the
    shards into ``workdir/chunk_index.ivfdata``; the index searches it memory-mapped.

    Shard files already complete in ``workdir`` (same training, same rows) are reused, so a
    rerun after a failure adds only the missing shards.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    workdir.mkdir(parents=True, exist_ok=True)
    trained = train_ivf(vectors, factory, train_size, seed)
    trained_path = workdir / "trained.index"
    if trained_path.exists() and read_verified(trained_path)[0] != trained:
        for stale in (workdir / "shards").glob("shard_*"):  # another training: its shards do not fit
            stale.unlink()
    write_with_manifest(trained_path, trained, factory=factory)
    bounds = [(shard, start, min(start + shard_size, len(vectors))) for shard, start in enumerate(range(0, len(vectors), shard_size))]
    missing = [b for b in bounds if not _done(_shard_path(workdir, b[0]), b[2] - b[1])]
    for shard, data in add_shards(trained, missing, vectors):
        _, start, stop = bounds[shard]
        write_with_manifest(_shard_path(workdir, shard), data, ntotal=stop - start, first=start)
    logger.info("IVF shards: %d added now, %d reused", len(missing), len(bounds) - len(missing))
    index = deserialise_index(trained)
    ivfdata = workdir / "chunk_index.ivfdata"
    ivfdata.unlink(missing_ok=True)
    merge_ondisk(index, [str(_shard_path(workdir, s)) for s, _, _ in bounds], str(ivfdata))
    apply_search_params(index, search_params)
    return ChunkIndex(index, np.asarray(chunk_ids, dtype=str), factory, dict(search_params), encoder)


def on_disk_lists(index: faiss.Index) -> Any | None:
    """The index's ``OnDiskInvertedLists``, or None for an index held in memory."""
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return None
    if ivf.invlists is None:
        return None
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    return lists if isinstance(lists, faiss.OnDiskInvertedLists) else None
