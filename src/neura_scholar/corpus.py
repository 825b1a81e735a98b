"""The arXiv corpus: validating raw paper and full-text records into clean tables.

Raw records arrive from JSON Lines files, PostgreSQL or an OAI-PMH harvest as a frame with one
row per record: ``source`` (file or table), ``line`` (1-based line or row number), ``record``
(the parsed dict, or None) and ``error`` (the parse error, or None). Validation turns them into
the ``papers`` table, with every problem either raised (naming source and line) or dropped and
counted, never patched with a silent default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

RAW_COLUMNS = ["source", "line", "record", "error"]

PAPER_COLUMNS = [
    "paper_id",
    "title",
    "abstract",
    "categories",
    "primary_category",
    "category_group",
    "published",
    "year",
    "authors",
]
SECTION_COLUMNS = ["paper_id", "position", "heading", "text"]

PAPER_ID_PATTERN = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$")
_WHITESPACE = re.compile(r"\s+")

# Old arXiv archives folded into today's top-level groups (as arXiv's own taxonomy does).
_PHYSICS_ARCHIVES = {
    "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph",
    "nlin", "nucl-ex", "nucl-th", "physics", "quant-ph", "chao-dyn", "adap-org", "patt-sol",
    "solv-int", "comp-gas", "mtrl-th", "chem-ph", "atom-ph", "acc-phys", "plasm-ph", "ao-sci",
    "supr-con",
}  # fmt: skip
_ARCHIVE_GROUP = {
    "cmp-lg": "cs",
    "alg-geom": "math",
    "dg-ga": "math",
    "funct-an": "math",
    "q-alg": "math",
    "bayes-an": "stat",
}
_GROUPS = {"cs", "math", "stat", "q-bio", "q-fin", "eess", "econ"}

OnError = Literal["raise", "drop"]


class CorpusError(ValueError):
    """A corpus record is invalid; the message names its source and line."""


@dataclass
class ValidationReport:
    """What validation read, kept and dropped (and why)."""

    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "kept": self.kept, "dropped": dict(self.dropped)}


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends; LaTeX is kept as is."""
    return _WHITESPACE.sub(" ", text).strip()


def category_group(category: str) -> str:
    """Top-level arXiv group of a category: ``cs.LG`` -> ``cs``, ``hep-th`` -> ``physics``."""
    archive = category.split(".", 1)[0]
    if archive in _GROUPS:
        return archive
    if archive in _PHYSICS_ARCHIVES:
        return "physics"
    if archive in _ARCHIVE_GROUP:
        return _ARCHIVE_GROUP[archive]
    raise ValueError(f"unknown arXiv category {category!r}: its archive {archive!r} has no group")


def _text_field(record: dict[str, Any], name: str, *, allow_empty: bool = False) -> str:
    if name not in record or record[name] is None:
        raise ValueError(f"missing field {name!r}")
    value = record[name]
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string, got {type(value).__name__}")
    value = normalise_whitespace(value)
    if not value and not allow_empty:
        raise ValueError(f"field {name!r} is empty")
    return value


def _categories(record: dict[str, Any]) -> tuple[list[str], str]:
    raw = record.get("categories")
    if raw is None:
        raise ValueError("missing field 'categories'")
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and c for c in raw):
        raise ValueError(f"field 'categories' must be a non-empty list of strings, got {raw!r}")
    primary = _text_field(record, "primary_category")
    if primary not in raw:
        raise ValueError(f"primary_category {primary!r} is not among categories {raw}")
    # The primary category first, the others in their given order, no repeats.
    ordered = [primary] + [c for c in dict.fromkeys(raw) if c != primary]
    for category in ordered:
        category_group(category)
    return ordered, primary


def parse_paper(record: dict[str, Any]) -> dict[str, Any]:
    """Validate one raw paper record into a ``papers`` row.

    Raises:
        ValueError: naming the first problem (missing field, bad id, bad date, ...).
    """
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    paper_id = _text_field(record, "paper_id")
    if not PAPER_ID_PATTERN.match(paper_id):
        raise ValueError(f"paper_id {paper_id!r} is not an arXiv id")
    categories, primary = _categories(record)
    published = _text_field(record, "published")
    try:
        date = dt.date.fromisoformat(published)
    except ValueError:
        raise ValueError(f"published {published!r} is not a YYYY-MM-DD date") from None
    return {
        "paper_id": paper_id,
        "title": _text_field(record, "title"),
        "abstract": _text_field(record, "abstract"),
        "categories": categories,
        "primary_category": primary,
        "category_group": category_group(primary),
        "published": date.isoformat(),
        "year": date.year,
        "authors": _text_field(record, "authors", allow_empty=True),
    }


def parse_sections(record: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Validate one raw full-text record into ``(paper_id, sections)``.

    Accepts the sectioned shape ``{"paper_id", "sections": [{"heading", "text"}]}`` and the plain
    shape ``{"paper_id", "text"}`` (one section with an empty heading). Empty sections are left
    out; positions count the kept sections from 0.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    paper_id = _text_field(record, "paper_id")
    if "sections" in record:
        raw_sections = record["sections"]
        if not isinstance(raw_sections, list):
            raise ValueError("field 'sections' must be a list of {heading, text} objects")
        pairs = []
        for i, section in enumerate(raw_sections):
            if not isinstance(section, dict):
                raise ValueError(f"section {i} must be an object with 'heading' and 'text'")
            pairs.append(
                (
                    _text_field(section, "heading", allow_empty=True),
                    _text_field(section, "text", allow_empty=True),
                )
            )
    elif "text" in record:
        pairs = [("", _text_field(record, "text", allow_empty=True))]
    else:
        raise ValueError("missing field 'sections' (or 'text')")
    kept = [(heading, text) for heading, text in pairs if text]
    return paper_id, [
        {"paper_id": paper_id, "position": i, "heading": heading, "text": text}
        for i, (heading, text) in enumerate(kept)
    ]


def _fail_or_count(
    on_error: OnError, report: ValidationReport, reason: str, where: str, message: str
) -> None:
    if on_error == "raise":
        raise CorpusError(f"{where}: {message}")
    report.dropped[reason] += 1


def _reason(message: str) -> str:
    """A short, countable reason from a validation message (``missing field 'abstract'``)."""
    for key in ("missing field", "is empty", "duplicate", "not an arXiv id", "date", "categor"):
        if key in message:
            return key.replace(" ", "_").strip("_")
    return "invalid"


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "drop"):
        raise ValueError(f"on_error must be 'raise' or 'drop', got {on_error!r}")


def _iter_raw(raw: pd.DataFrame) -> Iterable[tuple[str, Any, Any, Any]]:
    missing = set(RAW_COLUMNS) - set(raw.columns)
    if missing:
        raise ValueError(f"raw records lack columns {sorted(missing)}; expected {RAW_COLUMNS}")
    # A missing error may come back as NaN (pandas 3 string columns): only a string is an error.
    errors = (error if isinstance(error, str) else None for error in raw["error"])
    return zip(raw["source"], raw["line"], raw["record"], errors, strict=True)


def validate_papers(
    raw: pd.DataFrame, on_error: OnError = "raise"
) -> tuple[pd.DataFrame, ValidationReport]:
    """Turn raw paper records into the ``papers`` table, sorted by ``paper_id``.

    Args:
        raw: one row per raw record (columns ``source``, ``line``, ``record``, ``error``).
        on_error: ``"raise"`` stops at the first bad record with a :class:`CorpusError` naming
            its source and line; ``"drop"`` leaves it out and counts it by reason.

    Returns:
        The papers (columns :data:`PAPER_COLUMNS`) and the validation report.
    """
    _check_on_error(on_error)
    report = ValidationReport()
    rows: list[dict[str, Any]] = []
    first_seen: dict[str, str] = {}
    for source, line, record, error in _iter_raw(raw):
        report.read += 1
        where = f"{source} line {line}"
        if error is not None:
            _fail_or_count(on_error, report, "malformed_json", where, f"malformed JSON: {error}")
            continue
        try:
            row = parse_paper(record)
        except ValueError as exc:
            _fail_or_count(on_error, report, _reason(str(exc)), where, str(exc))
            continue
        if row["paper_id"] in first_seen:
            message = (
                f"duplicate paper_id {row['paper_id']!r} "
                f"(first seen at {first_seen[row['paper_id']]})"
            )
            _fail_or_count(on_error, report, "duplicate", where, message)
            continue
        first_seen[row["paper_id"]] = where
        rows.append(row)
    report.kept = len(rows)
    papers = pd.DataFrame(rows, columns=PAPER_COLUMNS)
    papers = papers.sort_values("paper_id", kind="stable").reset_index(drop=True)
    return papers.astype({"year": "int64"}), report


def validate_sections(
    raw: pd.DataFrame, on_error: OnError = "raise"
) -> tuple[pd.DataFrame, ValidationReport]:
    """Turn raw full-text records into the ``paper_sections`` table (one row per section).

    A paper's full text may appear only once across all sources; a repeat is a duplicate.
    """
    _check_on_error(on_error)
    report = ValidationReport()
    rows: list[dict[str, Any]] = []
    first_seen: dict[str, str] = {}
    for source, line, record, error in _iter_raw(raw):
        report.read += 1
        where = f"{source} line {line}"
        if error is not None:
            _fail_or_count(on_error, report, "malformed_json", where, f"malformed JSON: {error}")
            continue
        try:
            paper_id, sections = parse_sections(record)
        except ValueError as exc:
            _fail_or_count(on_error, report, _reason(str(exc)), where, str(exc))
            continue
        if paper_id in first_seen:
            message = f"duplicate full text for {paper_id!r} (first seen at {first_seen[paper_id]})"
            _fail_or_count(on_error, report, "duplicate", where, message)
            continue
        first_seen[paper_id] = where
        rows.extend(sections)
    report.kept = len(first_seen)
    sections_frame = pd.DataFrame(rows, columns=SECTION_COLUMNS)
    sections_frame = sections_frame.sort_values(["paper_id", "position"], kind="stable")
    return sections_frame.reset_index(drop=True).astype({"position": "int64"}), report


def raw_frame(records: Iterable[tuple[str, int, Any, str | None]]) -> pd.DataFrame:
    """Build a raw-records frame from ``(source, line, record, error)`` tuples."""
    frame = pd.DataFrame(list(records), columns=RAW_COLUMNS, dtype=object)
    return frame.astype({"line": "int64"})
