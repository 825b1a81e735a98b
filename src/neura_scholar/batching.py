"""Tokenising texts for an encoder and planning batches that waste no compute on padding.

Texts are tokenised once (special tokens added, truncated at the model's limit and flagged),
sorted by length, and cut into batches bounded both by a count and by a token budget (batch
size times the longest text in it, i.e. what the padded batch costs). Each batch is padded
only to its own longest text. Callers put results back in input order by the batch indices.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer


@dataclass(frozen=True)
class TokenisedTexts:
    """Token ids per text, with how many tokens each uses and whether it was truncated."""

    ids: list[list[int]]
    type_ids: list[list[int]]
    n_tokens: np.ndarray  # int64 [n], special tokens included
    truncated: np.ndarray  # bool [n]


@dataclass(frozen=True)
class PaddedBatch:
    """One batch: the positions of its texts in the input, and int64 [b, L] model inputs."""

    indices: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray


def truncating_tokenizer(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    """A copy of ``tokenizer`` that truncates at ``max_length`` tokens and never pads."""
    configured = Tokenizer.from_str(tokenizer.to_str())
    configured.no_padding()
    configured.enable_truncation(max_length)
    return configured


def tokenise(tokenizer: Tokenizer, texts: Sequence[str], truncate: bool = True) -> TokenisedTexts:
    """Tokenise ``texts`` with special tokens, with a tokenizer from :func:`truncating_tokenizer`.

    Raises:
        TypeError: when a text is not a string.
        ValueError: when ``truncate`` is false and a text is longer than the model's limit.
    """
    if tokenizer.truncation is None:
        raise ValueError("the tokenizer does not truncate; build it with truncating_tokenizer()")
    max_length = tokenizer.truncation["max_length"]
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} must be a string, got {type(text).__name__}")
    encodings = tokenizer.encode_batch(list(texts))
    truncated = np.array([bool(e.overflowing) for e in encodings], dtype=bool)
    if not truncate and truncated.any():
        first = int(np.flatnonzero(truncated)[0])
        raise ValueError(
            f"text {first} is longer than the model's limit of {max_length} tokens; "
            "shorten it or ask for truncation"
        )
    return TokenisedTexts(
        ids=[e.ids for e in encodings],
        type_ids=[e.type_ids for e in encodings],
        n_tokens=np.array([len(e.ids) for e in encodings], dtype=np.int64),
        truncated=truncated,
    )


def plan_batches(lengths: np.ndarray, max_batch_size: int, max_batch_tokens: int) -> list[np.ndarray]:
    """Index groups, longest texts first, each within ``max_batch_size`` texts and
    ``max_batch_tokens`` padded tokens (a text longer than the budget goes alone)."""
    if max_batch_size < 1 or max_batch_tokens < 1:
        raise ValueError(f"batch limits must be positive, got {max_batch_size} texts, {max_batch_tokens} tokens")
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])  # sorted: the first text of a batch is its longest
        size = max(1, min(max_batch_size, max_batch_tokens // max(1, longest)))
        batches.append(order[start : start + size])
        start += size
    return batches


def padded_batches(tokens: TokenisedTexts, max_batch_size: int, max_batch_tokens: int) -> Iterator[PaddedBatch]:
    """The planned batches, each padded to its own longest text."""
    for indices in plan_batches(tokens.n_tokens, max_batch_size, max_batch_tokens):
        width = int(tokens.n_tokens[indices].max())
        input_ids = np.zeros((len(indices), width), dtype=np.int64)
        attention_mask = np.zeros_like(input_ids)
        token_type_ids = np.zeros_like(input_ids)
        for row, i in enumerate(indices):
            n = int(tokens.n_tokens[i])
            input_ids[row, :n] = tokens.ids[i]
            attention_mask[row, :n] = 1
            token_type_ids[row, :n] = tokens.type_ids[i]
        yield PaddedBatch(indices, input_ids, attention_mask, token_type_ids)
