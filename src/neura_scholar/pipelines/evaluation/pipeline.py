"""evaluation wiring: the candidate through the evaluation sets, the comparison encoders beside
it, drift, external sets, reports, and the gate last (so every report exists when it stops a run)."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.evaluation import comparison_nodes, external_nodes, nodes, report_nodes

_ENCODERS = ["encoder_fp32", "encoder_optimised", "encoder_int8", "registry_encoder", "reference_encoder",
             "comparison_registry_models", "params:embedding.encoder", "params:encoder_runtime",
             "params:evaluation.comparison"]  # fmt: skip
_SETS = ["heldout", "perturbations", "failures"]
_RETRIEVAL = "params:evaluation.retrieval"


def _candidate_nodes() -> list[Node]:
    return [
        Node(
            nodes.load_evaluation_encoders,
            _ENCODERS,
            "evaluation_encoders",
            name="load_evaluation_encoders",
        ),
        Node(
            nodes.retrieve_eval_sets,
            [*_SETS, "chunk_index", "evaluation_encoders", _RETRIEVAL],
            "eval_hits",
            name="retrieve_eval_sets",
        ),
        Node(
            nodes.score_heldout,
            ["heldout", "eval_hits", _RETRIEVAL],
            "per_query_results",
            name="score_heldout",
        ),
        Node(
            nodes.summarise_retrieval,
            ["per_query_results", "slices", _RETRIEVAL],
            ["retrieval_metrics", "slice_metrics"],
            name="summarise_retrieval",
        ),
        Node(
            nodes.score_perturbations,
            ["heldout", "perturbations", "eval_hits", _RETRIEVAL],
            "robustness_report",
            name="score_perturbations",
        ),
        Node(
            nodes.score_failures, ["failures", "eval_hits"], "failure_report", name="score_failures"
        ),
    ]


def _comparison_nodes() -> list[Node]:
    return [
        Node(
            comparison_nodes.evaluate_encoders,
            [*_SETS, "paper_chunks@pandas", "chunk_embeddings", "evaluation_encoders", _RETRIEVAL],
            "encoder_results",
            name="evaluate_encoders",
        ),
        Node(
            comparison_nodes.compare_with_baseline,
            [
                "per_query_results",
                "robustness_report",
                "failure_report",
                "encoder_results",
                "baseline_results",
                "params:evaluation.comparison",
            ],
            ["comparison_report", "comparison_per_query"],
            name="compare_with_baseline",
        ),
        Node(
            comparison_nodes.measure_drift,
            [
                "drift_reference",
                "pinned_drift_reference",
                "paper_chunks@pandas",
                "heldout",
                "evaluation_encoders",
                "params:evaluation.drift",
            ],
            "drift_report",
            name="measure_drift",
        ),
        Node(
            external_nodes.evaluate_external_sets,
            [
                "external_sets",
                "evaluation_encoders",
                "encoder_tokenizer",
                "params:data_prep.chunking",
                _RETRIEVAL,
                "params:evaluation.external",
            ],
            ["external_metrics", "external_per_query"],
            name="evaluate_external_sets",
        ),
    ]


def _report_nodes() -> list[Node]:
    plots = ["metrics_at_k_plot", "slices_plot", "robustness_plot", "drift_plot"]
    return [
        Node(
            report_nodes.judge_gate,
            [
                "retrieval_metrics",
                "slice_metrics",
                "comparison_report",
                "drift_report",
                "params:evaluation.gate",
            ],
            "gate_report",
            name="judge_gate",
        ),
        Node(
            report_nodes.record_model_comparison,
            [
                "comparison_report",
                "drift_report",
                "evaluation_encoders",
                "export_report",
                "chunk_index",
                *_SETS,
                "provenance",
                "params:evaluation.comparison",
            ],  # fmt: skip
            "model_comparison",
            name="record_model_comparison",
        ),
        Node(
            report_nodes.draw_plots,
            [
                "comparison_report",
                "slice_metrics",
                "drift_report",
                _RETRIEVAL,
                "params:evaluation.summary",
            ],
            plots,
            name="draw_plots",
        ),
        Node(
            report_nodes.write_summary,
            [
                "gate_report",
                "comparison_report",
                "slice_metrics",
                "drift_report",
                "params:evaluation.gate",
                "params:evaluation.summary",
                *plots,
            ],  # fmt: skip
            "evaluation_summary",
            name="write_summary",
        ),
        Node(
            report_nodes.flatten_metrics,
            ["comparison_report", "drift_report", "gate_report"],
            ["evaluation_metrics", "evaluation_metric_count"],
            name="flatten_metrics",
        ),
        # Last: its inputs are every report, so all of them are written before a failed gate stops the run.
        Node(
            report_nodes.enforce_gate,
            [
                "gate_report",
                "evaluation_summary",
                "model_comparison",
                "external_metrics",
                "evaluation_metric_count",
            ],
            None,
            name="enforce_gate",
        ),
    ]


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(_candidate_nodes() + _comparison_nodes() + _report_nodes())
