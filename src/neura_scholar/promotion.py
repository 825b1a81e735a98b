"""Promotion through the MLflow registry, only on a passed stage evaluation.

The ``stage_eval`` pipeline ends by tagging the version it evaluated (:func:`verdict_tags`):
whether the gate passed, the MLflow run that holds the evidence, the file's sha256 and when.
:func:`promote` moves an alias (``staging`` -> ``production``) or a legacy stage only when
that evidence holds up: the version's last stage evaluation passed, it evaluated these very
bytes, and its run finished with ``stage_eval.gate.passed`` = 1. Otherwise it refuses. Either
way it records who, what and when as tags of the version, so the registry keeps the history.
"""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from neura_scholar.model_registry import RegistryError, move_stage, resolve_version

VERDICT_PREFIX = "stage_eval."
GATE_METRIC = "stage_eval.gate.passed"


def verdict_tags(gate: dict[str, Any], candidate: dict[str, Any], drift: dict[str, Any], run_id: str, at: str) -> dict[str, str]:
    """What the stage evaluation says of the version it evaluated, as registry tags."""
    failed = [f"{c['check']}:{c['metric']}" for c in gate["checks"] if not c["passed"]]
    drifted = drift.get("encoders", {}).get("candidate", {}).get("drifted")
    return {
        f"{VERDICT_PREFIX}passed": str(bool(gate["passed"])).lower(),
        f"{VERDICT_PREFIX}run_id": run_id,
        f"{VERDICT_PREFIX}at": at,
        f"{VERDICT_PREFIX}sha256": candidate["sha256"],
        f"{VERDICT_PREFIX}baseline": str(gate.get("baseline")),
        f"{VERDICT_PREFIX}failed_checks": ",".join(failed)[:4000],
        # Drifted from the reference (the baseline's space): switching needs a re-embedded index.
        f"{VERDICT_PREFIX}requires_reindex": str(drifted is not False).lower(),
    }


@dataclass(frozen=True)
class Promotion:
    """What :func:`promote` decided: ``promoted`` or not, and why."""

    model: str
    version: str
    target: str
    promoted: bool
    reason: str
    previous_version: str = ""


def _evidence_problem(client: MlflowClient, version: ModelVersion) -> str:
    """Why ``version``'s last stage evaluation does not allow promotion; empty when it does."""
    tags = version.tags
    if f"{VERDICT_PREFIX}passed" not in tags:
        return "it has no stage evaluation: run `kedro run --pipeline stage_eval` on it first"
    if tags.get("sha256") != tags.get(f"{VERDICT_PREFIX}sha256"):
        return "its last stage evaluation was of other bytes (sha256 differs)"
    if tags[f"{VERDICT_PREFIX}passed"] != "true":
        failed = tags.get(f"{VERDICT_PREFIX}failed_checks", "")
        return f"its last stage evaluation failed the gate ({failed or 'see its run'})"
    run_id = tags.get(f"{VERDICT_PREFIX}run_id", "")
    try:
        run = client.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        return f"the run of its stage evaluation ({run_id or 'none'}) does not exist"
    passed = run.data.metrics.get(GATE_METRIC, math.nan)
    if run.info.status != "FINISHED" or passed != 1.0:
        return f"the run of its stage evaluation {run_id} is {run.info.status} with {GATE_METRIC}={passed}"
    return ""


def promote(model: str, source: str, target: str, *, stages: bool = False, actor: str | None = None, reason: str = "") -> Promotion:
    """Move ``target`` to the version ``source`` names, if its stage evaluation passed.

    Args:
        source: an alias (``staging``), or with ``stages`` a legacy stage (``Staging``).
        target: the alias to move (``production``), or with ``stages`` the stage to move it into.
        actor: who promotes (default: the OS user); recorded with the time and the reason.
    """
    client = MlflowClient()
    version = resolve_version(f"models:/{model}/{source}" if stages else f"models:/{model}@{source}")
    previous = _current(client, model, target, stages)
    problem = _evidence_problem(client, version)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    who = actor or getpass.getuser()
    record = {"by": who, "at": now, "from": source, "reason": reason}
    if problem:
        _tag(client, version, f"refused.{target}", {**record, "why": problem})
        return Promotion(model, str(version.version), target, False, problem, previous)
    if stages:
        move_stage(model, version.version, target)
    else:
        client.set_registered_model_alias(model, target, version.version)
    _tag(client, version, f"promoted.{target}", {**record, "previous_version": previous,
                                                   "stage_eval_run": version.tags[f"{VERDICT_PREFIX}run_id"]})  # fmt: skip
    return Promotion(model, str(version.version), target, True, "its last stage evaluation passed", previous)


def _current(client: MlflowClient, model: str, target: str, stages: bool) -> str:
    """The version ``target`` names now, or empty."""
    try:
        uri = f"models:/{model}/{target}" if stages else f"models:/{model}@{target}"
        return str(resolve_version(uri).version)
    except RegistryError:
        return ""


def _tag(client: MlflowClient, version: ModelVersion, prefix: str, values: dict[str, str]) -> None:
    for key, value in values.items():
        client.set_model_version_tag(version.name, version.version, f"{prefix}.{key}", str(value))
