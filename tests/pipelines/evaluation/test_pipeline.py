"""evaluation on the small real corpus: per-query results, slices, robustness, failures, and a
gate that stops the run when a floor is above what was measured."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from neura_scholar.indexing import build_index
from neura_scholar.pipelines.evaluation import create_pipeline
from neura_scholar.pipelines.evaluation.nodes import GateError
from tests.pipelines.data_prep.runs import KeptMemoryDataset

OUTPUTS = ["per_query_results", "retrieval_metrics", "slice_metrics", "robustness_report", "failure_report", "gate_report"]


def _run(outputs: dict[str, Any], embeddings: Any, models: dict[str, bytes], params: dict[str, Any], gate: dict[str, Any]) -> DataCatalog:
    identity = f"onnx:int8 sha256:{hashlib.sha256(models['int8']).hexdigest()[:16]}"
    index = build_index(embeddings.vectors, embeddings.chunk_ids, "Flat", {}, 1, 0, identity)
    catalog = DataCatalog(
        {
            **{name: MemoryDataset(outputs[name]) for name in ("heldout", "slices", "perturbations", "failures")},
            "chunk_index": MemoryDataset(index, copy_mode="assign"),
            **{f"encoder_{n}": MemoryDataset(m) for n, m in models.items()},
            "registry_encoder": MemoryDataset(None),
            "params:embedding.encoder": MemoryDataset(params["embedding"]["encoder"]),
            "params:encoder_runtime": MemoryDataset(params["encoder_runtime"]),
            "params:evaluation.retrieval": MemoryDataset({**params["evaluation"]["retrieval"], "min_slice_cases": 5}),
            "params:evaluation.gate": MemoryDataset(gate),
            **{name: KeptMemoryDataset() for name in OUTPUTS},
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog


def test_evaluation_pipeline(data_prep_outputs: dict[str, Any], small_embeddings: Any, exported_models: dict[str, bytes], project_parameters: dict[str, Any]) -> None:
    gate = {**copy.deepcopy(project_parameters["evaluation"]["gate"]), "min_queries": 10}
    catalog = _run(data_prep_outputs, small_embeddings, exported_models, project_parameters, gate)
    heldout = data_prep_outputs["heldout"]
    per_query = catalog.load("per_query_results")
    assert sorted(per_query["case_id"]) == sorted(heldout["case_id"])
    metrics = catalog.load("retrieval_metrics")
    assert metrics["maxp.recall@10"]["queries"] == len(heldout)
    assert metrics["chunk.recall@10"]["queries"] == (heldout["kind"] == "keywords").sum()
    # One relevant paper per case: MRR equals MAP, and recall_cap equals recall.
    assert metrics["maxp.mrr@10"]["mean"] == pytest.approx(metrics["maxp.map@10"]["mean"])
    assert metrics["maxp.recall_cap@10"]["mean"] == pytest.approx(metrics["maxp.recall@10"]["mean"])
    assert metrics["raw.recall@10"]["mean"] <= metrics["maxp.recall@10"]["mean"] + 1e-12
    slices = catalog.load("slice_metrics")
    kinds = slices[slices["slice"] == "kind"].set_index("value")
    assert kinds["cases"].to_dict() == heldout["kind"].value_counts().to_dict()
    assert set(catalog.load("robustness_report")) <= {"typo", "case", "word_drop", "word_shuffle", "truncation", "latex_strip", "latex_add"}
    failures = catalog.load("failure_report")
    assert failures["out_of_domain"]["calibrated_threshold"] > 0
    assert catalog.load("gate_report")["passed"] is True


def test_a_floor_above_the_measured_value_stops_the_run(data_prep_outputs: dict[str, Any], small_embeddings: Any, exported_models: dict[str, bytes], project_parameters: dict[str, Any]) -> None:
    gate = {"floors": {"maxp.recall@10": 1.01}, "min_queries": 10}
    with pytest.raises(GateError, match="maxp.recall@10 .* below floor by"):
        _run(data_prep_outputs, small_embeddings, exported_models, project_parameters, gate)
