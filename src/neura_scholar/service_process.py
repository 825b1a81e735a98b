"""The service as a separate process for measurement: ``neura-scholar serve`` on a free
loopback port over a project's last run, its peak memory sampled, stopped afterwards. (The
pipelines measure the service over HTTP like any client, never by importing it.)"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests


@dataclass
class RunningService:
    url: str
    pid: int | None = None
    peak_rss_mb: float = 0.0
    _samples: list[float] = field(default_factory=list, repr=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    found = shutil.which("neura-scholar") or str(Path(sys.executable).with_name("neura-scholar"))
    return [found] if Path(found).exists() else [sys.executable, "-m", "neura_scholar.commands"]


@contextlib.contextmanager
def service_process(project_dir: Path, ready_timeout_s: float = 300, env: dict[str, str] | None = None) -> Iterator[RunningService]:
    """Start the service on the project's last run; yield once ``/ready`` answers 200."""
    port = _free_port()
    command = [*_command(), "serve", "--port", str(port), "--project-dir", str(project_dir)]
    with _running(command, port, "/ready", ready_timeout_s, env) as running:
        yield running


@contextlib.contextmanager
def infinity_process(venv: Path, model_dir: Path, ready_timeout_s: float = 300) -> Iterator[RunningService]:
    """Infinity (``infinity-emb``, installed in its own ``venv``) serving ``model_dir`` on the
    CPU with its torch engine; its OpenAI-shaped endpoint is ``/embeddings``."""
    port = _free_port()
    command = [str(venv / "bin/infinity_emb"), "v2", "--model-id", str(model_dir), "--port", str(port), "--host", "127.0.0.1",
               "--engine", "torch", "--device", "cpu", "--no-bettertransformer"]  # fmt: skip
    with _running(command, port, "/health", ready_timeout_s, {"HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0"}) as running:
        yield running


@contextlib.contextmanager
def _running(command: list[str], port: int, ready_path: str, ready_timeout_s: float, env: dict[str, str] | None) -> Iterator[RunningService]:
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    running = RunningService(f"http://127.0.0.1:{port}", process.pid)
    stop = threading.Event()

    def sample() -> None:
        handle = psutil.Process(process.pid)
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                running.peak_rss_mb = max(running.peak_rss_mb, handle.memory_info().rss / 2**20)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
                raise RuntimeError(f"{command[0]} exited with {process.returncode} before it was ready: {error}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(running.url + ready_path, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} was not ready within {ready_timeout_s} s")
            time.sleep(0.3)
        yield running
    finally:
        stop.set()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
