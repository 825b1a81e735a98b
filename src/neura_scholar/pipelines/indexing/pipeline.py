"""indexing wiring."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.indexing import nodes


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.build_chunk_index,
                ["chunk_embeddings", "params:indexing", "params:embedding.encoder.ray"],
                "chunk_index",
                name="build_chunk_index",
            ),
            Node(
                nodes.measure_index_recall,
                ["chunk_index", "chunk_embeddings", "params:indexing"],
                "index_metrics",
                name="measure_index_recall",
            ),
        ]
    )
