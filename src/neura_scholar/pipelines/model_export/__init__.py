"""model_export: the bi-encoder to ONNX (fp32, optimised, INT8), checked, measured, registered."""

from neura_scholar.pipelines.model_export.pipeline import create_pipeline

__all__ = ["create_pipeline"]
