"""From a query to ranked papers: chunk hits, collapse to papers, filters, hybrid fusion.

Shared by the evaluation pipeline, the service and the ``neura-scholar search`` command.
Rankings follow trec_eval: score descending, ties broken by id descending.

Collapse methods (chunk hits -> one score per paper):
- ``maxp``: the paper's best chunk score (default);
- ``sump``: the sum of its retrieved chunk scores;
- ``firstp``: the score of its earliest retrieved chunk (lowest position in the paper).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from neura_scholar.indexing import ChunkIndex

Collapse = Literal["maxp", "sump", "firstp"]
RRF_K = 60


@dataclass(frozen=True)
class PaperHit:
    """A paper's collapsed score and its best-scoring chunk (for a snippet)."""

    paper_id: str
    score: float
    chunk_id: str
    chunk_score: float


def split_chunk_id(chunk_id: str) -> tuple[str, int]:
    """``"math/9801057#3"`` -> ``("math/9801057", 3)``."""
    paper_id, _, position = chunk_id.rpartition("#")
    if not paper_id or not position.isdigit():
        raise ValueError(f"{chunk_id!r} is not a chunk id of the form <paper_id>#<position>")
    return paper_id, int(position)


def rank(scored: dict[str, float]) -> list[tuple[str, float]]:
    """Score descending, ties broken by id descending (trec_eval's rule)."""
    by_id_descending = sorted(scored.items(), key=lambda item: item[0], reverse=True)
    return sorted(by_id_descending, key=lambda item: -item[1])  # stable: ties keep id order


def collapse_to_papers(chunk_ids: Sequence[str], scores: Sequence[float], method: Collapse = "maxp") -> list[PaperHit]:
    """Chunk hits (any order) to ranked papers, each with its best chunk."""
    if method not in ("maxp", "sump", "firstp"):
        raise ValueError(f"collapse method must be maxp, sump or firstp, got {method!r}")
    best: dict[str, tuple[float, str]] = {}
    total: dict[str, float] = defaultdict(float)
    first: dict[str, tuple[int, float]] = {}
    for chunk_id, raw_score in zip(chunk_ids, scores, strict=True):
        paper_id, position = split_chunk_id(chunk_id)
        score = float(raw_score)
        if paper_id not in best or score > best[paper_id][0]:
            best[paper_id] = (score, chunk_id)
        total[paper_id] += score
        if paper_id not in first or position < first[paper_id][0]:
            first[paper_id] = (position, score)
    paper_scores = {
        "maxp": {p: s for p, (s, _) in best.items()},
        "sump": dict(total),
        "firstp": {p: s for p, (_, s) in first.items()},
    }[method]
    return [PaperHit(p, s, best[p][1], best[p][0]) for p, s in rank(paper_scores)]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fused ranking: each id scores sum over rankings of 1 / (k + rank), ranks from 1."""
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for position, item in enumerate(ranking, start=1):
            fused[item] += 1.0 / (k + position)
    return rank(dict(fused))


@dataclass(frozen=True)
class PaperFilter:
    """Which papers may be returned: a category (``cs.LG``) or group (``cs``) among the paper's
    categories, and a publication-year range (inclusive)."""

    category: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.category, self.year_from, self.year_to))

    def allowed_papers(self, papers: pd.DataFrame) -> set[str]:
        mask = np.ones(len(papers), dtype=bool)
        if self.category is not None:
            wanted = self.category
            mask &= np.array([
                any(c == wanted or c.split(".")[0] == wanted for c in cats) or group == wanted
                for cats, group in zip(papers["categories"], papers["category_group"], strict=True)
            ])  # fmt: skip
        if self.year_from is not None:
            mask &= papers["year"].to_numpy() >= self.year_from
        if self.year_to is not None:
            mask &= papers["year"].to_numpy() <= self.year_to
        return set(papers["paper_id"].to_numpy()[mask])


class Bm25Chunks:
    """BM25 (bm25s) over the same chunks as the dense index."""

    def __init__(self, chunk_ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        self.chunk_ids = np.asarray(chunk_ids, dtype=str)
        self._bm25s = bm25s
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[str]:
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self.chunk_ids))
        documents, scores = self.model.retrieve(tokens, k=k, show_progress=False)
        return [str(self.chunk_ids[d]) for d, s in zip(documents[0], scores[0], strict=True) if s > 0]


def dense_paper_hits(
    index: ChunkIndex, query_vector: np.ndarray, k: int, method: Collapse, allowed: set[str] | None, overfetch: int = 4
) -> list[PaperHit]:
    """The top ``k`` papers for one query vector: fetch ``k * overfetch`` chunks, and while fewer
    than ``k`` distinct allowed papers come back and the index holds more, fetch four times as
    many."""
    fetch = max(k * overfetch, k)
    while True:
        scores, ids = index.search(query_vector.reshape(1, -1), fetch)
        hits = collapse_to_papers(ids[0], scores[0][: len(ids[0])], method)
        if allowed is not None:
            hits = [h for h in hits if h.paper_id in allowed]
        if len(hits) >= k or fetch >= index.index.ntotal:
            return hits[:k]
        fetch *= 4


def hybrid_paper_hits(
    index: ChunkIndex, bm25: Bm25Chunks, query: str, query_vector: np.ndarray, k: int,
    allowed: set[str] | None, depth: int = 100,
) -> list[PaperHit]:  # fmt: skip
    """Dense and BM25 chunk rankings fused by RRF (k=60), then collapsed by MaxP on the fused
    scores; each paper's best chunk is its best fused chunk."""
    scores, ids = index.search(query_vector.reshape(1, -1), depth)
    fused = reciprocal_rank_fusion([ids[0], bm25.search(query, depth)])
    hits = collapse_to_papers([c for c, _ in fused], [s for _, s in fused], "maxp")
    if allowed is not None:
        hits = [h for h in hits if h.paper_id in allowed]
    return hits[:k]


@dataclass
class Searcher:
    """Query text -> papers with title, year, categories, score and the best chunk as snippet."""

    encode: Callable[[Sequence[str]], np.ndarray]
    index: ChunkIndex
    papers: pd.DataFrame
    chunk_text: dict[str, str]
    bm25: Bm25Chunks | None = None

    def __post_init__(self) -> None:
        # Indexed once here, not per query; each distinct filter's paper set is computed once.
        self._meta = self.papers.set_index("paper_id")[["title", "year", "categories"]]
        self._allowed: dict[PaperFilter, set[str]] = {}

    def search(
        self, query: str, k: int = 10, paper_filter: PaperFilter | None = None, hybrid: bool = False,
        method: Collapse = "maxp",
    ) -> list[dict[str, Any]]:  # fmt: skip
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if hybrid and self.bm25 is None:
            raise ValueError("hybrid search needs the BM25 index over the chunks")
        paper_filter = paper_filter or PaperFilter()
        allowed = None
        if paper_filter.active():
            if paper_filter not in self._allowed:
                self._allowed[paper_filter] = paper_filter.allowed_papers(self.papers)
            allowed = self._allowed[paper_filter]
        vector = self.encode([query])[0]
        if hybrid and self.bm25 is not None:
            hits = hybrid_paper_hits(self.index, self.bm25, query, vector, k, allowed)
        else:
            hits = dense_paper_hits(self.index, vector, k, method, allowed)
        meta = self._meta
        return [
            {
                "paper_id": h.paper_id,
                "title": meta.at[h.paper_id, "title"],
                "year": int(meta.at[h.paper_id, "year"]),
                "categories": list(meta.at[h.paper_id, "categories"]),
                "score": h.score,
                "chunk_id": h.chunk_id,
                "snippet": self.chunk_text.get(h.chunk_id, ""),
            }
            for h in hits
        ]
