"""The project's datasets: round trips, versions, and corrupt files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from kedro.io import DatasetError, Version

from neura_scholar.datasets import JsonLinesDataset, ReportDataset, TableDataset, TableFileDataset
from neura_scholar.datasets.manifest import manifest_path

FRAME = pd.DataFrame(
    {
        "case_id": ["a", "b"],
        "relevant_paper_ids": [["1702.08372"], []],
        "relevant_chunk_id": ["1702.08372#0", None],
        "rule": [{"type": "target_in_top_k", "k": 10}, {"type": "max_score_below"}],
        "n": [1, 2],
    }
)


@pytest.mark.parametrize("cls", [TableDataset, JsonLinesDataset])
def test_round_trip_and_exists(tmp_path: Path, cls: type) -> None:
    dataset = cls(filepath=str(tmp_path / "cases.out"))
    assert not dataset.exists()
    dataset.save(FRAME)
    assert dataset.exists()
    loaded = dataset.load()
    assert loaded["relevant_paper_ids"].tolist() == [["1702.08372"], []]
    chunk_ids = loaded["relevant_chunk_id"].tolist()
    assert chunk_ids[0] == "1702.08372#0" and pd.isna(chunk_ids[1])  # pandas 3 strings: NaN
    assert loaded["rule"].tolist()[0] == {"type": "target_in_top_k", "k": 10}
    manifest = json.loads(manifest_path(tmp_path / "cases.out").read_text())
    assert manifest["rows"] == 2 and manifest["size"] == (tmp_path / "cases.out").stat().st_size


def test_jsonlines_is_one_object_a_line(tmp_path: Path) -> None:
    JsonLinesDataset(filepath=str(tmp_path / "heldout.jsonl")).save(FRAME)
    lines = (tmp_path / "heldout.jsonl").read_text().splitlines()
    assert json.loads(lines[1]) == {
        "case_id": "b", "relevant_paper_ids": [], "relevant_chunk_id": None,
        "rule": {"type": "max_score_below"}, "n": 2,
    }  # fmt: skip


def test_nan_in_a_numeric_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Out of range float values are not JSON compliant"):
        JsonLinesDataset(filepath=str(tmp_path / "x.jsonl")).save(pd.DataFrame({"score": [float("nan")]}))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-7]), "truncated or overwritten; refusing it"),
        (lambda p: p.write_bytes(bytes([p.read_bytes()[0] ^ 1]) + p.read_bytes()[1:]), "the file is corrupt; refusing it"),
        (lambda p: manifest_path(p).unlink(), "has no manifest"),
    ],
)  # fmt: skip
def test_a_damaged_file_is_refused(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "papers.parquet"
    dataset = TableDataset(filepath=str(path))
    dataset.save(FRAME)
    damage(path)
    with pytest.raises(DatasetError, match=message):
        dataset.load()


def test_versions_a_corrupt_latest_is_refused_and_the_previous_still_loads(tmp_path: Path) -> None:
    path = str(tmp_path / "chunks.parquet")
    TableDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(FRAME.head(1))
    TableDataset(filepath=path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(FRAME)
    assert len(TableDataset(filepath=path, version=Version(None, None)).load()) == 2
    latest = tmp_path / "chunks.parquet" / "2026-01-02T00.00.00.000Z" / "chunks.parquet"
    latest.write_bytes(latest.read_bytes()[:100])
    with pytest.raises(DatasetError, match="refusing it"):
        TableDataset(filepath=path, version=Version(None, None)).load()
    previous = TableDataset(filepath=path, version=Version("2026-01-01T00.00.00.000Z", None)).load()
    assert previous["case_id"].tolist() == ["a"]


def test_a_version_without_manifest_is_never_latest(tmp_path: Path) -> None:
    path = str(tmp_path / "r.json")
    ReportDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z")).save({"papers": 1})
    # A later write that died before its manifest: the data file is there, the manifest is not.
    half = tmp_path / "r.json" / "2026-01-02T00.00.00.000Z" / "r.json"
    half.parent.mkdir()
    half.write_text('{"papers": 2')
    assert ReportDataset(filepath=path, version=Version(None, None)).load() == {"papers": 1}


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    dataset = TableDataset(filepath=str(tmp_path / "t.parquet"))
    with pytest.raises(DatasetError, match="saves a pandas DataFrame"):
        dataset.save({"not": "a frame"})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_table_file_is_verified_and_read_in_parts(tmp_path: Path) -> None:
    """The ``@files`` side of a transcoded table: the same file as TableDataset writes, loaded
    as a verified handle that reads columns or batches on demand."""
    frame = pd.DataFrame({"chunk_id": [f"p#{i}" for i in range(10)], "text": [f"text {i}" for i in range(10)]})
    TableDataset(str(tmp_path / "t.parquet")).save(frame)
    table = TableFileDataset(str(tmp_path / "t.parquet")).load()
    assert (table.rows, table.columns) == (10, ("chunk_id", "text"))
    assert table.sha256 == json.loads(manifest_path(tmp_path / "t.parquet").read_text())["sha256"]
    assert table.read(["chunk_id"])["chunk_id"].tolist() == frame["chunk_id"].tolist()
    assert [len(b) for b in table.iter_batches(["text"], batch_rows=4)] == [4, 4, 2]
    with pytest.raises(KeyError, match="has no column 'n_tokens'; it has \\['chunk_id', 'text'\\]"):
        table.read(["chunk_id", "n_tokens"])
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    with pytest.raises(DatasetError, match="differs from its manifest's .*the file is corrupt; refusing it"):
        TableFileDataset(str(tmp_path / "t.parquet")).load()
    (tmp_path / "t.parquet").write_bytes(data[:-5])
    with pytest.raises(DatasetError, match="bytes but its manifest says .*truncated"):
        TableFileDataset(str(tmp_path / "t.parquet")).load()


def test_a_table_file_reads_a_range_of_rows_across_row_groups(tmp_path: Path) -> None:
    """Rows 8,000-8,400 straddle the first two row groups of 8,192 rows (a Ray worker's shard)."""
    frame = pd.DataFrame({"chunk_id": [f"p#{i}" for i in range(20_000)], "n": range(20_000)})
    TableDataset(str(tmp_path / "t.parquet")).save(frame)
    table = TableFileDataset(str(tmp_path / "t.parquet")).load()
    assert pq.ParquetFile(table.path).num_row_groups == 3
    rows = table.read_rows(8_000, 8_400, ["n", "chunk_id"])
    assert rows["n"].tolist() == list(range(8_000, 8_400)) and rows["chunk_id"].iloc[0] == "p#8000"
    assert table.read_rows(19_990, 20_000, ["n"])["n"].tolist() == list(range(19_990, 20_000))
    with pytest.raises(IndexError, match="rows 19990:20001 are outside .* \\(20000 rows\\)"):
        table.read_rows(19_990, 20_001, ["n"])
