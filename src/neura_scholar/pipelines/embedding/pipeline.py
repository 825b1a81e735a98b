"""embedding wiring."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.embedding import nodes

_MODELS = ["encoder_fp32", "encoder_optimised", "encoder_int8", "registry_encoder"]


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.embed_chunks,
                ["paper_chunks@files", *_MODELS, "embedding_shards", "params:embedding.encoder", "params:encoder_runtime"],
                "chunk_embeddings",
                name="embed_chunks",
            ),
            Node(
                nodes.build_drift_reference,
                ["paper_chunks@pandas", "heldout", "chunk_embeddings", *_MODELS, "params:embedding.drift_reference",
                 "params:embedding.encoder", "params:encoder_runtime"],  # fmt: skip
                "drift_reference",
                name="build_drift_reference",
            ),
            Node(nodes.summarise_embeddings, "chunk_embeddings", "embedding_metrics", name="summarise_embeddings"),
        ]
    )
