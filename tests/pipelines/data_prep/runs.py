"""Running data_prep on the small real corpus with in-memory outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from tokenizers import Tokenizer

from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset
from neura_scholar.pipelines.data_prep import create_pipeline

OUTPUTS = [
    "papers", "paper_sections", "paper_chunks@pandas", "heldout", "slices", "perturbations", "failures",
    "data_prep_summary", "data_prep_metrics",
]  # fmt: skip


class KeptMemoryDataset(MemoryDataset):
    """A MemoryDataset the runner cannot release, so tests can read intermediate outputs."""

    def _release(self) -> None:
        pass


def run_data_prep(
    raw_papers: AbstractDataset, raw_fulltext: AbstractDataset, tokenizer: Tokenizer, params: dict[str, Any]
) -> dict[str, Any]:
    """Run the pipeline with in-memory outputs; returns every output by name (the chunk table
    as ``paper_chunks``, without its transcoding suffix)."""
    datasets: dict[str, AbstractDataset] = {
        "raw_papers": raw_papers,
        "raw_fulltext": raw_fulltext,
        "encoder_tokenizer": MemoryDataset(tokenizer, copy_mode="assign"),
        **{f"params:data_prep.{key}": MemoryDataset(value) for key, value in params.items()},
        **{name: KeptMemoryDataset() for name in OUTPUTS},
    }
    catalog = DataCatalog(datasets)
    SequentialRunner().run(create_pipeline(), catalog)
    return {name.removesuffix("@pandas"): catalog.load(name) for name in OUTPUTS}


def file_datasets(corpus_dir: Path) -> tuple[ArxivJsonLinesDataset, ArxivJsonLinesDataset]:
    return (
        ArxivJsonLinesDataset(str(corpus_dir), "papers.jsonl.gz"),
        ArxivJsonLinesDataset(str(corpus_dir), "fulltext*.jsonl.gz", required=False),
    )
