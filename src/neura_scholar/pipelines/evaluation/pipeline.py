"""evaluation wiring."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.evaluation import nodes

_ENCODER = ["encoder_fp32", "encoder_optimised", "encoder_int8", "registry_encoder",
            "params:embedding.encoder", "params:encoder_runtime"]  # fmt: skip


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.retrieve_eval_sets,
                ["heldout", "perturbations", "failures", "chunk_index", *_ENCODER, "params:evaluation.retrieval"],
                "eval_hits",
                name="retrieve_eval_sets",
            ),
            Node(nodes.score_heldout, ["heldout", "eval_hits", "params:evaluation.retrieval"], "per_query_results", name="score_heldout"),
            Node(
                nodes.summarise_retrieval,
                ["per_query_results", "slices", "params:evaluation.retrieval"],
                ["retrieval_metrics", "slice_metrics"],
                name="summarise_retrieval",
            ),
            Node(
                nodes.score_perturbations,
                ["heldout", "perturbations", "eval_hits", "params:evaluation.retrieval"],
                "robustness_report",
                name="score_perturbations",
            ),
            Node(nodes.score_failures, ["failures", "eval_hits"], "failure_report", name="score_failures"),
            Node(nodes.check_gate, ["retrieval_metrics", "params:evaluation.gate"], "gate_report", name="check_gate"),
        ]
    )
