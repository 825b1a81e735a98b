"""The Kedro project as its users run it: registry, catalog, and `kedro run` tracked in MLflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from neura_scholar.datasets.manifest import read_verified
from tests.conftest import PROJECT_DIR

DATA_PREP_OUTPUTS = {
    "papers", "paper_sections", "paper_chunks", "term_document_frequency", "heldout", "slices",
    "perturbations", "failures", "data_prep_summary", "data_prep_metrics",
}  # fmt: skip


@pytest.fixture
def project_copy(tmp_path: Path, small_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's configuration in a fresh directory, reading the small corpus and tracking
    to a SQLite MLflow store of its own."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    shutil.copy(PROJECT_DIR / "pyproject.toml", project / "pyproject.toml")
    (project / "src").mkdir()  # the package itself is installed in the venv
    monkeypatch.chdir(project)
    monkeypatch.setenv("NEURA_SCHOLAR_CORPUS", str(small_corpus_dir))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    bootstrap_project(project)
    return project


def test_registry_and_catalog(project_copy: Path) -> None:
    from kedro.framework.project import pipelines

    assert {"__default__", "data_prep"} <= set(pipelines)
    assert set(pipelines["data_prep"].outputs()) | set(pipelines["data_prep"].all_outputs()) >= DATA_PREP_OUTPUTS
    with KedroSession.create(project_path=project_copy) as session:
        catalog = session.load_context().catalog
        assert DATA_PREP_OUTPUTS | {"raw_papers", "raw_fulltext", "encoder_tokenizer"} <= set(catalog.keys())


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
