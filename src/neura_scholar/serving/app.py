"""The FastAPI app: ``create_app(settings)`` builds it; the model, index and papers are loaded
once in the lifespan (never at import), from the last ``kedro run`` of the configured project
unless a loader is given (tests). ``uvicorn --factory neura_scholar.serving.app:create_app``
works too (settings from ``NEURA_SCHOLAR_SERVE_*`` variables).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import faiss
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from neura_scholar.encoders import BatchLimits, OnnxEncoder, OnnxRuntimeSettings
from neura_scholar.run_artifacts import RunArtifacts, load_run_artifacts
from neura_scholar.search import Bm25Chunks, Searcher
from neura_scholar.serving.engine import Admission, Engine
from neura_scholar.serving.errors import install_error_handlers
from neura_scholar.serving.metrics import ServiceMetrics
from neura_scholar.serving.middleware import GuardMiddleware
from neura_scholar.serving.routes import router
from neura_scholar.serving.settings import ServingSettings

logger = logging.getLogger(__name__)

Loader = Callable[[ServingSettings], RunArtifacts]


def _load_from_project(settings: ServingSettings) -> RunArtifacts:
    return load_run_artifacts(settings.project_dir.resolve(), settings.kedro_env)


class ServiceState:
    """What the handlers share; ``ready`` only once everything is loaded and verified."""

    def __init__(self, settings: ServingSettings, metrics: ServiceMetrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.admission = Admission(settings.max_concurrent_requests, settings.retry_after_s,
                                   lambda: metrics.rejections.labels("overloaded").inc())  # fmt: skip
        self.engine: Engine | None = None
        self.searcher: Searcher | None = None
        self.artifacts: RunArtifacts | None = None
        self.providers: list[str] = []
        self.ready = False
        self.draining = False

    def load(self, artifacts: RunArtifacts) -> None:
        runtime = OnnxRuntimeSettings(**{**artifacts.runtime, "intra_op_threads": self.settings.intra_op_threads})
        limits = BatchLimits(self.settings.max_batch_size, self.settings.max_batch_tokens)
        encoder = OnnxEncoder(artifacts.model, artifacts.tokenizer_checkpoint, artifacts.identity, runtime, limits)
        self.providers = runtime.resolved_providers()
        batching = self.settings.micro_batching == "on" or (
            self.settings.micro_batching == "auto" and self.providers[0] == "CUDAExecutionProvider")
        self.engine = Engine(encoder, batching, self.settings.batch_wait_ms, self.settings.max_batch_size,
                             self.settings.max_batch_tokens, self.metrics.batch_size.observe,
                             lambda: faiss.omp_set_num_threads(self.settings.faiss_threads))  # fmt: skip
        chunk_text = dict(zip(artifacts.chunks["chunk_id"], artifacts.chunks["text"], strict=True))
        bm25 = Bm25Chunks(list(chunk_text), list(chunk_text.values())) if self.settings.hybrid else None
        self.searcher = Searcher(self.engine.encode_now, artifacts.index, artifacts.papers, chunk_text, bm25)
        self.artifacts = artifacts
        self.ready = True
        logger.info("serving %s", artifacts.describe())

    def info(self) -> dict[str, Any]:
        s = self.settings
        return {
            **(self.artifacts.describe() if self.artifacts else {}),
            "ready": self.ready, "providers": self.providers,
            "micro_batching": bool(self.engine and self.engine.micro_batching),
            "max_tokens": self.engine.max_tokens if self.engine else None,
            "limits": {"max_body_bytes": s.max_body_bytes, "max_batch_items": s.max_batch_items, "max_k": s.max_k,
                       "max_concurrent_requests": s.max_concurrent_requests},
        }  # fmt: skip


def create_app(settings: ServingSettings | None = None, loader: Loader | None = None) -> FastAPI:
    settings = settings or ServingSettings()
    metrics = ServiceMetrics()
    state = ServiceState(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.load((loader or _load_from_project)(settings))
        try:
            yield
        finally:
            state.ready = False
            if state.engine is not None:
                state.engine.close()

    app = FastAPI(title="neura-scholar", version="1", lifespan=lifespan)
    app.state.service = state
    install_error_handlers(app)
    app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    key = settings.api_key.get_secret_value() if settings.api_key else None
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes, api_key=key, metrics=metrics)
    return app
