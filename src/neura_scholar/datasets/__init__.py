"""Kedro datasets for the artifact types kedro-datasets lacks (atomic, manifest-verified)."""

from neura_scholar.datasets.arrays_dataset import EmbeddingsDataset, NpzDataset, ShardStoreDataset
from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset
from neura_scholar.datasets.encoder_datasets import (
    MlflowOnnxRegistryDataset,
    ReferenceEncoderDataset,
    RegistryModelDataset,
)
from neura_scholar.datasets.faiss_index_dataset import FaissIndexDataset
from neura_scholar.datasets.jsonlines_dataset import JsonLinesDataset
from neura_scholar.datasets.manifest import ManifestDataset, ManifestError
from neura_scholar.datasets.onnx_model_dataset import OnnxModelDataset
from neura_scholar.datasets.postgres_corpus_dataset import PostgresCorpusDataset
from neura_scholar.datasets.report_dataset import ReportDataset
from neura_scholar.datasets.table_dataset import TableDataset
from neura_scholar.datasets.tokenizer_dataset import TokenizerDataset

__all__ = [
    "ArxivJsonLinesDataset",
    "EmbeddingsDataset",
    "FaissIndexDataset",
    "JsonLinesDataset",
    "ManifestDataset",
    "ManifestError",
    "MlflowOnnxRegistryDataset",
    "NpzDataset",
    "OnnxModelDataset",
    "PostgresCorpusDataset",
    "ReferenceEncoderDataset",
    "RegistryModelDataset",
    "ReportDataset",
    "ShardStoreDataset",
    "TableDataset",
    "TokenizerDataset",
]
