"""Project pipelines: every pipeline under pipelines/, and ``__default__`` = the whole job:
every pipeline but ``performance`` (it starts a server and loads it for minutes; run it with
``kedro run --pipelines performance``) and ``stage_eval`` (it evaluates a registered version,
run on promotion: ``kedro run --pipelines data_prep,stage_eval``). Every node carries its
pipeline's name as a tag (kedro viz filters by it; ``kedro run --tags embedding`` selects by it)."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

_NOT_IN_DEFAULT = {"performance", "stage_eval"}


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {name: Pipeline(p, tags=name) for name, p in find_pipelines(raise_errors=True).items()}
    pipelines["__default__"] = sum((p for name, p in pipelines.items() if name not in _NOT_IN_DEFAULT), Pipeline([]))
    return pipelines
