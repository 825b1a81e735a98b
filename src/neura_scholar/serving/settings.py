"""The service's settings, each also from an environment variable ``NEURA_SCHOLAR_SERVE_<NAME>``.

Limits default to text-embeddings-inference's where TEI has one: 2 MB payloads
(``--payload-limit``), 32 inputs a batch (``--max-client-batch-size``), 512 concurrent
requests (``--max-concurrent-requests``), inputs refused when over the model's token limit
unless the request asks for truncation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEURA_SCHOLAR_SERVE_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    # The Kedro project whose last run's artifacts are served (model, index, papers).
    project_dir: Path = Path(".")
    kedro_env: str | None = None

    max_body_bytes: Annotated[int, Field(ge=1)] = 2_000_000
    max_batch_items: Annotated[int, Field(ge=1)] = 32
    max_k: Annotated[int, Field(ge=1)] = 100
    # Requests admitted at once (in flight or queued); the next one gets 429 at once.
    max_concurrent_requests: Annotated[int, Field(ge=1)] = 512
    retry_after_s: Annotated[int, Field(ge=0)] = 1

    # Micro-batching of concurrent requests into one ONNX run: "auto" turns it on for CUDA
    # and off on the CPU, where the plain path measured faster (DESIGN.md, serving contract).
    micro_batching: Literal["auto", "on", "off"] = "auto"
    batch_wait_ms: Annotated[float, Field(ge=0)] = 2.0
    max_batch_size: Annotated[int, Field(ge=1)] = 64
    max_batch_tokens: Annotated[int, Field(ge=1)] = 16_384
    # ONNX Runtime threads (0 = one per physical core); inference runs on one worker thread.
    intra_op_threads: Annotated[int, Field(ge=0)] = 0
    # FAISS's OpenMP threads, process-wide. One request searches one query: with more threads
    # OpenMP's spinning workers fought ONNX Runtime's for the cores (2 cores: 18 ms a search
    # with FAISS's default, 3 ms with 1 thread).
    faiss_threads: Annotated[int, Field(ge=1)] = 1

    api_key: SecretStr | None = None
    cors_origins: list[str] = []
    shutdown_deadline_s: Annotated[float, Field(gt=0)] = 10.0
    hybrid: bool = True  # build the BM25 index over the chunks for hybrid search
