"""Noisy versions of clean queries: typos, case, dropped or shuffled words, truncation, LaTeX.

Each perturbation is a pure function of the query and a ``random.Random`` seeded from
``(seed, case_id, type)``, so a case's perturbed query never depends on which other cases or
types were generated. A perturbation that would not change the query (LaTeX stripped from a
query with none, a shuffle of one word) yields nothing rather than a copy of the clean query.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

PERTURBATION_COLUMNS = [
    "case_id", "clean_case_id", "perturbation", "query", "clean_query", "kind",
    "relevant_paper_ids", "relevant_chunk_id",
]  # fmt: skip

_MATH = re.compile(r"\$([^$]*)\$")
_COMMAND_WITH_ARG = re.compile(r"\\[A-Za-z]+\*?\{([^{}]*)\}")
_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
_GREEK = (
    "alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "sigma", "tau",
    "phi", "omega", "pi", "rho", "kappa", "eta", "xi", "zeta", "chi", "psi", "nu",
)  # fmt: skip


def typo(query: str, rng: random.Random) -> str | None:
    """About one character edit (swap, drop, insert, substitute) per four words of 4+ letters."""
    words = query.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return None
    for i in rng.sample(candidates, max(1, len(candidates) // 4)):
        word = words[i]
        pos = rng.randrange(1, len(word) - 1)
        op = rng.choice(("swap", "drop", "insert", "substitute"))
        letter = rng.choice(string.ascii_lowercase)
        if op == "swap":
            word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
        elif op == "drop":
            word = word[:pos] + word[pos + 1 :]
        elif op == "insert":
            word = word[:pos] + letter + word[pos:]
        else:
            word = word[:pos] + letter + word[pos + 1 :]
        words[i] = word
    return " ".join(words)


def case_change(query: str, rng: random.Random) -> str | None:
    """All upper case, or all lower case when the query already is upper case."""
    return query.upper() if query != query.upper() else query.lower()


def word_drop(query: str, rng: random.Random) -> str | None:
    """About a quarter of the words (at least one) dropped; needs two words or more."""
    words = query.split()
    if len(words) < 2:
        return None
    drop = set(rng.sample(range(len(words)), max(1, len(words) // 4)))
    return " ".join(w for i, w in enumerate(words) if i not in drop)


def word_shuffle(query: str, rng: random.Random) -> str | None:
    """The same words in another order."""
    words = query.split()
    if len(set(words)) < 2:
        return None
    shuffled = words[:]
    while shuffled == words:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def truncation(query: str, rng: random.Random) -> str | None:
    """The first half of the words (rounded up); needs two words or more."""
    words = query.split()
    return " ".join(words[: (len(words) + 1) // 2]) if len(words) >= 2 else None


def latex_strip(query: str, rng: random.Random) -> str | None:
    """Math delimiters and LaTeX commands removed, command arguments kept."""
    stripped = _MATH.sub(r"\1", query)
    previous = None
    while previous != stripped:
        previous, stripped = stripped, _COMMAND_WITH_ARG.sub(r"\1", stripped)
    stripped = _COMMAND.sub("", stripped).replace("{", "").replace("}", "")
    stripped = " ".join(stripped.split())
    return stripped if stripped != query and stripped else None


def latex_add(query: str, rng: random.Random) -> str | None:
    """A Greek-letter word written as LaTeX math, else one word wrapped in ``\\emph{}``."""
    words = query.split(" ")
    greek = [i for i, w in enumerate(words) if w.lower() in _GREEK]
    if greek:
        i = rng.choice(greek)
        words[i] = f"${chr(92)}{words[i].lower()}$"
        return " ".join(words)
    plain = [i for i, w in enumerate(words) if w.isalpha()]
    if not plain:
        return None
    i = rng.choice(plain)
    words[i] = f"\\emph{{{words[i]}}}"
    return " ".join(words)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str | None]] = {
    "typo": typo,
    "case": case_change,
    "word_drop": word_drop,
    "word_shuffle": word_shuffle,
    "truncation": truncation,
    "latex_strip": latex_strip,
    "latex_add": latex_add,
}


def perturb(query: str, kind: str, seed: int, case_id: str) -> str | None:
    """One perturbation of ``query``, deterministic in ``(seed, case_id, kind)``."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; choose from {sorted(PERTURBATIONS)}")
    result = PERTURBATIONS[kind](query, random.Random(f"{seed}:{case_id}:{kind}"))
    return result if result and result != query else None


def build_perturbations(cases: pd.DataFrame, kinds: Sequence[str], seed: int) -> pd.DataFrame:
    """Every clean case in each noisy form that changes it, linked by ``clean_case_id``.

    Returns:
        Columns :data:`PERTURBATION_COLUMNS`; ``case_id`` is ``<clean_case_id>~<type>``.
    """
    unknown = set(kinds) - set(PERTURBATIONS)
    if unknown:
        raise ValueError(f"unknown perturbations {sorted(unknown)}; choose from {sorted(PERTURBATIONS)}")
    rows: list[dict[str, Any]] = []
    for case in cases.itertuples(index=False):
        for kind in kinds:
            noisy = perturb(case.query, kind, seed, case.case_id)
            if noisy is None:
                continue
            rows.append(
                {
                    "case_id": f"{case.case_id}~{kind}",
                    "clean_case_id": case.case_id,
                    "perturbation": kind,
                    "query": noisy,
                    "clean_query": case.query,
                    "kind": case.kind,
                    "relevant_paper_ids": list(case.relevant_paper_ids),
                    "relevant_chunk_id": case.relevant_chunk_id,
                }
            )
    return pd.DataFrame(rows, columns=PERTURBATION_COLUMNS)
