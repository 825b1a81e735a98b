"""stage_eval: a registered candidate pulled by alias or stage, embedded and indexed once per
model, evaluated against production, its verdict written to the registry."""

from neura_scholar.pipelines.stage_eval.pipeline import create_pipeline

__all__ = ["create_pipeline"]
