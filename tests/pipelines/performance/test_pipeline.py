"""The performance pipeline on a tiny configuration: its wiring and the report's schema, with the
real encoders, FAISS and the real service over HTTP (started by the test, given by URL)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from neura_scholar.datasets import ProvenanceDataset
from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.indexing import build_index
from neura_scholar.pipelines.performance import create_pipeline
from tests.pipelines.data_prep.runs import KeptMemoryDataset
from tests.serving.conftest import serving

TINY = {
    "encoders": {"latency_queries": 4, "latency_repeats": 1, "throughput_texts": 4, "throughput_repeats": 1, "batch_size": 4,
                 "input_tokens": [16, 32, 64], "batch_sizes": [1, 2, 4], "include_sentence_transformers": True},
    "search": {"k": 10, "queries": 120, "repeats": 2, "indexes": [["Flat", {}], ["HNSW32", {"efSearch": 32}]],
               "size_fractions": [0.25, 0.5, 1.0], "query_path_queries": 5, "train_size": 500},
    "service": {"levels": [1, 2, 4], "max_requests": 12, "max_seconds": 3, "repeats": 1, "batch_texts": 2},
}  # fmt: skip
OUTPUTS = ["performance_report", "performance_report_latest", "performance_metrics", "latency_plot", "throughput_plot",
           "search_speed_plot", "service_latency_plot"]  # fmt: skip


def test_the_report_has_every_figure(
    data_prep_outputs: dict[str, Any], small_embeddings: Any, exported_models: dict[str, bytes], torch_encoder: Any,
    run_artifacts: Any, project_parameters: dict[str, Any],
) -> None:  # fmt: skip
    identity = f"onnx:int8 sha256:{hashlib.sha256(exported_models['int8']).hexdigest()[:16]}"
    embeddings = ChunkEmbeddings(small_embeddings.vectors, small_embeddings.chunk_ids, identity)
    index = build_index(embeddings.vectors, embeddings.chunk_ids, "Flat", {}, 1, 0, identity)
    outputs = {name: KeptMemoryDataset() for name in OUTPUTS}
    with serving(run_artifacts) as service:
        catalog = DataCatalog({
            **{f"encoder_{n}": MemoryDataset(m) for n, m in exported_models.items()},
            "reference_encoder": MemoryDataset(torch_encoder, copy_mode="assign"),
            "heldout": MemoryDataset(data_prep_outputs["heldout"]), "paper_chunks@pandas": MemoryDataset(data_prep_outputs["paper_chunks"]),
            "chunk_embeddings": MemoryDataset(embeddings, copy_mode="assign"), "chunk_index": MemoryDataset(index, copy_mode="assign"),
            "provenance": ProvenanceDataset(str(Path(__file__).resolve().parents[3])),
            "params:encoder_runtime": MemoryDataset(project_parameters["encoder_runtime"]),
            "params:performance.encoders": MemoryDataset(TINY["encoders"]),
            "params:performance.search": MemoryDataset(TINY["search"]),
            "params:performance.service": MemoryDataset({**TINY["service"], "url": service.url}),
            **outputs,
        })  # fmt: skip
        SequentialRunner().run(create_pipeline(), catalog)
    report = outputs["performance_report"].load()
    assert report == outputs["performance_report_latest"].load()
    assert set(report) == {"environment", "encoders", "search", "service"}
    assert report["environment"]["cores"] >= 1 and "CPUExecutionProvider" in report["environment"]["providers_available"]
    assert len(report["environment"]["git_commit"]) == 40
    encoders = report["encoders"]
    assert set(encoders["encoders"]) == {"torch", "fp32", "optimised", "int8", "sentence_transformers"}
    assert encoders["peer"] == "sentence_transformers" and encoders["ratios_to_peer"]["sentence_transformers"]["latency_p50"] == 1.0
    int8 = encoders["encoders"]["int8"]
    assert int8["providers"] == ["CPUExecutionProvider"] and int8["latency"]["calls"] == 4
    assert set(int8["throughput"]) == {"16_tokens", "32_tokens", "64_tokens"}
    assert 0 < int8["throughput"]["64_tokens"]["fraction_of_matmul_peak"] < 10
    assert set(encoders["int8_throughput_by_batch_size"]["by_batch_size"]) == {"1", "2", "4"}
    search = report["search"]
    assert search["indexes"]["Flat"]["recall_at_10_vs_exact"] == 1.0
    assert 0.5 < search["indexes"]["HNSW32 {'efSearch': 32}"]["recall_at_10_vs_exact"] <= 1.0
    sizes = [v["vectors"] for v in search["index_size_scaling"].values()]
    assert sizes == sorted(sizes) and sizes[-1] == len(embeddings.vectors) and len(sizes) == 3
    assert set(search["query_path_ms"]) == {"tokenise", "encode", "search", "collapse", "total"}
    service_report = report["service"]
    assert set(service_report["endpoints"]) == {"/embed/text", "/embed/batch", "/search", "/v1/embeddings"}
    assert service_report["infinity"] == {"measured": False, "reason": "performance.service.infinity_venv is not set"}
    for levels in service_report["endpoints"].values():
        assert set(levels) == {"1", "2", "4"}
        assert all(entry["errors"] == 0 and 0 < entry["sent"] <= 12 for entry in levels.values())  # bounded by count
    metrics = outputs["performance_metrics"].load()
    assert metrics["matmul_peak_gflops"]["value"] > 0
    assert metrics["service.embed.text.c1.errors"]["value"] == 0.0
    for plot in OUTPUTS[3:]:
        assert outputs[plot].load().startswith(b"\x89PNG")


def test_the_service_can_be_left_out(data_prep_outputs: dict[str, Any]) -> None:
    from neura_scholar.pipelines.performance.nodes import measure_service

    assert measure_service(data_prep_outputs["heldout"], {**TINY["service"], "enabled": False}) == {"enabled": False}
