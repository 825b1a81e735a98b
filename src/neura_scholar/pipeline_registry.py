"""Project pipelines: every pipeline under pipelines/, and ``__default__`` = the whole job
(every pipeline but ``performance``, which starts a server and loads it for minutes; run it
with ``kedro run --pipelines performance``)."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum((p for name, p in pipelines.items() if name != "performance"), Pipeline([]))
    return pipelines
