"""Embedding on Ray Data: the shards a run still lacks, each read from the chunk Parquet file
on a worker and embedded by a pool of actors that each load the ONNX model once, on a local Ray
instance or any cluster by address. Also the Ray runner for IVF index shards
(:func:`add_shards_on_ray`).

Only the ``ray`` backend imports this module (and Ray); the local path never does. Shards are
the same as the local path's (:class:`~neura_scholar.embeddings.ShardStore`, ranges of rows of
the chunk file keyed by encoder identity, chunk ids and shard size), so the two backends resume
each other's work. The driver reads only the ``chunk_id`` column (to plan the shards); the
texts go from the file to the actors without passing through it, so the chunk file must be at
a path every node can read (one machine, or a shared filesystem). Each shard's vectors come
back and the driver writes the shard atomically with its manifest as it arrives: a worker
killed mid-shard leaves nothing behind (Ray restarts the actor and redoes the shard), and a run
that fails keeps every shard finished before the failure, so the rerun embeds only the missing
ones.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray

from neura_scholar.datasets.table_dataset import TableFile
from neura_scholar.embeddings import ChunkEmbeddings, ShardStore, plan_shards
from neura_scholar.encoder_selection import EmbeddingParams, onnx_identity, onnx_model
from neura_scholar.encoders import BatchLimits, OnnxEncoder, OnnxRuntimeSettings
from neura_scholar.sharded_index import ShardRunner, add_shard

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnnxEncoderSpec:
    """What an actor needs to build the encoder itself: picklable, the model as bytes."""

    model: bytes
    tokenizer_checkpoint: str
    name: str
    runtime: dict[str, Any]
    max_batch_size: int
    max_batch_tokens: int

    def build(self, threads: int) -> Callable[[Sequence[str]], np.ndarray]:
        runtime = dict(self.runtime)
        if not runtime.get("intra_op_threads"):
            runtime["intra_op_threads"] = threads  # one actor per core it was given, no oversubscription
        encoder = OnnxEncoder(self.model, self.tokenizer_checkpoint, self.name, OnnxRuntimeSettings(**runtime),
                              BatchLimits(self.max_batch_size, self.max_batch_tokens))  # fmt: skip
        return lambda texts: encoder.encode(texts).vectors


class _ShardEncoder:
    """A Ray Data actor: the encoder is built once; for each shard (a range of rows of the chunk
    file) it reads the rows from the file itself and embeds them as one call, as the local
    path embeds a shard (same batches, so INT8's dynamic quantisation ranges and the vectors
    agree)."""

    def __init__(self, make_encoder: Callable[[], Callable[[Sequence[str]], np.ndarray]], table: TableFile) -> None:
        self._encode, self._table = make_encoder(), table

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        shards, ids, vectors = [], [], []
        for shard, start, stop in zip(batch["shard"], batch["start"], batch["stop"], strict=True):
            rows = self._table.read_rows(int(start), int(stop), ["chunk_id", "text"])
            shards.append(int(shard))
            ids.append(rows["chunk_id"].to_numpy(dtype=str))
            vectors.append(np.asarray(self._encode(rows["text"].tolist()), dtype=np.float32))
        return {"shard": np.asarray(shards), "chunk_ids": ids, "vectors": vectors}


@dataclass(frozen=True)
class RayResources:
    """Where and with how much: ``address`` None starts a local instance (``num_cpus`` cores)."""

    address: str | None = None
    actors: int = 2
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    num_cpus: int | None = None


def connect(resources: RayResources) -> None:
    """Join the cluster at ``address`` (or start a local instance) unless already connected."""
    if not ray.is_initialized():
        ray.init(address=resources.address, num_cpus=resources.num_cpus if resources.address is None else None,
                 include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)  # fmt: skip


def embed_with_ray(
    table: TableFile,
    make_encoder: Callable[[], Callable[[Sequence[str]], np.ndarray]],
    encoder: str,
    dim: int,
    store: ShardStore,
    shard_size: int,
    resources: RayResources,
) -> tuple[ChunkEmbeddings, dict[str, int]]:
    """Every chunk of ``table`` embedded (missing shards on Ray, finished ones from ``store``),
    returned in ``chunk_id`` order, and how many shards were embedded now and how many reused.

    Shards are ranges of rows in file order, as the local path cuts them
    (:func:`~neura_scholar.embeddings.plan_shards`). Only the ``chunk_id`` column is read here; each actor
    reads its shard's rows from the file (a path every node can read) and embeds them, and the
    vectors stream back to be written shard by shard.

    Args:
        make_encoder: called once in each actor; returns texts -> float32 [n, dim].
        encoder: the encoder's identity (part of the shard key).
    """
    ids = table.read(["chunk_id"])["chunk_id"].to_numpy(dtype=str)
    job, bounds = plan_shards(ids.tolist(), encoder, shard_size)
    missing = [b for b in bounds if store.load(job, b[0], b[2] - b[1], dim) is None]
    if missing:
        connect(resources)
        rows = [{"shard": shard, "start": start, "stop": stop} for shard, start, stop in missing]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            _ShardEncoder, fn_constructor_kwargs={"make_encoder": make_encoder, "table": table}, batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=resources.actors), num_cpus=resources.cpus_per_actor,
            num_gpus=resources.gpus_per_actor,
        )  # fmt: skip
        for batch in dataset.iter_batches(batch_size=1, batch_format="numpy"):
            shard, vectors = int(batch["shard"][0]), np.asarray(batch["vectors"][0], dtype=np.float32)
            _, start, stop = bounds[shard]
            if np.asarray(batch["chunk_ids"][0], dtype=str).tolist() != ids[start:stop].tolist():
                raise ValueError(f"shard {shard}: the rows read on the worker are not the ones planned: {table.path} changed during the run")
            if vectors.shape != (stop - start, dim):
                raise ValueError(f"shard {shard}: the encoder returned {vectors.shape}, expected {(stop - start, dim)}")
            store.save(job, shard, vectors)
    vectors = np.empty((len(ids), dim), dtype=np.float32)
    for shard, start, stop in bounds:
        done = store.load(job, shard, stop - start, dim)
        if done is None:
            raise RuntimeError(f"shard {shard} of job {job} is missing after the Ray run")
        vectors[start:stop] = done
    logger.info("ray: %d of %d shards embedded now, %d reused", len(missing), len(bounds), len(bounds) - len(missing))
    report = {"shards": len(bounds), "embedded": len(missing), "reused": len(bounds) - len(missing)}
    return ChunkEmbeddings(vectors, ids, encoder).in_chunk_id_order(), report


def embed_on_ray(
    table: TableFile, models: dict[str, bytes], registry_model: dict[str, Any] | None, config: EmbeddingParams,
    runtime: dict[str, Any], store: ShardStore,
) -> ChunkEmbeddings:  # fmt: skip
    """The embedding pipeline's ``ray`` backend: the encoder the local path would choose (same
    identity, so the same shards), built in each actor."""
    if config.service_url:
        raise ValueError("embedding.encoder.backend ray runs the ONNX model in its actors; unset service_url")
    model, source = onnx_model(models, registry_model, config)
    spec = OnnxEncoderSpec(model, config.tokenizer_checkpoint, source, runtime, config.max_batch_size, config.max_batch_tokens)
    dim = int(spec.build(1)(["dimension probe"]).shape[1])  # checks the model here before any worker starts
    make_encoder = functools.partial(spec.build, max(1, int(config.ray.cpus_per_actor)))
    resources = RayResources(**config.ray.model_dump())
    embeddings, _ = embed_with_ray(table, make_encoder, onnx_identity(source, model), dim, store, config.shard_size, resources)
    return embeddings


def add_shards_on_ray(resources: RayResources) -> ShardRunner:
    """A shard runner for :func:`~neura_scholar.sharded_index.build_ivf_on_disk`: each shard
    added to a copy of the trained index in a Ray task (retried if its worker dies), handed back
    as it finishes, at most ``2 x actors`` in flight."""

    def run(trained: bytes, shards: list[tuple[int, int, int]], vectors: np.ndarray) -> Iterator[tuple[int, bytes]]:
        if not shards:
            return
        connect(resources)
        task = ray.remote(num_cpus=resources.cpus_per_actor, max_retries=3)(add_shard)
        trained_ref, todo = ray.put(trained), list(shards)
        running: dict[Any, int] = {}
        while todo or running:
            while todo and len(running) < 2 * resources.actors:
                shard, start, stop = todo.pop(0)
                running[task.remote(trained_ref, vectors[start:stop], start)] = shard
            (done,), _ = ray.wait(list(running), num_returns=1)
            yield running.pop(done), ray.get(done)

    return run
