"""The embedding service client against a loopback HTTP server: retries, back-off, bad answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from neura_scholar.embedding_client import EmbeddingClient, EmbeddingServiceError


class FakeService:
    """A loopback server answering /embed/batch from a script: (status, headers, body or None);
    None means: embed properly (text i -> [len(text), i])."""

    def __init__(self, script: list[tuple[int, dict[str, str], str | None]]) -> None:
        self.script = script
        self.requests: list[list[str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["texts"]
                service.requests.append(texts)
                status, headers, body = service.script.pop(0) if service.script else (200, {}, None)
                if body is None:
                    body = json.dumps({"embeddings": [[float(len(t)), float(i)] for i, t in enumerate(texts)]})
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def service() -> Iterator:  # type: ignore[type-arg]
    started: list[FakeService] = []

    def start(script: list[tuple[int, dict[str, str], str | None]]) -> FakeService:
        started.append(FakeService(script))
        return started[-1]

    yield start
    for s in started:
        s.httpd.shutdown()
        s.httpd.server_close()


def test_batches_in_order_after_retrying_overload(service) -> None:  # type: ignore[no-untyped-def]
    server = service([(503, {"Retry-After": "0"}, "busy"), (429, {}, "slow down")])
    client = EmbeddingClient(server.url, batch_size=2, retries=3, backoff_s=0.01)
    vectors = client.embed(["a", "bb", "ccc"])
    # The first batch was tried three times (503, 429, then 200); then one request for "ccc".
    assert server.requests == [["a", "bb"], ["a", "bb"], ["a", "bb"], ["ccc"]]
    np.testing.assert_array_equal(vectors, np.array([[1, 0], [2, 1], [3, 0]], dtype=np.float32))
    assert client.identity == f"service:{server.url}"


def test_errors_say_what_came_back(service) -> None:  # type: ignore[no-untyped-def]
    server = service([(500, {}, "boom")])
    with pytest.raises(EmbeddingServiceError, match="answered HTTP 500: boom"):
        EmbeddingClient(server.url, retries=1, backoff_s=0.01).embed(["x"])
    server = service([(503, {}, "busy")] * 3)
    with pytest.raises(EmbeddingServiceError, match="answered HTTP 503"):
        EmbeddingClient(server.url, retries=2, backoff_s=0.01).embed(["x"])
    server = service([(200, {}, json.dumps({"vectors": []}))])
    with pytest.raises(EmbeddingServiceError, match="without an 'embeddings' matrix"):
        EmbeddingClient(server.url, backoff_s=0.01).embed(["x"])
    server = service([(200, {}, json.dumps({"embeddings": [[1.0]]}))])
    with pytest.raises(EmbeddingServiceError, match="returned \\(1, 1\\) for 2 texts"):
        EmbeddingClient(server.url, backoff_s=0.01).embed(["x", "y"])
    with pytest.raises(EmbeddingServiceError, match="could not be reached"):
        EmbeddingClient("http://127.0.0.1:9", retries=1, backoff_s=0.01, timeout_s=2).embed(["x"])
