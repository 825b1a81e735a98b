"""A bounded HTTP load generator: ``concurrency`` clients send JSON requests in a closed loop
until ``max_requests`` are answered or ``max_seconds`` pass, whichever comes first.

Every answer counts: latencies of successful (2xx) answers, and errors by status code (or by
exception name for a request that got no answer), so a server failing half its requests shows
up as failures, not as a fast run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np


@dataclass
class LoadResult:
    concurrency: int
    sent: int
    ok: int
    wall_s: float
    latencies_s: list[float] = field(repr=False)
    errors: dict[str, int]

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies_s) * 1000 if self.latencies_s else np.array([np.nan])
        return {
            "concurrency": self.concurrency, "sent": self.sent, "ok": self.ok, "errors": dict(self.errors),
            "error_rate": (self.sent - self.ok) / self.sent if self.sent else 0.0,
            "requests_per_s": self.ok / self.wall_s if self.wall_s > 0 else 0.0, "wall_s": self.wall_s,
            "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "p99_ms": float(np.percentile(lat, 99)),
        }  # fmt: skip


async def _client(
    client: httpx.AsyncClient, url: str, payloads: Sequence[Any], state: dict[str, Any], result: LoadResult,
    deadline: float, max_requests: int,
) -> None:  # fmt: skip
    while time.monotonic() < deadline and state["next"] < max_requests:
        payload = payloads[state["next"] % len(payloads)]
        state["next"] += 1
        result.sent += 1
        started = time.perf_counter()
        try:
            response = await client.post(url, json=payload)
        except httpx.HTTPError as exc:
            result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
            continue
        if 200 <= response.status_code < 300:
            result.ok += 1
            result.latencies_s.append(time.perf_counter() - started)
        else:
            key = str(response.status_code)
            result.errors[key] = result.errors.get(key, 0) + 1


async def run_load_async(
    url: str, payloads: Sequence[Any], concurrency: int, max_requests: int, max_seconds: float,
    headers: dict[str, str] | None = None, timeout_s: float = 30.0,
) -> LoadResult:  # fmt: skip
    if concurrency < 1 or max_requests < 1 or max_seconds <= 0 or not payloads:
        raise ValueError("need concurrency >= 1, max_requests >= 1, max_seconds > 0 and at least one payload")
    result = LoadResult(concurrency, 0, 0, 0.0, [], Counter())
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, timeout=timeout_s, limits=limits) as client:
        state = {"next": 0}
        started = time.monotonic()
        deadline = started + max_seconds
        await asyncio.gather(*(_client(client, url, payloads, state, result, deadline, max_requests) for _ in range(concurrency)))
        result.wall_s = time.monotonic() - started
    result.errors = dict(result.errors)
    return result


def run_load(url: str, payloads: Sequence[Any], concurrency: int, max_requests: int, max_seconds: float,
             headers: dict[str, str] | None = None) -> LoadResult:  # fmt: skip
    """:func:`run_load_async` from synchronous code (its own event loop)."""
    return asyncio.run(run_load_async(url, payloads, concurrency, max_requests, max_seconds, headers))
