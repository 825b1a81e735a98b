"""``FaissIndexDataset``: a FAISS index and its position -> chunk_id map, refused if corrupt.

Files: the index (``chunk_embedding_384.index``, FAISS's own serialisation), the id map beside
it (``chunk_embedding_384.ids.jsonl``, one ``{"position", "chunk_id"}`` a line, as the seed
system wrote it), and the manifest, written last: sha256 and size of the index, sha256 of the
id map, ``ntotal``, ``dim``, factory string, search knobs and encoder. Loading checks all of
them before FAISS reads a byte (FAISS itself accepts many bit flips), and checks that ``ntotal``
equals the id map's length and ``dim`` the configured dimension.

An IVF index merged on disk (:mod:`neura_scholar.sharded_index`) keeps its inverted lists in a
``.ivfdata`` file beside the index (copied there atomically on save); the manifest then also
records its sha256 and size, and loading verifies it and memory-maps it (never read into RAM).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import faiss
import numpy as np
from kedro.io import Version

from neura_scholar.artifacts import file_sha256
from neura_scholar.datasets.manifest import (
    ManifestDataset,
    ManifestError,
    read_verified,
    write_atomic,
    write_with_manifest,
)
from neura_scholar.indexing import (
    ChunkIndex,
    apply_search_params,
    deserialise_index,
    serialise_index,
)
from neura_scholar.sharded_index import on_disk_lists


def _place_ivfdata(lists: faiss.OnDiskInvertedLists, target: Path) -> dict[str, Any]:
    """Copy the on-disk lists' file to ``target`` (atomically) and point the lists at it."""
    source = Path(lists.filename)
    if source.resolve() != target.resolve():
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        lists.filename = str(target)
    return {"ivfdata": target.name, "ivfdata_sha256": file_sha256(target), "ivfdata_size": target.stat().st_size}


def ids_path(index_path: str | PurePosixPath) -> Path:
    path = Path(str(index_path))
    return path.with_name(path.name.removesuffix(".index") + ".ids.jsonl")


class FaissIndexDataset(ManifestDataset[ChunkIndex]):
    """Versioned FAISS chunk index.

    Args:
        dim: the encoder's dimension; an index of another dimension is refused on load.
        blas_threshold: FAISS's ``distance_compute_blas_threshold`` (process-wide) set on
            load; batches at least this large use BLAS for exhaustive search.
    """

    def __init__(
        self, filepath: str, dim: int, version: Version | None = None, blas_threshold: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=filepath, version=version, metadata=metadata)
        self._dim = dim
        self._blas_threshold = blas_threshold

    def save(self, data: ChunkIndex) -> None:
        if data.dim != self._dim:
            raise ManifestError(f"index dimension {data.dim} differs from the configured {self._dim}")
        path = self._get_save_path()
        id_lines = "".join(json.dumps({"position": i, "chunk_id": c}) + "\n" for i, c in enumerate(data.chunk_ids.tolist()))
        id_bytes = id_lines.encode()
        write_atomic(ids_path(path), id_bytes)
        lists = on_disk_lists(data.index)
        on_disk = _place_ivfdata(lists, Path(str(path)).with_suffix(".ivfdata")) if lists is not None else {}
        write_with_manifest(
            path, serialise_index(data.index), ntotal=int(data.index.ntotal), dim=data.dim,
            ids_sha256=hashlib.sha256(id_bytes).hexdigest(), factory=data.factory,
            search_params=data.search_params, encoder=data.encoder, blas_threshold=self._blas_threshold,
            **on_disk,
        )  # fmt: skip
        self._invalidate_cache()

    def load(self) -> ChunkIndex:
        path = self._get_load_path()
        payload, manifest = read_verified(path)
        try:
            id_bytes = ids_path(path).read_bytes()
        except FileNotFoundError as exc:
            raise ManifestError(f"{path}: its id map {ids_path(path).name} is missing") from exc
        if hashlib.sha256(id_bytes).hexdigest() != manifest["ids_sha256"]:
            raise ManifestError(f"{ids_path(path)} differs from the manifest's sha256: corrupt id map; refusing it")
        rows = [json.loads(line) for line in id_bytes.decode().splitlines()]
        if [row["position"] for row in rows] != list(range(len(rows))):
            raise ManifestError(f"{ids_path(path)}: positions are not 0..{len(rows) - 1} in order")
        if manifest["dim"] != self._dim:
            raise ManifestError(f"{path}: index dimension {manifest['dim']} differs from the encoder's {self._dim}")
        index = self._read_index(Path(str(path)), payload, manifest)
        if index.ntotal != manifest["ntotal"] or index.ntotal != len(rows) or index.d != manifest["dim"]:
            raise ManifestError(
                f"{path}: index holds {index.ntotal} vectors of dim {index.d}; manifest says "
                f"{manifest['ntotal']} of dim {manifest['dim']}, id map {len(rows)} ids"
            )
        apply_search_params(index, manifest["search_params"])
        if manifest.get("blas_threshold") is not None:
            faiss.cvar.distance_compute_blas_threshold = int(manifest["blas_threshold"])
        chunk_ids = np.asarray([row["chunk_id"] for row in rows], dtype=str)
        return ChunkIndex(index, chunk_ids, manifest["factory"], manifest["search_params"], manifest["encoder"])

    @staticmethod
    def _read_index(path: Path, payload: bytes, manifest: dict[str, Any]) -> faiss.Index:
        if "ivfdata" not in manifest:
            return deserialise_index(payload)
        ivfdata = path.with_name(manifest["ivfdata"])
        if not ivfdata.is_file():
            raise ManifestError(f"{path}: its inverted lists {ivfdata.name} are missing")
        if ivfdata.stat().st_size != manifest["ivfdata_size"] or file_sha256(ivfdata) != manifest["ivfdata_sha256"]:
            raise ManifestError(f"{ivfdata} differs from the manifest's size or sha256: corrupt inverted lists; refusing it")
        # The lists file is found beside the index, wherever the directory has moved; mmap'd.
        return faiss.read_index(str(path), faiss.IO_FLAG_ONDISK_SAME_DIR)

    def _serialise(self, data: ChunkIndex) -> bytes:
        return serialise_index(data.index)

    def _deserialise(self, data: bytes) -> ChunkIndex:
        raise NotImplementedError("FaissIndexDataset.load reads the index with its id map")

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "dim": self._dim}
