"""Corpus validation: bad input names its file and line, or is dropped and counted."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from neura_scholar.corpus import (
    CorpusError,
    category_group,
    normalise_whitespace,
    raw_frame,
    validate_papers,
    validate_sections,
)
from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset

GOOD = (
    '{"paper_id": "1702.08372", "title": "A  title", "abstract": "Some $\\\\alpha$\\n text",'
    ' "categories": ["cs.LG", "stat.ML"], "primary_category": "cs.LG",'
    ' "published": "2017-02-27", "authors": "A. Author"}'
)


def _corpus(tmp_path: Path, lines: list[str]) -> Path:
    with gzip.open(tmp_path / "papers.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return tmp_path


def _load(tmp_path: Path, lines: list[str]):  # type: ignore[no-untyped-def]
    return ArxivJsonLinesDataset(str(_corpus(tmp_path, lines)), "papers.jsonl.gz").load()


def test_a_valid_paper_is_normalised_and_keeps_its_latex(tmp_path: Path) -> None:
    papers, report = validate_papers(_load(tmp_path, [GOOD]))
    row = papers.iloc[0]
    assert row["title"] == "A title"
    assert row["abstract"] == "Some $\\alpha$ text"
    assert row["categories"] == ["cs.LG", "stat.ML"]
    assert (row["category_group"], row["year"], row["published"]) == ("cs", 2017, "2017-02-27")
    assert report.as_dict() == {"read": 1, "kept": 1, "dropped": {}}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "papers.jsonl.gz line 2: malformed JSON"),
        (GOOD.replace('"title": "A  title", ', "").replace("1702.08372", "1702.00001"),
         "papers.jsonl.gz line 2: missing field 'title'"),
        (GOOD.replace('"A  title"', '"   "').replace("1702.08372", "1702.00001"),
         "papers.jsonl.gz line 2: field 'title' is empty"),
        (GOOD.replace("1702.08372", "not-an-id"), "papers.jsonl.gz line 2: paper_id 'not-an-id'"),
        (GOOD.replace("2017-02-27", "2017-02-30").replace("1702.08372", "1702.00001"),
         "papers.jsonl.gz line 2: published '2017-02-30' is not a YYYY-MM-DD date"),
        (GOOD, "papers.jsonl.gz line 2: duplicate paper_id '1702.08372' (first seen at papers.jsonl.gz line 1)"),
        (GOOD.replace('"primary_category": "cs.LG"', '"primary_category": "math.CO"').replace("1702.08372", "1702.00001"),
         "papers.jsonl.gz line 2: primary_category 'math.CO' is not among categories"),
    ],
)  # fmt: skip
def test_a_bad_record_is_an_error_naming_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    raw = _load(tmp_path, [GOOD, bad_line])
    with pytest.raises(CorpusError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        validate_papers(raw, on_error="raise")


def test_drop_mode_leaves_bad_records_out_and_counts_them_by_reason(tmp_path: Path) -> None:
    lines = [
        GOOD,
        "{not json",
        GOOD,  # duplicate
        GOOD.replace('"abstract": "Some $\\\\alpha$\\n text", ', "").replace("1702.08372", "1702.00002"),
        GOOD.replace("1702.08372", "math/9801057"),
    ]
    papers, report = validate_papers(_load(tmp_path, lines), on_error="drop")
    assert list(papers["paper_id"]) == ["1702.08372", "math/9801057"]
    assert report.read == 5 and report.kept == 2
    assert dict(report.dropped) == {"malformed_json": 1, "duplicate": 1, "missing_field": 1}


def test_on_error_must_be_raise_or_drop() -> None:
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'drop', got 'ignore'"):
        validate_papers(raw_frame([]), on_error="ignore")  # type: ignore[arg-type]


def test_sections_accept_both_full_text_shapes_and_skip_empty_sections() -> None:
    raw = raw_frame(
        [
            ("f.jsonl", 1, {"paper_id": "2212.00001", "sections": [
                {"heading": "Intro", "text": "First  part."},
                {"heading": "Empty", "text": "   "},
                {"heading": "End", "text": "Last part."}]}, None),
            ("f.jsonl", 2, {"paper_id": "0802.2600", "text": "Plain\n\nfull text"}, None),
        ]
    )  # fmt: skip
    sections, report = validate_sections(raw)
    assert sections.to_dict(orient="records") == [
        {"paper_id": "0802.2600", "position": 0, "heading": "", "text": "Plain full text"},
        {"paper_id": "2212.00001", "position": 0, "heading": "Intro", "text": "First part."},
        {"paper_id": "2212.00001", "position": 1, "heading": "End", "text": "Last part."},
    ]
    assert report.kept == 2


def test_full_text_without_sections_or_text_is_refused() -> None:
    raw = raw_frame([("f.jsonl", 7, {"paper_id": "2212.00001", "body": "x"}, None)])
    with pytest.raises(CorpusError, match="f.jsonl line 7: missing field 'sections' \\(or 'text'\\)"):
        validate_sections(raw)


@pytest.mark.parametrize(
    ("category", "group"),
    [("cs.LG", "cs"), ("hep-th", "physics"), ("cond-mat.str-el", "physics"), ("cmp-lg", "cs"),
     ("alg-geom", "math"), ("q-bio.PE", "q-bio"), ("stat.ME", "stat"), ("physics.optics", "physics")],
)  # fmt: skip
def test_category_groups_fold_old_archives(category: str, group: str) -> None:
    assert category_group(category) == group


def test_unknown_category_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown arXiv category 'zz.XX'"):
        category_group("zz.XX")


def test_whitespace_normalisation() -> None:
    assert normalise_whitespace("  a\t b\n\n c ") == "a b c"


def test_the_shared_sample_validates_without_a_single_drop(shared_corpus_dir: Path) -> None:
    raw = ArxivJsonLinesDataset(str(shared_corpus_dir), "papers.jsonl.gz").load()
    papers, report = validate_papers(raw, on_error="raise")
    assert report.read == len(papers) == 30_083
    assert papers["paper_id"].is_unique
    assert set(papers["category_group"]) == {"cs", "math", "physics", "stat", "q-bio", "q-fin", "eess", "econ"}


def test_a_missing_corpus_says_how_to_get_one(tmp_path: Path) -> None:
    from kedro.io import DatasetError

    with pytest.raises(DatasetError, match="NEURA_SCHOLAR_CORPUS.*neura-scholar harvest"):
        ArxivJsonLinesDataset(str(tmp_path), "papers.jsonl.gz").load()
    assert ArxivJsonLinesDataset(str(tmp_path), "fulltext*.jsonl.gz", required=False).load().empty
