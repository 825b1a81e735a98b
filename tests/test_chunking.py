"""Chunking with the real tokenizer: windows never exceed their size, and no text is lost."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from neura_scholar.chunking import chunk_text, split_into_chunks, token_windows

WORDS = st.sampled_from(
    ["graph", "neural", "network", "embedding", "Schrödinger", "équation", "$\\alpha_1$",
     "x^2", "(see", "Fig.", "3)", "pre-training", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "naïve", "GANs", "α-β", "\\mathbb{R}^n", "42", "co-occurrence", "Ωmega", "tokenisation"]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", "  ", "\n", " \t "])
TEXTS = st.lists(st.tuples(WORDS, SEPARATORS), min_size=1, max_size=300).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


def _n_tokens(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, max_tokens=st.integers(2, 64), overlap_fraction=st.floats(0, 0.9))
def test_chunks_fit_the_window_and_cover_every_token(
    tokenizer: Tokenizer, text: str, max_tokens: int, overlap_fraction: float
) -> None:
    overlap = min(max_tokens - 1, int(max_tokens * overlap_fraction))
    spans = chunk_text(tokenizer, text, max_tokens, overlap)
    # No chunk exceeds the window, counted by re-tokenising the chunk's own text.
    assert all(_n_tokens(tokenizer, text[a:b]) <= max_tokens for a, b in spans)
    # No text lost: every token of the source lies inside some chunk...
    offsets = tokenizer.encode(text, add_special_tokens=False).offsets
    assert all(any(a <= start and end <= b for a, b in spans) for start, end in offsets)
    # ...so every non-space character does too (the sampled words hold no dropped characters).
    covered = set().union(*(range(a, b) for a, b in spans)) if spans else set()
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    # Windows advance, and between one's end and the next one's start lies only whitespace.
    assert all(
        a1 < a2 and not text[b1:a2].strip() for (a1, b1), (a2, _) in zip(spans, spans[1:], strict=False)
    )


def test_windows_stop_on_word_boundaries_and_overlap_by_whole_words() -> None:
    # Tokens 0..7 belong to words: w0 w0 | w1 | w2 w2 w2 | w3 | w4 (word id per token).
    word_ids = [0, 0, 1, 2, 2, 2, 3, 4]
    # Window 1: [0, 4) would cut word 2 after one token, so it ends at 3 -> (0, 3).
    # Overlap 1 token back from 3 is token 2, a word start -> window 2 starts at 2: (2, 6).
    # Overlap 1 back from 6 is token 5, inside word 2: forward to the next word start, 6 -> (6, 8).
    assert token_windows(word_ids, max_tokens=4, overlap=1) == [(0, 3), (2, 6), (6, 8)]
    # Overlap 2: from 3 back to token 1, inside word 0, forward to 2 -> (2, 6); from 6 back to
    # token 4, inside word 2, forward to 6 -> (6, 8). Overlaps only ever hold whole words.
    assert token_windows(word_ids, max_tokens=4, overlap=2) == [(0, 3), (2, 6), (6, 8)]
    # Overlap 3: from 6 back to token 3, word 2's start -> (3, 7); from 7 back to token 4,
    # inside word 2, forward to 6 -> (6, 8).
    assert token_windows(word_ids, max_tokens=4, overlap=3) == [(0, 3), (2, 6), (3, 7), (6, 8)]


def test_a_word_longer_than_the_window_is_cut_inside_the_word(tokenizer: Tokenizer) -> None:
    text = "short " + "a" * 300 + " tail"
    spans = chunk_text(tokenizer, text, max_tokens=8, overlap=2)
    assert all(_n_tokens(tokenizer, text[a:b]) <= 8 for a, b in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_window_parameters_are_checked(tokenizer: Tokenizer) -> None:
    with pytest.raises(ValueError, match="overlap must be in \\[0, max_tokens=8\\), got 8"):
        chunk_text(tokenizer, "text", 8, 8)
    with pytest.raises(ValueError, match="max_tokens must be at least 1, got 0"):
        chunk_text(tokenizer, "text", 0, 0)


def test_split_into_chunks_numbers_chunks_per_paper_across_abstract_and_sections(
    tokenizer: Tokenizer,
) -> None:
    papers = pd.DataFrame(
        {"paper_id": ["1702.08372", "math/9801057"], "abstract": ["one two three four five six", "tiny"]}
    )
    sections = pd.DataFrame(
        {"paper_id": ["1702.08372"], "position": [0], "heading": ["Intro"], "text": ["seven eight nine"]}
    )
    chunks = split_into_chunks(papers, sections, tokenizer, max_tokens=4, overlap=1)
    # Six one-token words in windows of 4 with overlap 1: [0,4) and [3,6); the section: one chunk.
    assert chunks[["chunk_id", "source", "section", "text", "n_tokens"]].values.tolist() == [
        ["1702.08372#0", "abstract", "abstract", "one two three four", 4],
        ["1702.08372#1", "abstract", "abstract", "four five six", 3],
        ["1702.08372#2", "fulltext", "Intro", "seven eight nine", 3],
        ["math/9801057#0", "abstract", "abstract", "tiny", 1],
    ]
    assert chunks["chunk_id"].is_unique
