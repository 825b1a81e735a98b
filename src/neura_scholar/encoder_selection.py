"""Which encoder embeds: a running service, a registered version, or a model_export variant.

Shared by the embedding pipeline (which builds the index) and the evaluation pipeline (which must
encode queries with the very encoder the index was built with: it compares identities).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from neura_scholar.embedding_client import EmbeddingClient
from neura_scholar.encoders import BatchLimits, Encoder, OnnxEncoder, OnnxRuntimeSettings


class RayParams(BaseModel):
    """``embedding.encoder.ray``: where the ``ray`` backend runs and with how much."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = None  # None: a local Ray instance; "auto" or ray://host:10001: a cluster
    actors: int = Field(2, ge=1)
    cpus_per_actor: float = Field(1.0, gt=0)
    gpus_per_actor: float = Field(0.0, ge=0)
    num_cpus: int | None = Field(None, ge=1)  # cores of a local instance (None: all)


class EmbeddingParams(BaseModel):
    """``embedding.encoder`` in parameters_embedding.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: Literal["fp32", "optimised", "int8"] = "int8"
    tokenizer_checkpoint: str
    service_url: str | None = None
    shard_size: int = Field(1024, ge=1)
    max_batch_size: int = Field(64, ge=1)
    max_batch_tokens: int = Field(8192, ge=1)
    # local: in this process; ray: shards on a Ray Data actor pool (ray_embedding.py)
    backend: Literal["local", "ray"] = "local"
    ray: RayParams = Field(default_factory=lambda: RayParams.model_validate({}))


def onnx_model(models: dict[str, bytes], registry_model: dict[str, Any] | None, config: EmbeddingParams) -> tuple[bytes, str]:
    """The ONNX bytes that embed and their source: the registry version when one is given, else
    the model_export variant."""
    if registry_model is not None:
        return registry_model["model"], str(registry_model["uri"])
    return models[config.variant], f"onnx:{config.variant}"


def select_encoder(
    models: dict[str, bytes],
    registry_model: dict[str, Any] | None,
    config: EmbeddingParams,
    runtime: dict[str, Any],
) -> tuple[Any, str]:
    """The function that embeds texts, and the encoder's identity. Precedence: a service URL,
    then a registry version (the ``registry_encoder`` dataset), then the model_export variant."""
    if config.service_url:
        client = EmbeddingClient(config.service_url, batch_size=config.max_batch_size)
        return client.embed, client.identity
    model, source = onnx_model(models, registry_model, config)
    limits = BatchLimits(config.max_batch_size, config.max_batch_tokens)
    encoder = OnnxEncoder(
        model, config.tokenizer_checkpoint, str(source), OnnxRuntimeSettings(**runtime), limits
    )
    return (lambda texts: encoder.encode(texts).vectors), onnx_identity(str(source), model)


@dataclass(frozen=True)
class EvalEncoder:
    """One encoder the evaluation runs: how it embeds, what it is and where it came from.

    ``unavailable`` holds why it could not be loaded (e.g. a registry alias that names no
    version yet); such an encoder has no ``encode`` and is reported, never silently skipped.
    """

    name: str
    identity: str
    source: str
    encode: Callable[[Sequence[str]], np.ndarray] | None = None
    registry: dict[str, str] = field(default_factory=dict)
    unavailable: str = ""


def _vectors_of(encoder: Encoder) -> Callable[[Sequence[str]], np.ndarray]:
    def encode(texts: Sequence[str]) -> np.ndarray:
        return encoder.encode(texts).vectors

    return encode


def onnx_identity(source: str, model: bytes) -> str:
    return f"{source} sha256:{hashlib.sha256(model).hexdigest()[:16]}"


def evaluation_encoders(
    candidate: tuple[Any, str],
    reference: Encoder,
    models: dict[str, bytes],
    registry_models: dict[str, dict[str, Any]],
    sources: dict[str, str],
    config: EmbeddingParams,
    runtime: dict[str, Any],
) -> dict[str, EvalEncoder]:
    """``candidate`` (the encoder that built the index) plus every named comparison encoder.

    Args:
        candidate: ``(encode, identity)`` from :func:`select_encoder`.
        reference: the PyTorch reference encoder.
        registry_models: what the ``comparison_registry_models`` dataset loaded, by name.
        sources: name -> ``reference``, ``onnx:<variant>`` or ``registry:<name>`` (an entry of
            ``registry_models``).
    """
    encode, identity = candidate
    encoders = {"candidate": EvalEncoder("candidate", identity, identity.split(" ")[0], encode)}
    limits = BatchLimits(config.max_batch_size, config.max_batch_tokens)
    settings = OnnxRuntimeSettings(**runtime)
    for name, source in sources.items():
        if name == "candidate":
            raise ValueError(
                "'candidate' is the encoder that built the index; name comparison encoders otherwise"
            )
        kind, _, key = source.partition(":")
        if source == "reference":
            encoders[name] = EvalEncoder(name, reference.name, source, _vectors_of(reference))
        elif kind == "onnx" and key in models:
            onnx = OnnxEncoder(models[key], config.tokenizer_checkpoint, source, settings, limits)
            encoders[name] = EvalEncoder(
                name, onnx_identity(source, models[key]), source, _vectors_of(onnx)
            )
        elif kind == "registry" and key in registry_models:
            encoders[name] = _registry_encoder(name, registry_models[key], config, settings, limits)
        else:
            raise ValueError(
                f"comparison encoder {name!r}: source {source!r} is not 'reference', 'onnx:<variant>' with a "
                f"variant of {sorted(models)}, or 'registry:<name>' with a name of {sorted(registry_models)}"
            )
    return encoders


def _registry_encoder(
    name: str,
    entry: dict[str, Any],
    config: EmbeddingParams,
    settings: OnnxRuntimeSettings,
    limits: BatchLimits,
) -> EvalEncoder:
    uri = str(entry["uri"])
    if entry.get("error"):
        return EvalEncoder(name, "", uri, unavailable=str(entry["error"]))
    tags = entry["tags"]
    registry = {"model": tags.get("registered_model", ""), "version": tags.get("model_version", ""),
                "alias": uri.partition("@")[2], "variant": tags.get("variant", "")}  # fmt: skip
    checkpoint = tags.get("tokenizer_checkpoint", config.tokenizer_checkpoint)
    onnx = OnnxEncoder(entry["model"], checkpoint, uri, settings, limits)
    return EvalEncoder(name, onnx_identity(uri, entry["model"]), uri, _vectors_of(onnx), registry)
