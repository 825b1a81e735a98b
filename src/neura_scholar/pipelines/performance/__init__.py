"""performance: latency and throughput of the encoders, FAISS search and the HTTP service."""

from neura_scholar.pipelines.performance.pipeline import create_pipeline

__all__ = ["create_pipeline"]
