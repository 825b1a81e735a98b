"""The real app over real HTTP on 127.0.0.1 (uvicorn in a thread), with the real INT8 model and
a FAISS index of the small corpus's chunks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from neura_scholar.run_artifacts import RunArtifacts
from neura_scholar.serving.app import create_app
from neura_scholar.serving.server import DrainingServer, build_server
from neura_scholar.serving.settings import ServingSettings


class Running:
    def __init__(self, server: DrainingServer, thread: threading.Thread) -> None:
        self.server, self.thread = server, thread
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.state = server.config.app.state.service  # type: ignore[union-attr]


@contextlib.contextmanager
def serving(artifacts: RunArtifacts, **settings: Any) -> Iterator[Running]:
    """The app with ``settings`` on a free port until the block ends (then shut down)."""
    config = ServingSettings(port=0, **settings)
    with serving_app(config, lambda _: artifacts) as running:
        yield running


@contextlib.contextmanager
def serving_app(config: ServingSettings, loader: Any = None) -> Iterator[Running]:
    """uvicorn in a thread with ``config`` (the default loader reads the project's last run)."""
    app = create_app(config, loader=loader)
    server = build_server(config, app, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield Running(server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def service(run_artifacts: RunArtifacts) -> Iterator[Running]:
    with serving(run_artifacts, max_batch_items=8, max_k=50) as running:
        yield running
