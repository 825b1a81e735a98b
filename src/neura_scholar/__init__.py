"""neura-scholar: chunk-based semantic search over arXiv."""

__version__ = "0.1.0"
