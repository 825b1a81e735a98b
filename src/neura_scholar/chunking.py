"""Splitting paper text into token windows of the encoder's own tokenizer.

A window holds at most ``max_tokens`` tokens (special tokens not counted) and starts ``overlap``
tokens before the previous one ended. Windows end and start on word boundaries, so a chunk's
text re-tokenises to exactly the tokens counted; a single word longer than a window is the one
place a window cuts inside a word. Every token of the source text lies in some chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from tokenizers import Tokenizer
from tqdm import tqdm

CHUNK_COLUMNS = [
    "chunk_id", "paper_id", "position", "source", "section", "text", "n_tokens",
    "char_start", "char_end",
]  # fmt: skip


def check_window(max_tokens: int, overlap: int) -> None:
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap must be in [0, max_tokens={max_tokens}), got {overlap}")


def _back_to_word_start(word_ids: Sequence[int | None], index: int, floor: int) -> int:
    """Move ``index`` back while it points inside a word, never to ``floor`` or below."""
    while index > floor and word_ids[index] == word_ids[index - 1]:
        index -= 1
    return index


def _forward_to_word_start(word_ids: Sequence[int | None], index: int, ceiling: int) -> int:
    """Move ``index`` forward while it points inside a word, never past ``ceiling``."""
    while index < ceiling and word_ids[index] == word_ids[index - 1]:
        index += 1
    return index


def token_windows(
    word_ids: Sequence[int | None], max_tokens: int, overlap: int
) -> list[tuple[int, int]]:
    """Half-open token ranges ``[start, end)`` covering every token (``word_ids`` per token).

    A window ends before a word it would cut (unless that word alone is longer than the window);
    the next starts at most ``overlap`` tokens before that end, on a word start.
    """
    n = len(word_ids)
    windows: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end = min(start + max_tokens, n)
        if end < n:
            aligned = _back_to_word_start(word_ids, end, start)
            end = aligned if aligned > start else end  # one word longer than the window
        windows.append((start, end))
        if end == n:
            break
        start = _forward_to_word_start(word_ids, max(end - overlap, start + 1), end)
    return windows


def chunk_text(
    tokenizer: Tokenizer, text: str, max_tokens: int, overlap: int
) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the chunks of ``text``, each within the window."""
    check_window(max_tokens, overlap)
    encoding = tokenizer.encode(text, add_special_tokens=False)
    offsets, word_ids = encoding.offsets, encoding.word_ids  # each access builds a new list
    n = len(offsets)
    spans = []
    for first, window_end in token_windows(word_ids, max_tokens, overlap):
        last = window_end
        start, end = offsets[first][0], offsets[last - 1][1]
        cut_inside_word = (first > 0 and word_ids[first] == word_ids[first - 1]) or (
            last < n and word_ids[last] == word_ids[last - 1]
        )
        # A cut inside an over-long word can re-tokenise into more pieces: shrink until it fits.
        while cut_inside_word and last - first > 1 and _count(tokenizer, text[start:end]) > max_tokens:
            last -= 1
            end = offsets[last - 1][1]
        spans.append((start, end))
    return spans


def _count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def split_into_chunks(
    papers: pd.DataFrame,
    sections: pd.DataFrame,
    tokenizer: Tokenizer,
    max_tokens: int,
    overlap: int,
) -> pd.DataFrame:
    """One row per chunk: the abstract's windows first, then each full-text section's.

    Args:
        papers: ``paper_id`` and ``abstract`` per paper.
        sections: ``paper_id``, ``position``, ``heading``, ``text`` per full-text section
            (may be empty); windows never cross a section boundary.

    Returns:
        Columns :data:`CHUNK_COLUMNS`; ``chunk_id`` is ``"<paper_id>#<position>"`` with
        positions counting from 0 within each paper, ``n_tokens`` the chunk's token count.
    """
    check_window(max_tokens, overlap)
    pieces: dict[str, list[tuple[str, str, str]]] = {
        pid: [("abstract", "abstract", abstract)]
        for pid, abstract in zip(papers["paper_id"], papers["abstract"], strict=True)
    }
    for row in sections.sort_values(["paper_id", "position"]).itertuples(index=False):
        if row.paper_id in pieces:
            pieces[row.paper_id].append(("fulltext", row.heading, row.text))
    rows: list[dict[str, Any]] = []
    progress = tqdm(pieces.items(), total=len(pieces), desc="chunking", unit="paper", disable=None)
    for paper_id, paper_pieces in progress:
        position = 0
        for source, section, text in paper_pieces:
            for start, end in chunk_text(tokenizer, text, max_tokens, overlap):
                rows.append(
                    {
                        "chunk_id": f"{paper_id}#{position}",
                        "paper_id": paper_id,
                        "position": position,
                        "source": source,
                        "section": section,
                        "text": text[start:end],
                        "char_start": start,
                        "char_end": end,
                    }
                )
                position += 1
    chunks = pd.DataFrame(rows, columns=[c for c in CHUNK_COLUMNS if c != "n_tokens"])
    encodings = tokenizer.encode_batch(list(chunks["text"]), add_special_tokens=False)
    chunks.insert(6, "n_tokens", [len(e.ids) for e in encodings])
    return chunks.astype({"position": "int64", "n_tokens": "int64"})
