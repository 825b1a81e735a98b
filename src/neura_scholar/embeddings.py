"""Chunk embeddings: the matrix, whose rows belong to which chunks, and resumable production.

Embedding runs shard by shard. Each finished shard is written atomically with a manifest into a
directory keyed by what determines it (encoder identity, the chunk ids, the shard size), so an
interrupted run continues from the shards already done and a run with another encoder or other
chunks never reuses them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from neura_scholar.artifacts import ManifestError, read_verified, write_with_manifest


@dataclass(frozen=True)
class ChunkEmbeddings:
    """``vectors[i]`` (float32, L2-normalised) is the embedding of chunk ``chunk_ids[i]``."""

    vectors: np.ndarray  # float32 [n, dim]
    chunk_ids: np.ndarray  # unicode [n]
    encoder: str  # the encoder's identity, e.g. "onnx:int8 sha256:1a2b..."

    def __post_init__(self) -> None:
        if self.vectors.dtype != np.float32 or self.vectors.ndim != 2:
            raise ValueError(f"vectors must be float32 [n, dim], got {self.vectors.dtype} {self.vectors.shape}")
        if len(self.chunk_ids) != len(self.vectors):
            raise ValueError(f"{len(self.vectors)} vectors but {len(self.chunk_ids)} chunk ids")
        if len(set(self.chunk_ids.tolist())) != len(self.chunk_ids):
            raise ValueError("chunk ids must be unique")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def in_chunk_id_order(self) -> ChunkEmbeddings:
        order = np.argsort(self.chunk_ids, kind="stable")
        return ChunkEmbeddings(self.vectors[order], self.chunk_ids[order], self.encoder)


def array_bytes(**arrays: np.ndarray) -> bytes:
    """An ``.npz`` of plain arrays (object arrays refused, so loading never needs pickle)."""
    for name, array in arrays.items():
        if array.dtype == object:
            raise ValueError(f"array {name!r} has dtype object; store strings as a unicode array")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def load_arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


class ShardStore:
    """Finished shards of one embedding job under ``root/<job key>/shard_<i>.npy``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def job_key(encoder: str, chunk_ids: Sequence[str], shard_size: int) -> str:
        digest = hashlib.sha256(f"{encoder}\n{shard_size}\n".encode())
        for chunk_id in chunk_ids:
            digest.update(chunk_id.encode() + b"\n")
        return digest.hexdigest()[:20]

    def _path(self, job: str, shard: int) -> Path:
        return self.root / job / f"shard_{shard:06d}.npy"

    def load(self, job: str, shard: int, rows: int, dim: int) -> np.ndarray | None:
        """A finished shard, or None when it is missing or fails its manifest (then redone)."""
        path = self._path(job, shard)
        if not path.exists():
            return None
        try:
            data, _ = read_verified(path)
        except ManifestError:
            return None
        array = np.load(io.BytesIO(data), allow_pickle=False)
        return array if array.shape == (rows, dim) and array.dtype == np.float32 else None

    def save(self, job: str, shard: int, vectors: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, vectors, allow_pickle=False)
        write_with_manifest(self._path(job, shard), buffer.getvalue(), rows=len(vectors))

    def done(self, job: str) -> int:
        return len(list((self.root / job).glob("shard_*.npy.manifest.json")))


def plan_shards(chunk_ids: Sequence[str], encoder: str, shard_size: int) -> tuple[str, list[tuple[int, int, int]]]:
    """The job key and ``(shard, start, stop)`` row ranges for embedding ``chunk_ids`` (in the
    order given: a chunk file's row order) in shards of ``shard_size``."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    unique, counts = np.unique(np.asarray(chunk_ids, dtype=str), return_counts=True)
    if len(unique) and counts.max() > 1:
        raise ValueError(f"chunk id {str(unique[counts.argmax()])!r} occurs more than once; every chunk needs its own id")
    n = len(chunk_ids)
    bounds = [(shard, start, min(start + shard_size, n)) for shard, start in enumerate(range(0, n, shard_size))]
    return ShardStore.job_key(encoder, chunk_ids, shard_size), bounds


def embed_in_shards(
    texts: Sequence[str],
    chunk_ids: Sequence[str],
    encode: Callable[[Sequence[str]], np.ndarray],
    encoder: str,
    dim: int,
    store: ShardStore,
    shard_size: int,
) -> ChunkEmbeddings:
    """Embed ``texts`` shard by shard, reusing shards a previous run finished.

    Args:
        encode: texts -> float32 [n, dim] L2-normalised vectors.
        encoder: the encoder's identity; part of the key that decides which shards are reused.
    """
    if len(texts) != len(chunk_ids):
        raise ValueError(f"{len(texts)} texts but {len(chunk_ids)} chunk ids")
    job, bounds = plan_shards(chunk_ids, encoder, shard_size)
    vectors = np.empty((len(texts), dim), dtype=np.float32)
    reused = 0
    with tqdm(total=len(texts), desc="embedding", unit="chunk", unit_scale=True, disable=None) as progress:
        for shard, start, stop in bounds:
            done = store.load(job, shard, stop - start, dim)
            if done is None:
                done = encode(texts[start:stop])
                store.save(job, shard, done)
            else:
                reused += 1
            vectors[start:stop] = done
            progress.update(stop - start)
    progress.set_postfix(reused_shards=reused)
    return ChunkEmbeddings(vectors, np.asarray(chunk_ids, dtype=str), encoder)
