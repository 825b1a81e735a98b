"""performance wiring: encoders, search and the service measured, then one report."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.performance import nodes


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.measure_encoders,
                ["encoder_fp32", "encoder_optimised", "encoder_int8", "reference_encoder", "heldout", "paper_chunks@pandas",
                 "params:performance.encoders", "params:encoder_runtime"],  # fmt: skip
                "encoder_speed",
                name="measure_encoders",
            ),
            Node(
                nodes.measure_search,
                ["chunk_embeddings", "chunk_index", "encoder_int8", "heldout", "params:performance.search", "params:encoder_runtime"],
                "search_speed",
                name="measure_search",
            ),
            Node(nodes.measure_service, ["heldout", "params:performance.service"], "service_speed", name="measure_service"),
            Node(
                nodes.build_performance_report,
                ["encoder_speed", "search_speed", "service_speed", "provenance"],
                ["performance_report", "performance_report_latest", "performance_metrics",
                 "latency_plot", "throughput_plot", "search_speed_plot", "service_latency_plot"],  # fmt: skip
                name="build_performance_report",
            ),
        ]
    )
