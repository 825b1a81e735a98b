"""indexing: the FAISS chunk index over the chunk embeddings."""

from neura_scholar.pipelines.indexing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
