"""Tags as datasets: on the active MLflow run, and on a model version in the registry.

``MlflowRunTagsDataset`` tags the run kedro-mlflow opened for this ``kedro run`` (save only;
there must be one). ``RegistryVersionTagsDataset`` tags the model version its data names and
loads that version's tags back, so a node downstream sees what the registry now holds.
"""

from __future__ import annotations

from typing import Any

import mlflow
from kedro.io import AbstractDataset, DatasetError
from mlflow import MlflowClient


def _active_run_id() -> str:
    run = mlflow.active_run()
    if run is None:
        raise DatasetError(
            "no active MLflow run: stage_eval records its verdict against the run kedro-mlflow "
            "opens; do not disable tracking for this pipeline"
        )
    return str(run.info.run_id)


class MlflowRunTagsDataset(AbstractDataset[dict[str, str], dict[str, str]]):
    """Sets ``{key: value}`` as tags of the active run; loads them back from it."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def save(self, data: dict[str, str]) -> None:
        run_id, client = _active_run_id(), MlflowClient()
        for key, value in data.items():
            client.set_tag(run_id, key, str(value))

    def load(self) -> dict[str, str]:
        return dict(MlflowClient().get_run(_active_run_id()).data.tags)

    def _describe(self) -> dict[str, Any]:
        return {}


class RegistryVersionTagsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Saves ``{"model", "version", "tags"}``: the tags onto that model version, with
    ``{run_id}`` in a value replaced by the active run's id (the run that holds the evidence).
    Loads ``{"model", "version", "tags"}`` as the registry holds them after the last save."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._last: tuple[str, str] | None = None

    def save(self, data: dict[str, Any]) -> None:
        run_id = _active_run_id()
        client = MlflowClient()
        for key, value in data["tags"].items():
            client.set_model_version_tag(data["model"], data["version"], key, str(value).replace("{run_id}", run_id))
        self._last = (str(data["model"]), str(data["version"]))

    def load(self) -> dict[str, Any]:
        if self._last is None:
            raise DatasetError("RegistryVersionTagsDataset loads only the version it last tagged")
        model, version = self._last
        found = MlflowClient().get_model_version(model, version)
        return {"model": model, "version": version, "tags": dict(found.tags)}

    def _describe(self) -> dict[str, Any]:
        return {"last": self._last}
