"""``TokenizerDataset``: an encoder checkpoint's tokenizer, read-only, as a catalog input.

Making the tokenizer a dataset keeps file access out of nodes and shows in kedro viz which
checkpoint the chunks were cut with.
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError
from tokenizers import Tokenizer

from neura_scholar.checkpoints import load_tokenizer, resolve_checkpoint


class TokenizerDataset(AbstractDataset[Tokenizer, Tokenizer]):
    """The fast tokenizer of ``checkpoint`` (a model package name or a local model directory)."""

    def __init__(self, checkpoint: str, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._checkpoint = checkpoint

    def load(self) -> Tokenizer:
        return load_tokenizer(self._checkpoint)

    def save(self, data: Tokenizer) -> None:
        raise DatasetError("TokenizerDataset is read-only: it comes with the checkpoint")

    def _exists(self) -> bool:
        try:
            resolve_checkpoint(self._checkpoint)
        except ValueError:
            return False
        return True

    def _describe(self) -> dict[str, Any]:
        return {"checkpoint": self._checkpoint}
