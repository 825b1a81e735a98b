"""Project settings: the config loader and the environment variables configuration may read."""

from __future__ import annotations

from omegaconf.resolvers import oc

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `oc.env` outside credentials: the corpus directory (NEURA_SCHOLAR_CORPUS) and the MLflow
    # tracking URI (MLFLOW_TRACKING_URI) are the two settings people override per machine.
    "custom_resolvers": {"oc.env": oc.env},
    # An environment (gpu/, ray/) sets only the parameters it changes; the rest stay as in base.
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**"],
        "harvest": ["harvest*", "harvest*/**"],
    },
}
