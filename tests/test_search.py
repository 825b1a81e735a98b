"""Search by hand: a 5-paper corpus with a keyword encoder (one-hot vectors), so every score,
rank and collapse is computable on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neura_scholar.indexing import build_index
from neura_scholar.search import (
    Bm25Chunks,
    PaperFilter,
    Searcher,
    collapse_to_papers,
    dense_paper_hits,
    rank,
    reciprocal_rank_fusion,
    split_chunk_id,
)

WORDS = ["graph", "neural", "quantum", "market", "protein"]


def keyword_vector(text: str) -> np.ndarray:
    """One dimension per keyword, L2-normalised: 'graph neural' -> [1, 1, 0, 0, 0] / sqrt 2."""
    v = np.array([float(w in text.split()) for w in WORDS], dtype=np.float32)
    return v / max(np.linalg.norm(v), 1e-9)


CHUNKS = {
    "p1#0": "graph neural", "p1#1": "graph",
    "p2#0": "quantum", "p2#1": "quantum graph",
    "p3#0": "market", "p4#0": "protein neural", "p5#0": "graph neural",
}  # fmt: skip
PAPERS = pd.DataFrame(
    {
        "paper_id": ["p1", "p2", "p3", "p4", "p5"],
        "title": ["Graphs", "Quantum", "Markets", "Proteins", "More graphs"],
        "categories": [["cs.LG"], ["quant-ph"], ["q-fin.ST"], ["q-bio.BM", "cs.LG"], ["cs.SI"]],
        "category_group": ["cs", "physics", "q-fin", "q-bio", "cs"],
        "year": [2015, 2010, 2019, 2005, 2018],
    }
)


@pytest.fixture
def index():  # type: ignore[no-untyped-def]
    ids = list(CHUNKS)
    return build_index(np.stack([keyword_vector(CHUNKS[c]) for c in ids]), np.array(ids), "Flat", {}, 1, 0)


def test_collapse_by_hand() -> None:
    ids = ["p1#1", "p2#3", "p1#0", "p2#0", "p3#2"]
    scores = [0.9, 0.8, 0.7, 0.5, 0.8]
    # maxp: p1 0.9 (p1#1), p2 0.8, p3 0.8 -> p2/p3 tie broken by id descending: p3 before p2.
    assert [(h.paper_id, h.score, h.chunk_id) for h in collapse_to_papers(ids, scores, "maxp")] == [
        ("p1", 0.9, "p1#1"), ("p3", 0.8, "p3#2"), ("p2", 0.8, "p2#3"),
    ]  # fmt: skip
    # sump: p1 0.9 + 0.7 = 1.6, p2 0.8 + 0.5 = 1.3, p3 0.8.
    assert [(h.paper_id, round(h.score, 6)) for h in collapse_to_papers(ids, scores, "sump")] == [("p1", 1.6), ("p2", 1.3), ("p3", 0.8)]
    # firstp: the earliest retrieved chunk's score: p1#0 0.7, p2#0 0.5, p3#2 0.8.
    assert [(h.paper_id, h.score) for h in collapse_to_papers(ids, scores, "firstp")] == [("p3", 0.8), ("p1", 0.7), ("p2", 0.5)]
    with pytest.raises(ValueError, match="collapse method must be maxp, sump or firstp"):
        collapse_to_papers(ids, scores, "meanp")  # type: ignore[arg-type]


def test_rank_ties_by_id_descending_whatever_the_length() -> None:
    assert rank({"ab": 1.0, "abc": 1.0, "b": 1.0, "z": 2.0}) == [("z", 2.0), ("b", 1.0), ("abc", 1.0), ("ab", 1.0)]


def test_chunk_ids_with_slashes_and_bad_ones() -> None:
    assert split_chunk_id("math/9801057#12") == ("math/9801057", 12)
    with pytest.raises(ValueError, match="is not a chunk id"):
        split_chunk_id("no-position")


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]]))
    # a: 1/61 + 1/62; b: 1/62; c: 1/63 + 1/61.
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]])] == ["a", "c", "b"]


def test_dense_search_collapses_and_overfetches_past_one_paper(index) -> None:  # type: ignore[no-untyped-def]
    q = keyword_vector("graph neural")
    # Chunk scores (cosine): p1#0 1, p5#0 1, p1#1 .707, p2#1 .5, p4#0 .5, p2#0 0, p3#0 0.
    hits = dense_paper_hits(index, q, k=3, method="maxp", allowed=None, overfetch=1)
    assert [h.paper_id for h in hits] == ["p5", "p1", "p4"]  # p4#0 and p2#1 tie at 0.5: p4 > p2
    assert hits[0].score == pytest.approx(1.0) and hits[2].score == pytest.approx(0.5)


def test_filters_still_return_k_papers_when_they_exist(index) -> None:  # type: ignore[no-untyped-def]
    q = keyword_vector("graph neural")
    allowed = PaperFilter(category="cs").allowed_papers(PAPERS)
    assert allowed == {"p1", "p4", "p5"}  # p4 is cross-listed in cs.LG
    hits = dense_paper_hits(index, q, k=3, method="maxp", allowed=allowed, overfetch=1)
    assert [h.paper_id for h in hits] == ["p5", "p1", "p4"]
    years = PaperFilter(year_from=2009, year_to=2016).allowed_papers(PAPERS)
    assert years == {"p1", "p2"}
    hits = dense_paper_hits(index, q, k=5, method="maxp", allowed=years, overfetch=1)
    assert [h.paper_id for h in hits] == ["p1", "p2"]  # only two papers match at all


def test_searcher_with_snippets_and_hybrid(index) -> None:  # type: ignore[no-untyped-def]
    bm25 = Bm25Chunks(list(CHUNKS), list(CHUNKS.values()))
    assert bm25.search("market", 5) == ["p3#0"]
    searcher = Searcher(
        encode=lambda texts: np.stack([keyword_vector(t) for t in texts]), index=index, papers=PAPERS,
        chunk_text=CHUNKS, bm25=bm25,
    )  # fmt: skip
    results = searcher.search("quantum", k=2)
    # p2 scores 1; every other paper scores 0 and ties break by id descending: p5 first.
    assert [r["paper_id"] for r in results] == ["p2", "p5"]
    assert results[0] == {
        "paper_id": "p2", "title": "Quantum", "year": 2010, "categories": ["quant-ph"],
        "score": pytest.approx(1.0), "chunk_id": "p2#0", "snippet": "quantum",
    }  # fmt: skip
    # A filter through the searcher, twice (the second from its per-filter cache): same papers.
    years = PaperFilter(year_from=2009, year_to=2016)
    for _ in range(2):
        assert [r["paper_id"] for r in searcher.search("graph neural", k=5, paper_filter=years)] == ["p1", "p2"]
    hybrid = searcher.search("market", k=1, hybrid=True)
    assert hybrid[0]["paper_id"] == "p3"
    with pytest.raises(ValueError, match="k must be at least 1"):
        searcher.search("market", k=0)
