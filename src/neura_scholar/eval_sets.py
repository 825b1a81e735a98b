"""Evaluation sets built from the corpus: held-out queries, their slices, and hard cases.

Every case carries a stable ``case_id``, the ``query``, the ``relevant_paper_ids`` and, where
one chunk is the answer, the ``relevant_chunk_id``. Randomness comes only from seeds: papers
are drawn with ``numpy.random.default_rng(seed)`` from the id-sorted corpus, so two runs with
the same corpus, parameters and seed produce identical sets.

Held-out query kinds (what each measures):
- ``title``: the paper's title. Known-item search; titles are not indexed (chunks hold the
  abstract and full text), so it tests whether the title's meaning finds the paper's text.
- ``keywords``: the most distinctive terms (TF-IDF) of one chunk, highest first. Keyword-style
  search; the chunk is the relevant chunk. Never a verbatim substring of the paper's chunks.
- ``topic``: the paper's field name followed by its most distinctive terms across title and
  body, with at least one title term and one body term. Topical search the way people phrase
  it ("statistics: horseshoe shrinkage sparse regression"); never a verbatim substring.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from neura_scholar.terms import rank_terms, tokenise_words

CASE_COLUMNS = ["case_id", "query", "kind", "relevant_paper_ids", "relevant_chunk_id", "paper_id"]
FAILURE_COLUMNS = [
    "case_id", "failure_type", "query", "relevant_paper_ids", "relevant_chunk_id", "paper_id",
    "rule",
]  # fmt: skip
HELDOUT_KINDS = ("title", "keywords", "topic")

_FORMULA = re.compile(r"\$[^$]+\$")
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*s?\b")
_ROMAN = re.compile(r"^[IVXLC]+$")


def sample_ids(ids: Sequence[str], n: int | None, seed: int) -> list[str]:
    """``n`` ids drawn without replacement (all of them when ``n`` is None), sorted."""
    ordered = sorted(ids)
    if n is None or n >= len(ordered):
        return ordered
    if n < 0:
        raise ValueError(f"sample size must be non-negative, got {n}")
    picked = np.random.default_rng(seed).choice(len(ordered), size=n, replace=False)
    return sorted(ordered[i] for i in picked)


def is_verbatim(query: str, texts: Sequence[str]) -> bool:
    """Whether ``query`` occurs (case-insensitively) inside any of ``texts``."""
    needle = query.lower()
    return any(needle in text.lower() for text in texts)


class TermContext:
    """Document frequencies plus stop words: what a TF-IDF ranking needs."""

    def __init__(
        self, document_frequency: pd.DataFrame, n_docs: int, stopwords: frozenset[str]
    ) -> None:
        self.df = dict(
            zip(document_frequency["term"], document_frequency["document_frequency"], strict=True)
        )
        self.n_docs = n_docs
        self.stopwords = stopwords

    def rank(self, texts: Sequence[str]) -> list[str]:
        return [term for term, _ in rank_terms(texts, self.df, self.n_docs, self.stopwords)]


def _keywords_query(
    chunk_text: str, paper_texts: list[str], terms: TermContext, n: int
) -> str | None:
    ranked = terms.rank([chunk_text])[:n]
    if len(ranked) < 2:
        return None
    for candidate in (ranked, ranked[::-1]):
        query = " ".join(candidate)
        if not is_verbatim(query, paper_texts):
            return query
    return None


def _topic_query(
    title: str, field: str, paper_texts: list[str], terms: TermContext, n: int
) -> str | None:
    title_terms = set(tokenise_words(title, terms.stopwords))
    ranked = terms.rank([title, *paper_texts])
    best_title = [t for t in ranked if t in title_terms][:1]
    best_body = [t for t in ranked if t not in title_terms][: max(1, n - 1)]
    if not best_title or not best_body:
        return None
    chosen = set(best_title + best_body)
    query = f"{field}: " + " ".join(t for t in ranked if t in chosen)
    return None if is_verbatim(query, paper_texts) else query


def build_heldout(
    papers: pd.DataFrame,
    chunks: pd.DataFrame,
    terms: TermContext,
    *,
    n_papers: int,
    seed: int,
    kinds: Sequence[str],
    keywords_terms: int,
    topic_terms: int,
    field_names: dict[str, str],
) -> pd.DataFrame:
    """Held-out queries for ``n_papers`` papers drawn with ``seed``, one per kind per paper.

    A kind that cannot be built for a paper (too few distinctive terms, or the only orderings
    are verbatim text) is left out for that paper rather than weakened.

    Returns:
        Columns :data:`CASE_COLUMNS`, sorted by ``case_id``
        (``heldout-<kind>-<paper_id>``).
    """
    unknown = set(kinds) - set(HELDOUT_KINDS)
    if unknown:
        raise ValueError(f"unknown held-out kinds {sorted(unknown)}; choose from {HELDOUT_KINDS}")
    by_paper = {pid: group for pid, group in chunks.groupby("paper_id", sort=False)}
    rng_ids = sample_ids(list(papers["paper_id"]), n_papers, seed)
    paper_rows = papers.set_index("paper_id").loc[rng_ids]
    rng = np.random.default_rng(seed)
    rows = []
    for paper_id, paper in paper_rows.iterrows():
        paper_chunks = by_paper[paper_id]
        texts = list(paper_chunks["text"])
        chunk_pick = int(rng.integers(len(paper_chunks)))
        queries: dict[str, tuple[str | None, str | None]] = {
            "title": (paper["title"], None),
            "keywords": (
                _keywords_query(texts[chunk_pick], texts, terms, keywords_terms),
                paper_chunks["chunk_id"].iloc[chunk_pick],
            ),
            "topic": (
                _topic_query(
                    paper["title"], field_names[paper["category_group"]], texts, terms, topic_terms
                ),
                None,
            ),
        }
        for kind in kinds:
            query, chunk_id = queries[kind]
            if query:
                rows.append(
                    {
                        "case_id": f"heldout-{kind}-{paper_id}",
                        "query": query,
                        "kind": kind,
                        "relevant_paper_ids": [paper_id],
                        "relevant_chunk_id": chunk_id,
                        "paper_id": paper_id,
                    }
                )
    return pd.DataFrame(rows, columns=CASE_COLUMNS).sort_values("case_id").reset_index(drop=True)


def bucket_label(value: int, edges: Sequence[int], labels: Sequence[str]) -> str:
    """The label of the bucket ``value`` falls in: below ``edges[0]`` is ``labels[0]``, ..."""
    if len(labels) != len(edges) + 1:
        raise ValueError(f"{len(edges)} bucket edges need {len(edges) + 1} labels, got {labels}")
    return labels[int(np.searchsorted(np.asarray(edges), value, side="right"))]


def tag_slices(
    heldout: pd.DataFrame,
    papers: pd.DataFrame,
    year_edges: Sequence[int],
    year_labels: Sequence[str],
    length_edges: Sequence[int],
    length_labels: Sequence[str],
) -> pd.DataFrame:
    """Every held-out case tagged with its slices.

    Tags: ``category_group`` and ``primary_category`` of the target paper, ``year_bucket`` of
    its publication year, the query ``kind``, and ``length_bucket`` of the query's word count.
    """
    info = papers.set_index("paper_id")[["category_group", "primary_category", "year"]]
    tagged = heldout.join(info, on="paper_id")
    tagged["year_bucket"] = [bucket_label(y, year_edges, year_labels) for y in tagged["year"]]
    tagged["length_words"] = [len(q.split()) for q in tagged["query"]]
    tagged["length_bucket"] = [
        bucket_label(n, length_edges, length_labels) for n in tagged["length_words"]
    ]
    return tagged.astype({"year": "int64", "length_words": "int64"}).reset_index(drop=True)


def _failure(
    failure_type: str,
    key: str,
    query: str,
    rule: dict[str, Any],
    relevant: list[str],
    chunk_id: str | None = None,
) -> dict[str, Any]:
    return {
        "case_id": f"failure-{failure_type}-{key}",
        "failure_type": failure_type,
        "query": query,
        "relevant_paper_ids": relevant,
        "relevant_chunk_id": chunk_id,
        "paper_id": relevant[0] if relevant else None,
        "rule": rule,
    }


def one_word_cases(
    papers: pd.DataFrame, by_paper: dict[str, list[str]], terms: TermContext, ids: list[str],
    rule: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """The paper's single most distinctive term across title and body."""
    titles = papers.set_index("paper_id")["title"]
    cases = []
    for pid in ids:
        ranked = terms.rank([titles[pid], *by_paper[pid]])
        if ranked:
            cases.append(_failure("one_word", pid, ranked[0], rule, [pid]))
    return cases


def very_long_cases(
    papers: pd.DataFrame, by_paper: dict[str, list[str]], tokenizer: Tokenizer, ids: list[str],
    rule: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """Title and text of the paper, kept only when at least ``rule['min_query_tokens']`` long."""
    titles = papers.set_index("paper_id")["title"]
    cases = []
    for pid in ids:
        query = " ".join([titles[pid], *by_paper[pid]])
        if len(tokenizer.encode(query, add_special_tokens=False).ids) >= rule["min_query_tokens"]:
            cases.append(_failure("very_long", pid, query, rule, [pid]))
    return cases


def formula_only_cases(
    papers: pd.DataFrame, ids: list[str], rule: dict[str, Any]
) -> list[dict[str, Any]]:
    """The abstract's inline formulas (``$...$``) alone, when they hold enough characters."""
    abstracts = papers.set_index("paper_id")["abstract"]
    cases = []
    for pid in ids:
        formulas = list(dict.fromkeys(_FORMULA.findall(abstracts[pid])))
        query = " ".join(formulas)
        if sum(len(f) - 2 for f in formulas) >= rule["min_formula_chars"]:
            cases.append(_failure("formula_only", pid, query, rule, [pid]))
    return cases


def acronym_only_cases(
    papers: pd.DataFrame, ids: list[str], rule: dict[str, Any]
) -> list[dict[str, Any]]:
    """Up to three of the abstract's acronyms (``DDA``, ``GANs``, ``MCMC``), nothing else."""
    abstracts = papers.set_index("paper_id")["abstract"]
    cases = []
    for pid in ids:
        found = [a for a in _ACRONYM.findall(abstracts[pid]) if not _ROMAN.match(a)]
        acronyms = [a for a in dict.fromkeys(found) if sum(ch.isupper() for ch in a) >= 2][:3]
        if acronyms and max(len(a) for a in acronyms) >= 3:
            cases.append(_failure("acronym_only", pid, " ".join(acronyms), rule, [pid]))
    return cases


def near_duplicate_title_pairs(
    papers: pd.DataFrame, min_jaccard: float
) -> list[tuple[str, str, float]]:
    """Pairs of distinct papers whose title word sets overlap by at least ``min_jaccard``.

    Candidates share a title word that at most 50 titles use, so the search stays linear-ish.
    """
    words = {
        pid: frozenset(re.findall(r"[a-z0-9]+", title.lower()))
        for pid, title in zip(papers["paper_id"], papers["title"], strict=True)
    }
    postings: dict[str, list[str]] = defaultdict(list)
    for pid, ws in words.items():
        for w in ws:
            postings[w].append(pid)
    seen: set[tuple[str, str]] = set()
    pairs = []
    for ids in postings.values():
        if len(ids) > 50:
            continue
        for a, b in combinations(sorted(ids), 2):
            if (a, b) in seen or len(words[a]) < 3 or words[a] == words[b]:
                continue
            seen.add((a, b))
            jaccard = len(words[a] & words[b]) / len(words[a] | words[b])
            if jaccard >= min_jaccard:
                pairs.append((a, b, jaccard))
    return sorted(pairs)


def near_duplicate_cases(
    papers: pd.DataFrame, rule: dict[str, Any], limit: int, seed: int
) -> list[dict[str, Any]]:
    """One case per near-duplicate pair: the title of A must rank A above B."""
    titles = papers.set_index("paper_id")["title"]
    pairs = near_duplicate_title_pairs(papers, rule["min_jaccard"])
    keys = sample_ids([f"{a}|{b}" for a, b, _ in pairs], limit, seed)
    cases = []
    for key in keys:
        a, b = key.split("|")
        case_rule = {**rule, "paper_id": a, "other_paper_id": b}
        cases.append(_failure("near_duplicate_title", f"{a}-vs-{b}", titles[a], case_rule, [a]))
    return cases


def out_of_domain_cases(queries: Sequence[str], rule: dict[str, Any]) -> list[dict[str, Any]]:
    """Queries no arXiv paper answers; they pass when the top score stays low."""
    return [_failure("out_of_domain", f"{i:03d}", q, rule, []) for i, q in enumerate(queries)]


def failures_frame(cases: list[dict[str, Any]]) -> pd.DataFrame:
    return (
        pd.DataFrame(cases, columns=FAILURE_COLUMNS).sort_values("case_id").reset_index(drop=True)
    )


def fingerprint_cases(*sets: pd.DataFrame) -> str:
    """A sha256 over evaluation sets (rows sorted by ``case_id``, columns by name): two runs
    with the same fingerprint evaluated the same queries with the same answers."""
    digest = hashlib.sha256()
    for cases in sets:
        frame = cases.sort_values("case_id")[sorted(cases.columns)] if len(cases) else cases
        digest.update(
            json.dumps(frame.to_dict(orient="records"), sort_keys=True, default=str).encode()
        )
        digest.update(b"\x00")
    return digest.hexdigest()[:16]
