"""ONNX encoders in the MLflow model registry: register variants, move aliases, load by URI.

Models are logged with MLflow's ONNX flavour (the ``.onnx`` file itself, no pickle), each
version tagged with its variant, parity, size, sha256 and source checkpoint. Loading accepts
``models:/<name>@<alias>``, ``models:/<name>/<version>`` or, for teams still on MLflow's
deprecated stages, ``models:/<name>/<Stage>`` (exactly one version must be in that stage), and
checks the downloaded file's sha256 against the version's tag; ``latest`` is refused, so nothing
is ever picked implicitly.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import mlflow
import mlflow.onnx
import onnx
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>[^/]+))$")
STAGES = ("Staging", "Production", "Archived")


class RegistryError(ValueError):
    """A registry URI is malformed, names nothing, or its file does not match its tags."""


def register_onnx_variant(
    model: bytes, model_name: str, variant: str, tags: dict[str, Any]
) -> ModelVersion:
    """Log ``model`` under the active run (one is started if none is) and register it as a new
    version of ``model_name``, tagged with ``variant``, its sha256 and ``tags``."""
    info = mlflow.onnx.log_model(
        onnx_model=onnx.load_from_string(model),
        name=f"encoder_{variant}",
        registered_model_name=model_name,
        save_as_external_data=False,
    )
    client = MlflowClient()
    version = client.get_model_version(model_name, str(info.registered_model_version))
    all_tags = {"variant": variant, "sha256": hashlib.sha256(model).hexdigest(), **tags}
    for key, value in all_tags.items():
        client.set_model_version_tag(model_name, version.version, key, str(value))
    return client.get_model_version(model_name, version.version)


def set_alias(model_name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(model_name, alias, version)


def resolve_version(uri: str) -> ModelVersion:
    """The model version a ``models:/`` URI names (by alias or explicit version)."""
    match = _URI.match(uri)
    if match is None:
        raise RegistryError(f"{uri!r} is not models:/<name>@<alias> or models:/<name>/<version>")
    name, alias, version = match["name"], match["alias"], match["version"]
    client = MlflowClient()
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version == "latest":
            raise RegistryError(
                f"{uri!r}: 'latest' is never loaded implicitly; name an alias or a version"
            )
        if version is not None and version.isdigit():
            return client.get_model_version(name, version)
        if version is not None and version.capitalize() in STAGES:
            return _version_in_stage(client, name, version.capitalize(), uri)
    except mlflow.exceptions.MlflowException as exc:
        raise RegistryError(f"{uri!r} names no model version: {exc}") from exc
    raise RegistryError(f"{uri!r}: version must be a number or a stage of {list(STAGES)}")


def _version_in_stage(client: MlflowClient, name: str, stage: str, uri: str) -> ModelVersion:
    """The one version of ``name`` in the legacy ``stage``; none or several is an error (MLflow
    itself would pick the newest of several, an implicit choice this project never makes)."""
    in_stage = [v for v in client.search_model_versions(f"name='{name}'") if v.current_stage == stage]
    if len(in_stage) != 1:
        found = sorted(int(v.version) for v in in_stage)
        raise RegistryError(
            f"{uri!r}: {len(in_stage)} versions are in stage {stage} {found}; exactly one must be"
        )
    return client.get_model_version(name, in_stage[0].version)


def move_stage(model_name: str, version: str, stage: str) -> None:
    """Put ``version`` in the legacy ``stage``, archiving whatever was there (MLflow's own
    transition; deprecated by MLflow in favour of aliases, kept for teams still on stages)."""
    if stage not in STAGES:
        raise RegistryError(f"stage {stage!r} is not one of {list(STAGES)}")
    MlflowClient().transition_model_version_stage(
        model_name, version, stage, archive_existing_versions=True
    )


def load_onnx_from_registry(uri: str) -> tuple[bytes, dict[str, str]]:
    """The ONNX bytes and tags of the version ``uri`` names, checked against its sha256 tag;
    the tags also carry ``registered_model``, ``model_version`` and ``source_run_id`` (the run
    that logged it): where the bytes came from."""
    version = resolve_version(uri)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{version.name}/{version.version}"
        )
    )
    files = sorted(local.rglob("*.onnx"))
    if len(files) != 1:
        raise RegistryError(
            f"{uri!r}: expected one .onnx file in the model, found {[f.name for f in files]}"
        )
    model = files[0].read_bytes()
    digest = hashlib.sha256(model).hexdigest()
    if version.tags.get("sha256") != digest:
        raise RegistryError(
            f"{uri!r} (version {version.version}): the downloaded file's sha256 {digest[:12]}... "
            f"does not match its tag {version.tags.get('sha256', '<none>')[:12]}...; refusing it"
        )
    return model, {
        **version.tags,
        "registered_model": version.name,
        "model_version": str(version.version),
        "source_run_id": version.run_id or "",
    }
