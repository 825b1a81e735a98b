"""model_export wiring."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.model_export import nodes

_VARIANTS = ["encoder_fp32", "encoder_optimised", "encoder_int8"]
_RUNTIME = "params:encoder_runtime"


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(nodes.export_onnx_model, ["reference_encoder", "params:model_export.export"], "encoder_fp32", name="export_onnx_model"),
            Node(
                nodes.optimise_onnx_model,
                ["encoder_fp32", "reference_encoder"],
                ["encoder_optimised", "optimisation_fusions"],
                name="optimise_onnx_model",
            ),
            Node(nodes.quantise_onnx_model, ["encoder_optimised", "params:model_export.export"], "encoder_int8", name="quantise_onnx_model"),
            Node(
                nodes.select_probe_texts,
                ["paper_chunks@pandas", "heldout", "params:model_export.parity"],
                "export_probe_texts",
                name="select_probe_texts",
            ),
            Node(
                nodes.check_parity,
                ["reference_encoder", *_VARIANTS, "export_probe_texts", "params:model_export.parity", _RUNTIME],
                "export_parity",
                name="check_parity",
            ),
            Node(
                nodes.measure_encoder_speed,
                ["reference_encoder", *_VARIANTS, "export_probe_texts", "params:model_export.speed", _RUNTIME],
                "export_speed",
                name="measure_encoder_speed",
            ),
            Node(
                nodes.build_export_report,
                [*_VARIANTS, "optimisation_fusions", "export_parity", "export_speed", "params:model_export.export", _RUNTIME],
                ["export_report", "export_metrics"],
                name="build_export_report",
            ),
            Node(
                nodes.prepare_registry_entries,
                [*_VARIANTS, "export_report", "params:model_export.checkpoint"],
                "registered_encoders",
                name="prepare_registry_entries",
            ),
        ]
    )
