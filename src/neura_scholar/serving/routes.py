"""The endpoints. Inference endpoints take an admission slot (429 at once when full) and run the
model on the inference thread, never on the event loop."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from neura_scholar.encoders import Embeddings
from neura_scholar.search import PaperFilter
from neura_scholar.serving.errors import ApiError
from neura_scholar.serving.schemas import (
    EmbedBatchRequest,
    EmbedBatchResponse,
    EmbedTextRequest,
    EmbedTextResponse,
    ErrorResponse,
    OpenAIEmbeddingsRequest,
    OpenAIEmbeddingsResponse,
    SearchRequest,
    SearchResponse,
)


class ORJSONResponse(JSONResponse):
    """JSON via orjson, numpy arrays included (a 384-float embedding renders ~5x faster than
    the standard library's encoder)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 413, 422, 429, 503)}
router = APIRouter(default_response_class=ORJSONResponse, responses=ERRORS)


def _state(request: Request) -> Any:
    state = request.app.state.service
    if not state.ready or state.draining:
        raise ApiError("not_ready", "the service is not ready (loading or shutting down)", headers={"Retry-After": "1"})
    return state


async def _embed(request: Request, texts: list[str], truncate: bool) -> tuple[Any, Embeddings]:
    state = _state(request)
    if len(texts) > state.settings.max_batch_items:
        raise ApiError("too_many_items", f"{len(texts)} inputs; at most {state.settings.max_batch_items} a request",
                       {"max_batch_items": state.settings.max_batch_items, "items": len(texts)})  # fmt: skip
    async with state.admission.slot():
        state.metrics.in_flight.set(state.admission.in_flight)
        state.metrics.queue_depth.set(state.engine.queue_depth)
        result = await state.engine.embed(texts, truncate)
    state.metrics.in_flight.set(state.admission.in_flight)
    return state, result


@router.post("/embed/text", response_model=EmbedTextResponse)
async def embed_text(body: EmbedTextRequest, request: Request) -> ORJSONResponse:
    state, result = await _embed(request, [body.text], body.truncate)
    return ORJSONResponse({"embedding": result.vectors[0], "dim": int(result.vectors.shape[1]), "model": state.artifacts.identity,
                           "tokens": int(result.n_tokens[0]), "truncated": bool(result.truncated[0])})  # fmt: skip


@router.post("/embed/batch", response_model=EmbedBatchResponse)
async def embed_batch(body: EmbedBatchRequest, request: Request) -> ORJSONResponse:
    state, result = await _embed(request, body.texts, body.truncate)
    return ORJSONResponse({"embeddings": result.vectors, "dim": int(result.vectors.shape[1]), "model": state.artifacts.identity,
                           "tokens": result.n_tokens.tolist(), "truncated": result.truncated.tolist()})  # fmt: skip


@router.post("/v1/embeddings", response_model=OpenAIEmbeddingsResponse)
async def openai_embeddings(body: OpenAIEmbeddingsRequest, request: Request) -> ORJSONResponse:
    """OpenAI's embeddings API shape; over-long inputs are refused, as OpenAI does."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts:
        raise ApiError("invalid_request", "input: at least one text is required")
    dim = _state(request).artifacts.index.dim
    if body.dimensions is not None and body.dimensions != dim:
        raise ApiError("invalid_request", f"dimensions: this model has {dim}, got {body.dimensions}")
    state, result = await _embed(request, texts, truncate=False)
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode() if body.encoding_format == "base64" else v}
            for i, v in enumerate(result.vectors)]  # fmt: skip
    used = int(result.n_tokens.sum())
    return ORJSONResponse({"object": "list", "data": data, "model": body.model or state.artifacts.identity,
                           "usage": {"prompt_tokens": used, "total_tokens": used}})  # fmt: skip


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, request: Request) -> ORJSONResponse:
    state = _state(request)
    if body.k > state.settings.max_k:
        raise ApiError("invalid_request", f"k: at most {state.settings.max_k}, got {body.k}")
    if body.hybrid and state.searcher.bm25 is None:
        raise ApiError("invalid_request", "hybrid: this service was started without the BM25 index")
    paper_filter = PaperFilter(body.category, body.year_from, body.year_to)
    async with state.admission.slot():
        results = await state.engine.run(lambda: state.searcher.search(body.query, body.k, paper_filter, hybrid=body.hybrid))
    return ORJSONResponse({"results": results, "model": state.artifacts.identity, "k": body.k})


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive (no key needed)."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> ORJSONResponse:
    """200 once the model and index are loaded and their manifests verified; 503 otherwise."""
    state = _state(request)
    return ORJSONResponse({"status": "ready", "model": state.artifacts.identity, "index_size": int(state.artifacts.index.index.ntotal)})


@router.get("/info")
async def info(request: Request) -> ORJSONResponse:
    return ORJSONResponse(request.app.state.service.info())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry = request.app.state.service.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
