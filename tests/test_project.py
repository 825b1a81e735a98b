"""The Kedro project as its users run it: registry, catalog, and `kedro run` tracked in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from kedro.framework.session import KedroSession

from neura_scholar.datasets.manifest import read_verified
from tests.conftest import PROJECT_DIR

DATA_PREP_OUTPUTS = {
    "papers", "paper_sections", "paper_chunks@pandas", "term_document_frequency", "heldout", "slices",
    "perturbations", "failures", "data_prep_summary", "data_prep_metrics",
}  # fmt: skip


def test_registry_and_catalog(project_copy: Path) -> None:
    from kedro.framework.project import pipelines

    assert {"__default__", "data_prep", "evaluation", "performance"} <= set(pipelines)
    from kedro.config import OmegaConfigLoader

    from neura_scholar.settings import CONFIG_LOADER_ARGS

    gpu = OmegaConfigLoader(str(project_copy / "conf"), env="gpu", **CONFIG_LOADER_ARGS)["parameters"]  # type: ignore[arg-type]
    assert gpu["encoder_runtime"]["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert gpu["evaluation"]["gate"]["min_queries"] == 100  # the rest as in base
    default_nodes = {n.name for n in pipelines["__default__"].nodes}
    assert "enforce_gate" in default_nodes and "measure_service" not in default_nodes  # performance runs on its own
    assert set(pipelines["data_prep"].outputs()) | set(pipelines["data_prep"].all_outputs()) >= DATA_PREP_OUTPUTS
    with KedroSession.create(project_path=project_copy) as session:
        catalog = session.load_context().catalog
        assert DATA_PREP_OUTPUTS | {"raw_papers", "raw_fulltext", "encoder_tokenizer"} <= set(catalog.keys())


SMALL_RUN = {
    "data_prep": {"sample": {"size": 150}, "heldout": {"n_papers": 20}, "failures": {"per_type": 4}},
    "model_export": {
        "parity": {"chunks": 32, "queries": 8},
        "speed": {"latency_queries": 3, "latency_repeats": 1, "throughput_texts": 4, "throughput_repeats": 1,
                  "include_sentence_transformers": False},
    },
    "embedding": {"drift_reference": {"chunks": 50, "queries": 10}},
    "evaluation": {"gate": {"min_queries": 10}},  # 60 held-out cases here, 600 in the default run
}  # fmt: skip


def test_the_default_run_then_search_from_the_command_line(project_copy: Path) -> None:
    """`kedro run` (every pipeline) on 150 papers, then `neura-scholar search` on its output."""
    from click.testing import CliRunner

    from neura_scholar.commands import main

    with KedroSession.create(project_path=project_copy, runtime_params=SMALL_RUN) as session:
        session.run()
    for path in ("data/06_models/indexes/chunk_embedding_384.index", "data/04_feature/chunk_embeddings.npz",
                 "data/06_models/encoder_int8.onnx"):  # fmt: skip
        assert len(list((project_copy / path).glob("*/*.manifest.json"))) == 1, path
    assert (project_copy / "data/05_model_input/drift_reference.npz").is_file()
    gate = json.loads((project_copy / "data/08_reporting/gate_report.json").read_text())
    assert gate["passed"] is True and gate["baseline"] == "pytorch"
    assert {c["check"] for c in gate["checks"]} == {"floor", "slice floor", "baseline", "drift"}
    rows = [json.loads(line) for line in (project_copy / "data/08_reporting/model_comparison.jsonl").read_text().splitlines()]
    assert [r["encoder"] for r in rows] == ["candidate", "onnx_fp32", "onnx_int8", "production", "pytorch"]
    assert (project_copy / "data/08_reporting/evaluation_summary.md").read_text().startswith("# Evaluation summary")
    run = mlflow.search_runs(search_all_experiments=True, output_format="list")[0]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/model_comparison.jsonl", "evaluation/evaluation_summary.md", "evaluation/plots"} <= artifacts
    assert run.data.metrics["evaluation.gate.passed"] == 1.0
    while mlflow.active_run():
        mlflow.end_run()

    # The CI wrapper: a floor above the measured value fails with the table and exit code 1.
    failing = CliRunner().invoke(main, ["gate", "--project-dir", str(project_copy), "--params", "evaluation.gate.min_queries=10",
                                        "--params", "evaluation.gate.floors={maxp.recall@10: 1.01}"])  # fmt: skip
    assert failing.exit_code == 1, failing.output
    assert "quality gate failed" in failing.output and "maxp.recall@10" in failing.output and "below floor by" in failing.output

    _the_service_serves_the_last_run(project_copy)
    _the_performance_pipeline_and_both_notebooks_run(project_copy)

    papers = pd.read_parquet(project_copy / "data/03_primary/papers.parquet")
    title, paper_id = papers["title"].iloc[0], papers["paper_id"].iloc[0]
    result = CliRunner().invoke(main, ["search", title, "--k", "3", "--project-dir", str(project_copy)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(lines) == 3
    assert f"arXiv:{paper_id} " in result.output  # a paper's own title finds it among the top 3


def test_kedro_run_data_prep_is_an_mlflow_run(project_copy: Path) -> None:
    runtime = {"data_prep": {"sample": {"size": 150}, "heldout": {"n_papers": 20}, "failures": {"per_type": 4}}}
    with KedroSession.create(project_path=project_copy, runtime_params=runtime) as session:
        session.run(pipeline_names=["data_prep"])

    chunks, manifest = read_verified(project_copy / "data/03_primary/paper_chunks.parquet")
    heldout = pd.read_json(project_copy / "data/05_model_input/heldout.jsonl", lines=True)
    assert manifest["rows"] > 150 and len(heldout) > 0

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["neura_scholar"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["data_prep.sample.size"] == "150"
    assert run.data.params["data_prep.chunking.max_tokens"] == "128"
    assert run.data.metrics["data_prep.papers"] == 150.0
    assert run.data.metrics["data_prep.cases_heldout"] == float(len(heldout))
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "eval_sets")}
    assert artifacts == {f"eval_sets/{name}.jsonl" for name in ("heldout", "slices", "perturbations", "failures")}


def test_the_gate_command_says_when_it_could_not_judge(project_copy: Path) -> None:
    """Nothing has run in this project: the evaluation cannot load its inputs (exit 2)."""
    from click.testing import CliRunner

    from neura_scholar.commands import main

    result = CliRunner().invoke(main, ["gate", "--project-dir", str(project_copy)])
    assert result.exit_code == 2, result.output
    assert "evaluation did not finish: DatasetError" in result.output
    bad = CliRunner().invoke(main, ["gate", "--project-dir", str(project_copy), "--params", "no-equals-sign"])
    assert bad.exit_code == 2 and "is not key=value" in bad.output


def _the_service_serves_the_last_run(project_copy: Path) -> None:
    """The service's default loader: the run's model, index and papers through the catalog."""
    import requests

    from neura_scholar.serving.settings import ServingSettings
    from tests.serving.conftest import serving_app

    index_manifest = json.loads(next((project_copy / "data/06_models/indexes/chunk_embedding_384.index").glob("*/*.manifest.json")).read_text())
    with serving_app(ServingSettings(port=0, project_dir=project_copy)) as running:
        ready = requests.get(running.url + "/ready", timeout=30).json()
        assert ready["model"] == index_manifest["encoder"] and ready["model"].startswith("onnx:int8 sha256:")
        assert ready["index_size"] == index_manifest["ntotal"]
        papers = pd.read_parquet(project_copy / "data/03_primary/papers.parquet")
        found = requests.post(running.url + "/search", json={"query": papers["title"].iloc[1], "k": 3}, timeout=30).json()
        assert papers["paper_id"].iloc[1] in [r["paper_id"] for r in found["results"]]


TINY_PERFORMANCE = {"performance": {
    "encoders": {"latency_queries": 3, "latency_repeats": 1, "throughput_texts": 3, "throughput_repeats": 1, "batch_size": 3,
                 "input_tokens": [16, 32, 64], "batch_sizes": [1, 3], "include_sentence_transformers": False},
    "search": {"queries": 50, "repeats": 1, "query_path_queries": 3, "train_size": 300,
               "indexes": [["Flat", {}], ["HNSW32", {"efSearch": 32}]]},
    "service": {"levels": [1, 2], "max_requests": 6, "max_seconds": 2, "repeats": 1, "infinity_venv": None},
}}  # fmt: skip


def _the_performance_pipeline_and_both_notebooks_run(project_copy: Path) -> None:
    """`kedro run --pipelines performance` (tiny) on the run's outputs, then the two notebooks
    top to bottom in a Kedro Jupyter kernel, loading everything through the catalog."""
    import nbformat
    from nbclient import NotebookClient

    while mlflow.active_run():
        mlflow.end_run()
    with KedroSession.create(project_path=project_copy, runtime_params=TINY_PERFORMANCE) as session:
        session.run(pipeline_names=["performance"])
    while mlflow.active_run():
        mlflow.end_run()
    assert len(list((project_copy / "data/08_reporting/performance_report.json").glob("*/performance_report.json"))) == 1
    (project_copy / "notebooks").mkdir(exist_ok=True)
    for name in ("accuracy_benchmarks.ipynb", "performance_benchmark.ipynb"):
        source = PROJECT_DIR / "notebooks" / name
        notebook = nbformat.read(source, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stripped in git
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(project_copy / "notebooks")}}).execute()  # fmt: skip
        shown = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
        assert not [o for o in shown if o.output_type == "error"]
        assert sum("image/png" in o.get("data", {}) for o in shown) == 4  # the four plots
        assert any("text/html" in o.get("data", {}) for o in shown)  # the tables
