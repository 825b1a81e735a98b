"""evaluation: retrieval metrics, slices, robustness, failure modes and the quality gate."""

from neura_scholar.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
