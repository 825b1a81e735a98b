"""evaluation on the small real corpus with the real encoders: per-query results, slices,
robustness, failures, the comparison with other encoders and its significance, drift, an
external BEIR set, the reports, and a gate that fails closed and stops the run with a table."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from neura_scholar.datasets import AppendJsonLinesDataset, ProvenanceDataset
from neura_scholar.embeddings import ChunkEmbeddings
from neura_scholar.gate import GateError
from neura_scholar.indexing import build_index
from neura_scholar.pipelines.embedding.nodes import build_drift_reference
from neura_scholar.pipelines.evaluation import create_pipeline
from tests.pipelines.data_prep.runs import KeptMemoryDataset
from tests.test_beir import write_set

OUTPUTS = ["per_query_results", "retrieval_metrics", "slice_metrics", "robustness_report", "failure_report",
           "comparison_report", "comparison_per_query", "drift_report", "external_metrics", "external_per_query",
           "gate_report", "metrics_at_k_plot", "slices_plot", "robustness_plot", "drift_plot",
           "evaluation_summary", "evaluation_metrics"]  # fmt: skip
UNSET_PRODUCTION = {
    "production": {
        "uri": "models:/enc@production",
        "error": "'models:/enc@production' names no model version",
    }
}


@pytest.fixture(scope="module")
def candidate_embeddings(
    small_embeddings: Any, exported_models: dict[str, bytes]
) -> ChunkEmbeddings:
    """The small corpus's INT8 embeddings, under the identity the pipeline gives that encoder."""
    identity = f"onnx:int8 sha256:{hashlib.sha256(exported_models['int8']).hexdigest()[:16]}"
    return ChunkEmbeddings(small_embeddings.vectors, small_embeddings.chunk_ids, identity)


@pytest.fixture(scope="module")
def drift_reference(data_prep_outputs: dict[str, Any], candidate_embeddings: ChunkEmbeddings,
                    exported_models: dict[str, bytes], project_parameters: dict[str, Any]) -> dict[str, np.ndarray]:  # fmt: skip
    embedding = project_parameters["embedding"]
    return build_drift_reference(
        data_prep_outputs["paper_chunks"], data_prep_outputs["heldout"], candidate_embeddings, *exported_models.values(),
        None, {"chunks": 150, "queries": 50, "seed": 1}, embedding["encoder"], project_parameters["encoder_runtime"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def external_set(
    data_prep_outputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A BEIR set from 40 of the papers: titles as queries, abstracts as documents; the own
    paper is grade 2, one paper of the same primary category grade 1; one query excludes its own."""
    papers = data_prep_outputs["papers"].sort_values("paper_id").iloc[:40]
    corpus = [{"_id": p.paper_id, "title": "", "text": p.abstract} for p in papers.itertuples()]
    queries = [{"_id": f"t-{p.paper_id}", "text": p.title} for p in papers.itertuples()]
    queries[0]["metadata"] = {"exclude": [papers.iloc[0]["paper_id"]]}
    qrels = [(f"t-{p.paper_id}", p.paper_id, 2) for p in papers.itertuples()]
    for _, group in papers.groupby("primary_category"):
        ids = group["paper_id"].tolist()
        qrels += [(f"t-{a}", b, 1) for a, b in zip(ids, ids[1:], strict=False)]
    return write_set(tmp_path_factory.mktemp("beir") / "arxiv-titles", corpus, queries, qrels)


def _run(
    inputs: dict[str, Any], params: dict[str, Any], tmp_path: Path, *, comparison: dict[str, Any] | None = None,
    gate: dict[str, Any] | None = None, baseline_file: pd.DataFrame | None = None, pinned: dict[str, np.ndarray] | None = None,
) -> tuple[DataCatalog, dict[str, Any]]:  # fmt: skip
    from neura_scholar.beir import read_beir_set

    evaluation = copy.deepcopy(params["evaluation"])
    evaluation["retrieval"]["min_slice_cases"] = 5
    evaluation["gate"]["min_queries"] = 10
    evaluation["gate"].update(gate or {})
    evaluation["comparison"].update(comparison or {})
    evaluation["drift"]["permutations"] = 200
    outputs = {name: KeptMemoryDataset() for name in OUTPUTS}
    catalog = DataCatalog(
        {
            **{name: MemoryDataset(value, copy_mode="assign") for name, value in inputs.items()},
            "baseline_results": MemoryDataset(baseline_file),
            "pinned_drift_reference": MemoryDataset(pinned, copy_mode="assign"),
            "external_sets": MemoryDataset(
                {"arxiv-titles": read_beir_set(params["_external"])}, copy_mode="assign"
            ),
            "provenance": ProvenanceDataset(str(Path(__file__).resolve().parents[3])),
            "model_comparison": AppendJsonLinesDataset(
                filepath=str(tmp_path / "model_comparison.jsonl")
            ),
            **{
                f"params:evaluation.{key}": MemoryDataset(value)
                for key, value in evaluation.items()
            },
            "params:embedding.encoder": MemoryDataset(params["embedding"]["encoder"]),
            "params:encoder_runtime": MemoryDataset(params["encoder_runtime"]),
            "params:data_prep.chunking": MemoryDataset(params["data_prep"]["chunking"]),
            **outputs,
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog, {name: dataset.load() for name, dataset in outputs.items() if dataset.exists()}


@pytest.fixture(scope="module")
def inputs(data_prep_outputs: dict[str, Any], candidate_embeddings: ChunkEmbeddings, exported_models: dict[str, bytes],
           torch_encoder: Any, drift_reference: dict[str, np.ndarray], tokenizer: Any) -> dict[str, Any]:  # fmt: skip
    index = build_index(
        candidate_embeddings.vectors,
        candidate_embeddings.chunk_ids,
        "Flat",
        {},
        1,
        0,
        candidate_embeddings.encoder,
    )
    return {
        **{name: data_prep_outputs[name] for name in ("heldout", "slices", "perturbations", "failures")},
        "paper_chunks@pandas": data_prep_outputs["paper_chunks"],
        "chunk_embeddings": candidate_embeddings, "chunk_index": index,
        **{f"encoder_{n}": m for n, m in exported_models.items()},
        "registry_encoder": None, "reference_encoder": torch_encoder, "comparison_registry_models": UNSET_PRODUCTION,
        "drift_reference": drift_reference, "encoder_tokenizer": tokenizer,
        "export_report": {"variants": {"int8": {"size_mb": 21.8, "speed": {"latency_ms_median": 4.0}}}, "reference": {"speed": {"latency_ms_median": 9.0}}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def default_run(
    inputs: dict[str, Any],
    project_parameters: dict[str, Any],
    external_set: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DataCatalog, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("default_run")
    catalog, written = _run(inputs, {**project_parameters, "_external": external_set}, tmp)
    return catalog, written, tmp


def test_the_candidate_is_scored_per_query_and_per_slice(
    default_run: Any, data_prep_outputs: dict[str, Any]
) -> None:
    _, written, _ = default_run
    heldout = data_prep_outputs["heldout"]
    per_query = written["per_query_results"]
    assert sorted(per_query["case_id"]) == sorted(heldout["case_id"])
    metrics = written["retrieval_metrics"]
    assert metrics["maxp.recall@10"]["queries"] == len(heldout)
    assert metrics["chunk.recall@10"]["queries"] == (heldout["kind"] == "keywords").sum()
    # One relevant paper per case: MRR equals MAP, and recall_cap equals recall.
    assert metrics["maxp.mrr@10"]["mean"] == pytest.approx(metrics["maxp.map@10"]["mean"])
    assert metrics["maxp.recall_cap@10"]["mean"] == pytest.approx(metrics["maxp.recall@10"]["mean"])
    assert metrics["raw.recall@10"]["mean"] <= metrics["maxp.recall@10"]["mean"] + 1e-12
    kinds = written["slice_metrics"].query("slice == 'kind'").set_index("value")
    assert kinds["cases"].to_dict() == heldout["kind"].value_counts().to_dict()
    assert set(written["robustness_report"]) <= {
        "typo",
        "case",
        "word_drop",
        "word_shuffle",
        "truncation",
        "latex_strip",
        "latex_add",
    }
    assert written["failure_report"]["out_of_domain"]["calibrated_threshold"] > 0


def test_encoders_are_compared_per_query_against_the_baseline(default_run: Any) -> None:
    _, written, _ = default_run
    report = written["comparison_report"]
    assert report["baseline"] == "pytorch" and report["baseline_error"] == ""
    assert sorted(report["encoders"]) == [
        "candidate",
        "onnx_fp32",
        "onnx_int8",
        "production",
        "pytorch",
    ]
    assert report["encoders"]["production"] == {
        "unavailable": UNSET_PRODUCTION["production"]["error"]
    }
    # The INT8 comparison encoder is the candidate on the same exact index: identical scores.
    per_query = written["comparison_per_query"]
    candidate = (
        per_query.query("encoder == 'candidate'").set_index("case_id").drop(columns="encoder")
    )
    int8 = per_query.query("encoder == 'onnx_int8'").set_index("case_id").drop(columns="encoder")
    pd.testing.assert_frame_equal(candidate, int8.loc[candidate.index])
    vs = report["encoders"]["candidate"]["vs_baseline"]["maxp.recall@10"]
    pytorch = report["encoders"]["pytorch"]["metrics"]["maxp.recall@10"]["mean"]
    assert vs["baseline"] == pytest.approx(pytorch) and vs["difference"] == pytest.approx(
        vs["candidate"] - pytorch
    )
    assert vs["p_randomisation_bonferroni"] == pytest.approx(min(1.0, vs["p_randomisation"] * 4))
    assert "vs_baseline" not in report["encoders"]["pytorch"]  # the baseline itself


def test_drift_is_quiet_for_the_encoder_that_made_the_reference(default_run: Any) -> None:
    _, written, _ = default_run
    drift = written["drift_report"]
    assert drift["reference"]["samples"] == 200 and drift["reference"]["missing_samples"] == 0
    candidate = drift["encoders"]["candidate"]
    assert candidate["same_encoder_as_reference"] is True and candidate["drifted"] is False
    assert candidate["mean_paired_cosine"]["value"] > 0.98
    assert (
        drift["encoders"]["pytorch"]["mean_paired_cosine"]["value"]
        < candidate["mean_paired_cosine"]["value"]
    )
    assert drift["encoders"]["production"]["error"].startswith("unavailable")


def test_an_external_set_is_scored_with_grades_and_exclusions(default_run: Any) -> None:
    _, written, _ = default_run
    entry = written["external_metrics"]["arxiv-titles"]
    assert (entry["documents"], entry["queries"], entry["dropped_queries"]) == (40, 40, 0)
    scores = entry["encoders"]["candidate"]
    assert scores["ndcg@10"]["queries"] == 40
    assert 0.5 < scores["recall@100"]["mean"] <= 1.0 and 0 < scores["ndcg@10"]["mean"] < 1.0
    per_query = written["external_per_query"].set_index("query_id")
    first = sorted(per_query.index)[0]
    assert (
        per_query.loc[first, "mrr@10"] < 1.0
    )  # its own paper (grade 2) is excluded from its results


def test_reports_plots_summary_and_the_comparison_log(default_run: Any) -> None:
    _, written, tmp = default_run
    assert written["gate_report"]["passed"] is True
    assert {c["check"] for c in written["gate_report"]["checks"]} == {
        "floor",
        "slice floor",
        "baseline",
        "drift",
    }
    for plot in ("metrics_at_k_plot", "slices_plot", "robustness_plot", "drift_plot"):
        assert written[plot].startswith(b"\x89PNG\r\n\x1a\n") and len(written[plot]) > 5_000
    summary = written["evaluation_summary"]
    assert summary.startswith("# Evaluation summary\n\n**Gate: PASSED**")
    assert "| candidate |" in summary and "](plots/drift.png)" in summary
    rows = [json.loads(line) for line in (tmp / "model_comparison.jsonl").read_text().splitlines()]
    assert [r["encoder"] for r in rows] == [
        "candidate",
        "pytorch",
        "onnx_fp32",
        "onnx_int8",
        "production",
    ]
    assert len({r["eval_data_hash"] for r in rows}) == 1 and len(rows[0]["git_commit"]) == 40
    assert (
        rows[0]["index"] == {"factory": "Flat", "search_params": {}} and rows[3]["size_mb"] == 21.8
    )
    assert rows[1]["is_baseline"] and rows[1]["speed"] == {"latency_ms_median": 9.0}
    assert rows[4]["unavailable"].endswith("names no model version")
    assert written["evaluation_metrics"]["candidate.maxp.recall_at_10"]["value"] == pytest.approx(
        written["retrieval_metrics"]["maxp.recall@10"]["mean"]
    )


def test_a_significant_drop_against_a_stored_baseline_stops_the_run_after_reporting(
    inputs: dict[str, Any],
    project_parameters: dict[str, Any],
    external_set: Path,
    default_run: Any,
    tmp_path: Path,
) -> None:
    """The stored baseline scored 0.2 more on every query: a drop far past max_drop, significant."""
    per_query = default_run[1]["per_query_results"]
    baseline = per_query.assign(
        **{c: per_query[c] + 0.2 for c in per_query.columns if c != "case_id"}
    )
    with pytest.raises(GateError) as failed:
        _run(inputs, {**project_parameters, "_external": external_set}, tmp_path,
             comparison={"encoders": {"onnx_int8": "onnx:int8"}, "baseline": "file"}, baseline_file=baseline)  # fmt: skip
    table = str(failed.value)
    assert (
        "baseline     maxp.recall@10" in table
        and "drop 0.2000 > 0.0200 and significant (p=0.0004 < 0.05)" in table
    )
    assert "maxp.ndcg@10" in table and "maxp.mrr@10" in table
    rows = [
        json.loads(line) for line in (tmp_path / "model_comparison.jsonl").read_text().splitlines()
    ]
    assert [r["encoder"] for r in rows] == [
        "candidate",
        "onnx_int8",
    ]  # written before the gate stopped the run


def test_a_missing_baseline_or_a_shifted_corpus_fails_closed(
    inputs: dict[str, Any], project_parameters: dict[str, Any], external_set: Path, drift_reference: dict[str, np.ndarray],
    onnx_encoders: dict[str, Any], data_prep_outputs: dict[str, Any], tmp_path: Path,
) -> None:  # fmt: skip
    params = {**project_parameters, "_external": external_set}
    with pytest.raises(
        GateError, match=r"baseline missing: baseline encoder 'production' is unavailable"
    ):
        _run(
            inputs,
            params,
            tmp_path / "a",
            comparison={
                "encoders": {"production": "registry:production"},
                "baseline": "production",
            },
        )
    with pytest.raises(GateError, match=r"baseline missing: no stored baseline file"):
        _run(inputs, params, tmp_path / "b", comparison={"encoders": {}, "baseline": "file"})
    # A reference taken when every chunk read differently (first 12 words only): the same
    # encoder now embeds the full chunks, and drift says the corpus moved.
    texts = (
        data_prep_outputs["paper_chunks"]
        .set_index("chunk_id")
        .loc[drift_reference["chunk_ids"], "text"]
    )
    shifted = {
        **drift_reference,
        "chunk_vectors": onnx_encoders["int8"]
        .encode([" ".join(t.split()[:12]) for t in texts])
        .vectors,
    }
    with pytest.raises(GateError, match=r"drift +mean_paired_cosine .* drifted past 0.98"):
        _run(inputs, params, tmp_path / "c", comparison={"encoders": {}, "baseline": "file"},
             baseline_file=None, pinned=shifted, gate={"max_drop": {}})  # fmt: skip
