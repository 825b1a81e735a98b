"""Length-sorted batching: hand-computed plans, budgets kept, padding only to each batch's longest."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from neura_scholar.batching import padded_batches, plan_batches, tokenise, truncating_tokenizer


def test_plan_sorts_by_length_and_keeps_both_limits() -> None:
    lengths = np.array([5, 50, 7, 49, 6, 120])
    # Longest first: 120 (index 5), 50 (1), 49 (3), 7 (2), 6 (4), 5 (0).
    # Budget 128 padded tokens: 120 alone (128 // 120 = 1); 50 then 49 (128 // 50 = 2);
    # 7, 6, 5 fit together (128 // 7 = 18, capped by max_batch_size=3).
    plan = plan_batches(lengths, max_batch_size=3, max_batch_tokens=128)
    assert [list(b) for b in plan] == [[5], [1, 3], [2, 4, 0]]


def test_a_text_longer_than_the_budget_goes_alone() -> None:
    assert [list(b) for b in plan_batches(np.array([300, 10]), 8, 100)] == [[0], [1]]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch limits must be positive"):
        plan_batches(np.array([1]), 0, 10)


def test_batches_pad_to_their_own_longest_text(tokenizer: Tokenizer) -> None:
    texts = ["a", "a much longer text than the first one by far", "two words"]
    tokens = tokenise(truncating_tokenizer(tokenizer, 256), texts)
    batches = list(padded_batches(tokens, max_batch_size=2, max_batch_tokens=1000))
    assert [list(b.indices) for b in batches] == [[1, 2], [0]]
    assert batches[0].input_ids.shape == (2, tokens.n_tokens[1])
    assert batches[1].input_ids.shape == (1, 3)  # [CLS] a [SEP]
    assert batches[0].attention_mask[1].sum() == tokens.n_tokens[2]
    mask_lengths = {int(i): int(b.attention_mask[r].sum()) for b in batches for r, i in enumerate(b.indices)}
    assert [mask_lengths[i] for i in range(3)] == list(tokens.n_tokens)


def test_truncation_is_flagged_or_refused(tokenizer: Tokenizer) -> None:
    short = truncating_tokenizer(tokenizer, 8)
    tokens = tokenise(short, ["one two", "one two three four five six seven eight nine"])
    assert list(tokens.n_tokens) == [4, 8] and list(tokens.truncated) == [False, True]
    with pytest.raises(ValueError, match="text 1 is longer than the model's limit of 8 tokens"):
        tokenise(short, ["one", "one two three four five six seven eight nine"], truncate=False)
    with pytest.raises(TypeError, match="text 0 must be a string, got int"):
        tokenise(short, [3])  # type: ignore[list-item]
