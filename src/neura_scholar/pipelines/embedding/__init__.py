"""embedding: every chunk through the chosen encoder; the drift reference."""

from neura_scholar.pipelines.embedding.pipeline import create_pipeline

__all__ = ["create_pipeline"]
