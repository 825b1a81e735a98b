"""Running the app under uvicorn with a graceful shutdown: on SIGTERM/SIGINT ``/ready`` turns
503 at once, requests in flight finish, and the process exits within the deadline."""

from __future__ import annotations

from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from neura_scholar.serving.app import create_app
from neura_scholar.serving.settings import ServingSettings


class DrainingServer(uvicorn.Server):
    """A uvicorn server that marks the service as draining before it stops."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._service = app.state.service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._service.draining = True
        super().handle_exit(sig, frame)


def build_server(settings: ServingSettings, app: FastAPI | None = None, **config: Any) -> DrainingServer:
    app = app or create_app(settings)
    uv_config = uvicorn.Config(app, host=settings.host, port=settings.port, timeout_graceful_shutdown=int(settings.shutdown_deadline_s),
                               log_level=config.pop("log_level", "info"), access_log=False, **config)  # fmt: skip
    return DrainingServer(uv_config, app)
