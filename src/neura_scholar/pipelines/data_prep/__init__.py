"""data_prep: the corpus becomes papers, chunks and evaluation sets."""

from neura_scholar.pipelines.data_prep.pipeline import create_pipeline

__all__ = ["create_pipeline"]
