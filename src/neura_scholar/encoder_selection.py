"""Which encoder embeds: a running service, a registered version, or a model_export variant.

Shared by the embedding pipeline (which builds the index) and the evaluation pipeline (which must
encode queries with the very encoder the index was built with: it compares identities).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.embedding_client import EmbeddingClient
from neura_scholar.encoders import BatchLimits, OnnxEncoder, OnnxRuntimeSettings


class EmbeddingParams(BaseModel):
    """``embedding.encoder`` in parameters_embedding.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: Literal["fp32", "optimised", "int8"] = "int8"
    tokenizer_checkpoint: str
    service_url: str | None = None
    shard_size: int = Field(1024, ge=1)
    max_batch_size: int = Field(64, ge=1)
    max_batch_tokens: int = Field(8192, ge=1)


def select_encoder(
    models: dict[str, bytes], registry_model: dict[str, Any] | None, config: EmbeddingParams, runtime: dict[str, Any]
) -> tuple[Any, str]:
    """The function that embeds texts, and the encoder's identity. Precedence: a service URL,
    then a registry version (the ``registry_encoder`` dataset), then the model_export variant."""
    if config.service_url:
        client = EmbeddingClient(config.service_url, batch_size=config.max_batch_size)
        return client.embed, client.identity
    source = registry_model["uri"] if registry_model is not None else f"onnx:{config.variant}"
    model = registry_model["model"] if registry_model is not None else models[config.variant]
    limits = BatchLimits(config.max_batch_size, config.max_batch_tokens)
    encoder = OnnxEncoder(model, config.tokenizer_checkpoint, str(source), OnnxRuntimeSettings(**runtime), limits)
    identity = f"{source} sha256:{hashlib.sha256(model).hexdigest()[:16]}"
    return (lambda texts: encoder.encode(texts).vectors), identity
