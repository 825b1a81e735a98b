"""Promotion's rules on a local registry: it needs a passed stage evaluation of these very
bytes whose run finished with the gate passed; legacy stages resolve only when unambiguous."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient

from neura_scholar.model_registry import (
    RegistryError,
    register_onnx_variant,
    resolve_version,
    set_alias,
)
from neura_scholar.promotion import GATE_METRIC, promote, verdict_tags

NAME = "promo-encoder"
GATE = {"passed": True, "baseline": "production", "checks": [{"check": "floor", "metric": "maxp.recall@10", "passed": True}]}


def _version(model: bytes) -> str:
    with mlflow.start_run():
        return str(register_onnx_variant(model, NAME, "int8", {}).version)


def _evaluated(version: str, passed: bool, status: str = "FINISHED", sha256: str | None = None) -> str:
    """A stage-evaluation run with its gate metric, and the verdict tags it would leave."""
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_metric(GATE_METRIC, float(passed))
    if status != "FINISHED":
        client.set_terminated(run.info.run_id, status)
    tags = client.get_model_version(NAME, version).tags
    candidate = {"sha256": sha256 or tags["sha256"]}
    drift = {"encoders": {"candidate": {"drifted": False}}}
    for key, value in verdict_tags({**GATE, "passed": passed}, candidate, drift, run.info.run_id, "2026-12-05T00:00:00+00:00").items():
        client.set_model_version_tag(NAME, version, key, value)
    return str(run.info.run_id)


def test_a_passed_evaluation_promotes_and_records_it(mlflow_tracking: str, exported_models: dict[str, bytes]) -> None:
    first, second = _version(exported_models["int8"]), _version(exported_models["fp32"])
    set_alias(NAME, "production", first)
    set_alias(NAME, "staging", second)
    run_id = _evaluated(second, passed=True)
    result = promote(NAME, "staging", "production", actor="alice", reason="better ndcg")
    assert (result.promoted, result.version, result.previous_version) == (True, second, first)
    assert str(MlflowClient().get_model_version_by_alias(NAME, "production").version) == second
    tags = MlflowClient().get_model_version(NAME, second).tags
    assert tags["promoted.production.by"] == "alice" and tags["promoted.production.previous_version"] == first
    assert tags["promoted.production.stage_eval_run"] == run_id and tags["promoted.production.from"] == "staging"


@pytest.mark.parametrize(
    ("passed", "status", "other_bytes", "reason"),
    [
        (False, "FINISHED", False, "failed the gate (see its run)"),
        (True, "FAILED", False, "is FAILED with stage_eval.gate.passed=1.0"),
        (True, "FINISHED", True, "was of other bytes"),
    ],
)
def test_promotion_is_refused_without_a_passed_evaluation_of_these_bytes(
    mlflow_tracking: str, exported_models: dict[str, bytes], passed: bool, status: str, other_bytes: bool, reason: str
) -> None:
    version = _version(exported_models["int8"])
    set_alias(NAME, "staging", version)
    _evaluated(version, passed, status, sha256="0" * 64 if other_bytes else None)
    result = promote(NAME, "staging", "production", actor="bob")
    assert not result.promoted and reason in result.reason
    with pytest.raises(RegistryError, match="names no model version"):
        resolve_version(f"models:/{NAME}@production")  # nothing moved
    assert MlflowClient().get_model_version(NAME, version).tags["refused.production.why"] == result.reason


def test_legacy_stages_resolve_only_when_one_version_is_in_them(mlflow_tracking: str, exported_models: dict[str, bytes]) -> None:
    client = MlflowClient()
    first, second = _version(exported_models["int8"]), _version(exported_models["int8"])
    with pytest.raises(RegistryError, match="0 versions are in stage Staging"):
        resolve_version(f"models:/{NAME}/Staging")
    client.transition_model_version_stage(NAME, first, "Staging")
    assert str(resolve_version(f"models:/{NAME}/staging").version) == first
    client.transition_model_version_stage(NAME, second, "Staging")  # both now: ambiguous
    with pytest.raises(RegistryError, match=r"2 versions are in stage Staging \[1, 2\]"):
        resolve_version(f"models:/{NAME}/Staging")
    client.transition_model_version_stage(NAME, first, "Archived")
    _evaluated(second, passed=True)
    result = promote(NAME, "Staging", "Production", stages=True, actor="carol")
    assert result.promoted and str(resolve_version(f"models:/{NAME}/Production").version) == second
