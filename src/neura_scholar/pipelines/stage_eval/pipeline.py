"""stage_eval wiring: the candidate's own nodes, then the evaluation pipeline's nodes reused
under the ``stage_eval`` namespace (its datasets prefixed ``stage_eval.``), with the stage's
comparison and gate parameters; the evaluation sets, corpus and other knobs are shared."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines import evaluation
from neura_scholar.pipelines.stage_eval import nodes

_SHARED_INPUTS = {"heldout", "perturbations", "failures", "slices", "paper_chunks@pandas", "paper_chunks@files", "baseline_results",
                  "pinned_drift_reference", "external_sets", "encoder_tokenizer", "provenance",
                  "reference_encoder", "comparison_registry_models"}  # fmt: skip
_SHARED_PARAMS = {"params:embedding.encoder", "params:encoder_runtime", "params:indexing",
                  "params:embedding.drift_reference", "params:evaluation.retrieval", "params:evaluation.drift",
                  "params:evaluation.external", "params:evaluation.summary", "params:data_prep.chunking"}  # fmt: skip
_ENCODER = ["params:embedding.encoder", "params:encoder_runtime"]


def _candidate_nodes() -> list[Node]:
    return [
        Node(nodes.describe_candidate, "candidate", ["candidate_report", "run_tags"], name="describe_candidate"),
        Node(
            nodes.embed_and_index_candidate,
            ["paper_chunks@files", "candidate", "model_cache", *_ENCODER, "params:indexing"],
            ["chunk_embeddings", "chunk_index", "cache_report"],
            name="embed_and_index_candidate",
        ),
        Node(
            nodes.load_stage_encoders,
            ["candidate", "reference_encoder", "comparison_registry_models", *_ENCODER, "params:evaluation.comparison"],
            "evaluation_encoders",
            name="load_stage_encoders",
        ),
        Node(
            nodes.build_stage_drift_reference,
            ["paper_chunks@pandas", "heldout", "evaluation_encoders", "params:embedding.drift_reference", "params:evaluation.comparison"],
            "drift_reference",
            name="build_stage_drift_reference",
        ),
    ]


def _verdict_nodes() -> list[Node]:
    return [
        Node(
            nodes.record_verdict,
            ["gate_report", "drift_report", "candidate_report", "provenance"],
            "verdict",
            name="record_verdict",
        ),
        Node(
            nodes.enforce_stage_gate,
            ["verdict", "gate_report", "evaluation_summary", "model_comparison", "evaluation_metric_count"],
            None,
            name="enforce_stage_gate",
        ),
    ]


def create_pipeline(**kwargs: Any) -> Pipeline:
    full = evaluation.create_pipeline()
    reused = full - full.only_nodes("load_evaluation_encoders", "enforce_gate")
    # The candidate's size and origin stand where the default run's export report stood.
    reused = Pipeline(reused, inputs={"export_report": "candidate_report"})
    return Pipeline(
        [Pipeline(_candidate_nodes()), reused, Pipeline(_verdict_nodes())],
        namespace="stage_eval",
        inputs=_SHARED_INPUTS,
        parameters=_SHARED_PARAMS,
    )
