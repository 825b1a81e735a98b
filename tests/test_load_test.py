"""The load generator stops by count and by time, and counts every failure."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from neura_scholar.load_test import run_load


class _Flaky(BaseHTTPRequestHandler):
    """Fails every second request with a 500; sleeps ``delay`` seconds before answering."""

    calls = 0
    delay = 0.0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["content-length"]))
        with _Flaky.lock:
            _Flaky.calls += 1
            fail = _Flaky.calls % 2 == 0
        time.sleep(_Flaky.delay)
        body = json.dumps({"ok": not fail}).encode()
        self.send_response(500 if fail else 200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_url() -> Iterator[str]:
    _Flaky.calls, _Flaky.delay = 0, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/x"
    server.shutdown()


def test_a_server_failing_half_its_requests_shows_as_failures(flaky_url: str) -> None:
    result = run_load(flaky_url, [{"text": "a"}, {"text": "b"}], concurrency=1, max_requests=20, max_seconds=30)
    summary = result.summary()
    assert (result.sent, result.ok, result.errors) == (20, 10, {"500": 10})
    assert summary["error_rate"] == 0.5 and len(result.latencies_s) == 10
    assert summary["requests_per_s"] == pytest.approx(10 / result.wall_s)  # only answered requests count


def test_the_time_bound_stops_a_slow_run(flaky_url: str) -> None:
    _Flaky.delay = 0.2
    result = run_load(flaky_url, [{"text": "a"}], concurrency=2, max_requests=10_000, max_seconds=0.5)
    # Each client stops at the first check past 0.5 s: at most 3 requests of 0.2 s each.
    assert 2 <= result.sent <= 6 and result.wall_s < 1.5


def test_nothing_listening_is_counted_not_raised() -> None:
    result = run_load("http://127.0.0.1:9/x", [{"text": "a"}], concurrency=1, max_requests=3, max_seconds=10)
    assert result.ok == 0 and result.sent == 3 and result.errors == {"ConnectError": 3}
    with pytest.raises(ValueError, match="concurrency >= 1"):
        run_load("http://127.0.0.1:9/x", [], concurrency=1, max_requests=1, max_seconds=1)
