"""The artifacts of the last ``kedro run`` that search needs, loaded and verified through the
project's catalog: the encoder that built the index (refusing any other), the index, the
papers and the chunk texts. Shared by ``neura-scholar search`` and the service.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from neura_scholar.indexing import ChunkIndex

logger = logging.getLogger(__name__)


class ArtifactError(RuntimeError):
    """The run's artifacts cannot be served together (missing, or built by another encoder)."""


@dataclass(frozen=True)
class RunArtifacts:
    model: bytes  # the ONNX encoder
    identity: str  # "<source> sha256:<16 hex>", as the index records it
    tokenizer_checkpoint: str
    runtime: dict[str, Any]  # encoder_runtime parameters
    index: ChunkIndex
    papers: pd.DataFrame
    chunks: pd.DataFrame

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.identity, "index_factory": self.index.factory, "index_size": int(self.index.index.ntotal),
                "dim": self.index.dim, "papers": len(self.papers), "chunks": len(self.chunks)}  # fmt: skip


def load_run_artifacts(project_dir: Path, env: str | None = None) -> RunArtifacts:
    """Everything a searcher needs from the last run of the project at ``project_dir``."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project_dir)
    session = KedroSession.create(project_path=project_dir, env=env)
    try:
        catalog = session.load_context().catalog
        params = catalog.load("parameters")
        index = catalog.load("chunk_index")
        config = params["embedding"]["encoder"]
        registered = catalog.load("registry_encoder")
        model = registered["model"] if registered else catalog.load(f"encoder_{config['variant']}")
        papers, chunks = catalog.load("papers"), catalog.load("paper_chunks@pandas")
    finally:
        session.close()
    source = registered["uri"] if registered else f"onnx:{config['variant']}"
    identity = f"{source} sha256:{hashlib.sha256(model).hexdigest()[:16]}"
    if identity != index.encoder:
        raise ArtifactError(
            f"the index was built with {index.encoder} but the configured encoder is {identity}; "
            "rerun `kedro run --pipeline embedding` and `--pipeline indexing`"
        )
    return RunArtifacts(model, identity, config["tokenizer_checkpoint"], dict(params["encoder_runtime"]), index, papers, chunks)
