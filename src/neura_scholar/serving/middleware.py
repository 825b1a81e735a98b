"""ASGI middleware: the API key, the request-body limit, and per-request metrics.

The body limit is enforced before the handler sees anything: a declared ``Content-Length``
over the limit is refused without reading, and a body sent without one (chunked) is read only
up to the limit, then refused. Either way the answer is 413 with a JSON error.
"""

from __future__ import annotations

import hmac
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neura_scholar.serving.errors import STATUS
from neura_scholar.serving.metrics import ServiceMetrics

OPEN_PATHS = frozenset({"/health"})


async def _send_error(send: Send, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": {"type": type_, "message": message}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": STATUS[type_], "headers": raw})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """API key (Bearer, constant-time compare; ``/health`` stays open), body limit, metrics."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, api_key: str | None, metrics: ServiceMetrics) -> None:
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics
        self._key = f"Bearer {api_key}".encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        started = time.perf_counter()
        status = {"code": 500}

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, counted_send, path)
        finally:
            endpoint = path if path in _KNOWN else "other"
            self.metrics.requests.labels(endpoint, str(status["code"])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        headers = dict(scope["headers"])
        if self._key is not None and path not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self._key):
                self.metrics.rejections.labels("unauthorized").inc()
                await _send_error(send, "unauthorized", "a valid API key is required (Authorization: Bearer <key>)",
                                  {"WWW-Authenticate": "Bearer"})  # fmt: skip
                return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            self.metrics.rejections.labels("payload_too_large").inc()
            await _send_error(send, "payload_too_large", f"request body over {self.max_body_bytes} bytes")
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            body = await self._read_body(receive)
            if body is None:
                self.metrics.rejections.labels("payload_too_large").inc()
                await _send_error(send, "payload_too_large", f"request body over {self.max_body_bytes} bytes")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """The body already read, as one message; then the client's own messages (a disconnect)."""
    sent = {"done": False}

    async def receive() -> Message:
        if sent["done"]:
            return await original()
        sent["done"] = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


_KNOWN = frozenset({"/embed/text", "/embed/batch", "/search", "/v1/embeddings", "/health", "/ready", "/metrics", "/info"})
