"""``neura-scholar``: the project's commands besides ``kedro run``.

- ``neura-scholar harvest --out DIR/papers.jsonl.gz``: a corpus sample from arXiv OAI-PMH.
- ``neura-scholar db load --corpus DIR``: a corpus directory into PostgreSQL (idempotent).
- ``neura-scholar search "query" [--k 10] [--category cs] [--since 2018]``: ranked papers.
- ``neura-scholar serve [--host 127.0.0.1] [--port 8000]``: the embedding and search service.
- ``neura-scholar gate [--params key=value]``: the evaluation pipeline as a CI step (exit 0, 1 or 2).
- ``neura-scholar promote [--from staging] [--to production]``: move a registry alias (or a legacy
  stage) to the candidate, only if its last stage evaluation passed (exit 0, 1 refused, 2 error).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click
from kedro.config import MissingConfigException, OmegaConfigLoader

from neura_scholar.settings import CONFIG_LOADER_ARGS

logger = logging.getLogger("neura_scholar")


def _project_config(project_dir: Path, key: str, env: str | None) -> dict[str, Any]:
    loader = OmegaConfigLoader(
        conf_source=str(project_dir / "conf"), env=env, **CONFIG_LOADER_ARGS  # type: ignore[arg-type]
    )
    try:
        return dict(loader[key])
    except (KeyError, MissingConfigException) as exc:
        raise click.ClickException(f"no {key} configuration under {project_dir / 'conf'}: {exc}") from exc


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """neura-scholar: chunk-based semantic search over arXiv."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the gzip JSON Lines, e.g. data/01_raw/arxiv_oai/papers.jsonl.gz")
@click.option("--set", "set_spec", help="OAI set, e.g. cs, math, physics:hep-th.")
@click.option("--from", "date_from", help="First datestamp, YYYY-MM-DD.")
@click.option("--until", "date_until", help="Last datestamp, YYYY-MM-DD.")
@click.option("--max-records", type=int, help="Stop after this many papers.")
@click.option("--base-url", help="The OAI-PMH endpoint.")
@click.option("--delay", "delay_s", type=float, help="Seconds between requests (arXiv asks 3).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path.cwd,
              help="Project whose conf/*/harvest.yml gives the defaults.")
@click.option("--env", default=None, help="Kedro configuration environment.")
def harvest(out: Path, project_dir: Path, env: str | None, **overrides: Any) -> None:
    """Harvest arXiv metadata over OAI-PMH into the corpus JSON Lines shape."""
    from neura_scholar.oai_pmh import Harvester, HarvestSettings, harvest_to_file

    config = dict(_project_config(project_dir, "harvest", env)["harvest"])
    config.update({key: value for key, value in overrides.items() if value is not None})
    settings = HarvestSettings(**config)
    harvest_to_file(Harvester(settings), out)


def _load_searcher(project_dir: Path, env: str | None, hybrid: bool) -> Any:
    """The last run's papers, chunks, index and the encoder that built the index."""
    from neura_scholar.encoders import BatchLimits, OnnxEncoder, OnnxRuntimeSettings
    from neura_scholar.run_artifacts import ArtifactError, load_run_artifacts
    from neura_scholar.search import Bm25Chunks, Searcher

    try:
        run = load_run_artifacts(project_dir, env)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from exc
    encoder = OnnxEncoder(run.model, run.tokenizer_checkpoint, run.identity, OnnxRuntimeSettings(**run.runtime), BatchLimits())
    chunk_text = dict(zip(run.chunks["chunk_id"], run.chunks["text"], strict=True))
    bm25 = Bm25Chunks(list(chunk_text), list(chunk_text.values())) if hybrid else None
    return Searcher(lambda texts: encoder.encode(texts).vectors, run.index, run.papers, chunk_text, bm25)


@main.command()
@click.argument("query")
@click.option("--k", default=10, show_default=True, help="How many papers.")
@click.option("--category", help="A category (cs.LG) or group (cs) the paper must carry.")
@click.option("--since", type=int, help="Published in or after this year.")
@click.option("--until", type=int, help="Published in or before this year.")
@click.option("--hybrid", is_flag=True, help="Fuse BM25 with dense search (reciprocal rank fusion).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path.cwd)
@click.option("--env", default=None, help="Kedro configuration environment.")
def search(query: str, k: int, category: str | None, since: int | None, until: int | None,
           hybrid: bool, project_dir: Path, env: str | None) -> None:  # fmt: skip
    """Search the papers of the last `kedro run` and print them ranked, with snippets."""
    from neura_scholar.search import PaperFilter

    logging.getLogger("kedro").setLevel(logging.WARNING)  # the results, not the catalog's chatter
    searcher = _load_searcher(project_dir, env, hybrid)
    results = searcher.search(query, k, PaperFilter(category, since, until), hybrid=hybrid)
    if not results:
        click.echo("no papers match")
    for rank, r in enumerate(results, start=1):
        click.echo(f"{rank:2d}. {r['score']:.4f}  {r['title']}")
        click.echo(f"    arXiv:{r['paper_id']}  {r['year']}  {', '.join(r['categories'])}")
        snippet = r["snippet"] if len(r["snippet"]) <= 240 else r["snippet"][:237] + "..."
        click.echo(f"    {snippet}")


@main.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The Kedro project whose last run is served (default: the current directory).")
@click.option("--env", "kedro_env", help="Kedro configuration environment.")
def serve(**overrides: Any) -> None:
    """Serve embeddings and search over the last `kedro run`'s model and index. Every setting
    can also come from NEURA_SCHOLAR_SERVE_<NAME> (see neura_scholar/serving/settings.py)."""
    from neura_scholar.serving.server import build_server
    from neura_scholar.serving.settings import ServingSettings

    settings = ServingSettings(**{key: value for key, value in overrides.items() if value is not None})
    build_server(settings).run()


@main.group()
def db() -> None:
    """The corpus in PostgreSQL."""


@db.command("load")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=lambda: os.environ.get("NEURA_SCHOLAR_CORPUS", "../shared/data/arxiv"),
              help="Directory with papers.jsonl.gz and optional fulltext*.jsonl.gz.")
@click.option("--dsn", default=lambda: os.environ.get(
                  "NEURA_SCHOLAR_PG_DSN", "postgresql://postgres@127.0.0.1:5432/neura_scholar"),
              help="PostgreSQL URI; the database is created when missing.")
@click.option("--on-error", type=click.Choice(["raise", "drop"]), default="raise",
              help="Stop at the first bad record, or drop and count bad records.")
@click.option("--limit", type=int, default=None, help="Load only the first N papers by id.")
def db_load(corpus: Path, dsn: str, on_error: str, limit: int | None) -> None:
    """Validate a corpus directory and upsert it into the papers and chunks tables."""
    from neura_scholar.corpus_loading import load_corpus_into_postgres

    counts = load_corpus_into_postgres(corpus, dsn, on_error, limit)  # type: ignore[arg-type]
    click.echo(f"loaded {counts['papers']} papers and {counts['chunks']} full-text pieces")




def _runtime_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs, dotted keys nested, read as ``kedro run --params`` reads them."""
    from omegaconf import OmegaConf

    for pair in pairs:
        if "=" not in pair or not pair.partition("=")[0].strip():
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--params")
    container = OmegaConf.to_container(OmegaConf.from_dotlist(list(pairs)))
    return {str(key): value for key, value in container.items()} if isinstance(container, dict) else {}


@main.command()
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path.cwd,
              help="The Kedro project.")
@click.option("--env", default=None, help="Kedro configuration environment.")
@click.option("--params", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Runtime parameters, repeatable, e.g. --params evaluation.comparison.baseline=production")
def gate(project_dir: Path, env: str | None, pairs: tuple[str, ...]) -> None:
    """For CI: `kedro run --pipelines evaluation`, nothing more. Exit 0 when the quality gate
    passes, 1 with the table of failed checks when it fails, 2 when the run fails before it
    can judge (a missing artifact, a bad configuration)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from neura_scholar.gate import GateError

    bootstrap_project(project_dir)
    session = KedroSession.create(project_path=project_dir, env=env, runtime_params=_runtime_params(pairs))
    try:
        session.run(pipeline_names=["evaluation"])
    except GateError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc
    except Exception as exc:
        click.echo(f"evaluation did not finish: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(2) from exc
    finally:
        session.close()
    click.echo("quality gate passed")


def _tracking_uri(project_dir: Path, env: str | None) -> str:
    """The project's tracking URI as kedro-mlflow resolves it (a relative SQLite path is
    relative to the project)."""
    uri = str(_project_config(project_dir, "mlflow", env)["server"]["mlflow_tracking_uri"])
    path = uri.removeprefix("sqlite:///")
    if uri.startswith("sqlite:///") and not Path(path).is_absolute():
        return f"sqlite:///{(project_dir / path).resolve()}"
    return uri


@main.command()
@click.option("--from", "source", default="staging", show_default=True,
              help="The alias (or with --stages the stage) naming the candidate.")
@click.option("--to", "target", default="production", show_default=True,
              help="The alias to move (or with --stages the stage to move the candidate into).")
@click.option("--stages", is_flag=True, help="--from and --to name MLflow's legacy stages (Staging, Production).")
@click.option("--model", help="The registered model (default: registered_model_name in conf/base/globals.yml).")
@click.option("--actor", help="Who promotes, recorded on the version (default: the OS user).")
@click.option("--reason", default="", help="Why, recorded on the version.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path.cwd,
              help="The Kedro project whose MLflow configuration names the tracking server.")
@click.option("--env", default=None, help="Kedro configuration environment.")
def promote(source: str, target: str, stages: bool, model: str | None, actor: str | None, reason: str,
            project_dir: Path, env: str | None) -> None:  # fmt: skip
    """Promote the candidate: only when the stage evaluation of that very version passed
    (its verdict tags, its MLflow run finished with the gate passed); otherwise refuse. Who,
    what and when are recorded as tags of the version either way."""
    import mlflow

    from neura_scholar.model_registry import RegistryError
    from neura_scholar.promotion import promote as promote_version

    uri = _tracking_uri(project_dir, env)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    name = model or str(_project_config(project_dir, "globals", env)["registered_model_name"])
    try:
        result = promote_version(name, source, target, stages=stages, actor=actor, reason=reason)
    except RegistryError as exc:
        click.echo(f"cannot promote: {exc}", err=True)
        raise SystemExit(2) from exc
    if not result.promoted:
        click.echo(f"refused: {name} version {result.version} ({source}) stays out of {target}: {result.reason}", err=True)
        raise SystemExit(1)
    was = f" (was version {result.previous_version})" if result.previous_version else ""
    click.echo(f"promoted {name} version {result.version} from {source} to {target}{was}")


if __name__ == "__main__":
    main()
