"""Word statistics over chunks: which terms make a chunk (or a paper) distinctive.

Terms are lowercase words of at least three characters (letters, digits, inner hyphens),
starting with a letter and not in the stop-word list (bm25s' English list plus any extra words
configured). Distinctiveness is TF-IDF with document frequencies counted over chunks:
``tf * ln(n_docs / df)``, ties broken alphabetically so every ranking is deterministic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd
from bm25s.stopwords import STOPWORDS_EN_PLUS

_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def stopword_set(extra: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(STOPWORDS_EN_PLUS) | {word.lower() for word in extra}


def tokenise_words(text: str, stopwords: frozenset[str]) -> list[str]:
    """The text's terms in order (lowercased, stop words and short words left out)."""
    return [w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in stopwords]


def count_document_frequencies(texts: Iterable[str], stopwords: frozenset[str]) -> pd.DataFrame:
    """Per term, the number of texts it occurs in.

    Returns:
        Columns ``term`` (str) and ``document_frequency`` (int64), sorted by term.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(tokenise_words(text, stopwords)))
    frame = pd.DataFrame(sorted(counts.items()), columns=["term", "document_frequency"])
    return frame.astype({"document_frequency": "int64"})


def rank_terms(
    texts: Iterable[str],
    document_frequency: dict[str, int],
    n_docs: int,
    stopwords: frozenset[str],
) -> list[tuple[str, float]]:
    """Terms of ``texts`` (taken together) by TF-IDF, highest first, ties alphabetical.

    A term never seen in the collection counts as occurring in one document.
    """
    tf: Counter[str] = Counter()
    for text in texts:
        tf.update(tokenise_words(text, stopwords))
    scored = [
        (term, count * math.log(n_docs / max(1, document_frequency.get(term, 1))))
        for term, count in tf.items()
    ]
    return sorted(scored, key=lambda item: (-item[1], item[0]))
