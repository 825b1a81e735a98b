"""Resumable embedding: interrupted runs continue from finished shards; artifacts verified."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from neura_scholar.datasets import EmbeddingsDataset, NpzDataset
from neura_scholar.embeddings import ChunkEmbeddings, ShardStore, embed_in_shards

TEXTS = [f"text {i}" for i in range(10)]
IDS = [f"p{i}#0" for i in range(10)]


class CountingEncoder:
    """A hand-computable encoder: text i -> the unit vector along axis i % 4; counts its calls
    and can be told to fail on a given call, like a worker killed mid-run."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("worker killed")
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, int(text.split()[1]) % 4] = 1.0
        return out


def test_an_interrupted_run_resumes_from_the_finished_shards(tmp_path: Path) -> None:
    store = ShardStore(tmp_path)
    failing = CountingEncoder(fail_on_call=3)
    with pytest.raises(RuntimeError, match="worker killed"):
        embed_in_shards(TEXTS, IDS, failing, "enc-a", 4, store, shard_size=3)
    job = ShardStore.job_key("enc-a", IDS, 3)
    assert store.done(job) == 2  # shards 0 and 1 finished before the third call died
    resumed = CountingEncoder()
    result = embed_in_shards(TEXTS, IDS, resumed, "enc-a", 4, store, shard_size=3)
    assert resumed.calls == 2  # only shards 2 (texts 6-8) and 3 (text 9)
    expected = embed_in_shards(TEXTS, IDS, CountingEncoder(), "enc-a", 4, ShardStore(tmp_path / "fresh"), 3)
    np.testing.assert_array_equal(result.vectors, expected.vectors)
    assert result.chunk_ids.tolist() == IDS and len(set(result.chunk_ids.tolist())) == 10


def test_a_corrupt_shard_is_redone_and_another_encoder_starts_afresh(tmp_path: Path) -> None:
    store = ShardStore(tmp_path)
    embed_in_shards(TEXTS, IDS, CountingEncoder(), "enc-a", 4, store, shard_size=5)
    shard = tmp_path / ShardStore.job_key("enc-a", IDS, 5) / "shard_000000.npy"
    shard.write_bytes(shard.read_bytes()[:-4])
    again = CountingEncoder()
    embed_in_shards(TEXTS, IDS, again, "enc-a", 4, store, shard_size=5)
    assert again.calls == 1
    other = CountingEncoder()
    embed_in_shards(TEXTS, IDS, other, "enc-b", 4, store, shard_size=5)
    assert other.calls == 2


def test_embeddings_are_checked() -> None:
    with pytest.raises(ValueError, match="chunk ids must be unique"):
        ChunkEmbeddings(np.zeros((2, 3), np.float32), np.array(["a#0", "a#0"]), "e")
    with pytest.raises(ValueError, match="must be float32"):
        ChunkEmbeddings(np.zeros((2, 3)), np.array(["a#0", "a#1"]), "e")


def test_embeddings_dataset_round_trip_and_refusal(tmp_path: Path, small_embeddings: ChunkEmbeddings) -> None:
    dataset = EmbeddingsDataset(filepath=str(tmp_path / "chunk_embeddings.npz"))
    dataset.save(small_embeddings)
    loaded = dataset.load()
    np.testing.assert_array_equal(loaded.vectors, small_embeddings.vectors)
    assert loaded.chunk_ids.tolist() == small_embeddings.chunk_ids.tolist() and loaded.encoder == "onnx:int8 test"
    path = tmp_path / "chunk_embeddings.npz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="refusing it"):
        dataset.load()


def test_npz_never_holds_object_arrays(tmp_path: Path) -> None:
    dataset = NpzDataset(filepath=str(tmp_path / "drift_reference.npz"))
    with pytest.raises(DatasetError, match="dtype object"):
        dataset.save({"ids": np.array(["a", None], dtype=object)})
    dataset.save({"ids": np.array(["a", "b"]), "vectors": np.eye(2, dtype=np.float32), "encoder": np.array("e")})
    loaded = np.load(tmp_path / "drift_reference.npz", allow_pickle=False)
    assert loaded["ids"].tolist() == ["a", "b"] and str(loaded["encoder"]) == "e"
