"""Kedro datasets for the artifact types kedro-datasets lacks (atomic, manifest-verified)."""

from neura_scholar.datasets.arrays_dataset import (
    EmbeddingsDataset,
    NpzDataset,
    OptionalNpzDataset,
    ShardStoreDataset,
)
from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset
from neura_scholar.datasets.beir_sets_dataset import BeirSetsDataset
from neura_scholar.datasets.encoder_datasets import (
    MlflowOnnxRegistryDataset,
    ReferenceEncoderDataset,
    RegistryModelDataset,
    RegistryModelsDataset,
)
from neura_scholar.datasets.faiss_index_dataset import FaissIndexDataset
from neura_scholar.datasets.jsonlines_dataset import AppendJsonLinesDataset, JsonLinesDataset
from neura_scholar.datasets.manifest import ManifestDataset, ManifestError
from neura_scholar.datasets.mlflow_tags_dataset import (
    MlflowRunTagsDataset,
    RegistryVersionTagsDataset,
)
from neura_scholar.datasets.model_cache_dataset import ModelCacheDataset
from neura_scholar.datasets.onnx_model_dataset import OnnxModelDataset
from neura_scholar.datasets.postgres_corpus_dataset import PostgresCorpusDataset
from neura_scholar.datasets.provenance_dataset import ProvenanceDataset
from neura_scholar.datasets.report_dataset import ReportDataset, ReportFileDataset
from neura_scholar.datasets.table_dataset import (
    OptionalTableDataset,
    TableDataset,
    TableFile,
    TableFileDataset,
)
from neura_scholar.datasets.tokenizer_dataset import TokenizerDataset

__all__ = [
    "AppendJsonLinesDataset",
    "ArxivJsonLinesDataset",
    "BeirSetsDataset",
    "EmbeddingsDataset",
    "FaissIndexDataset",
    "JsonLinesDataset",
    "ManifestDataset",
    "ManifestError",
    "MlflowOnnxRegistryDataset",
    "MlflowRunTagsDataset",
    "ModelCacheDataset",
    "NpzDataset",
    "OnnxModelDataset",
    "OptionalNpzDataset",
    "OptionalTableDataset",
    "PostgresCorpusDataset",
    "ProvenanceDataset",
    "ReferenceEncoderDataset",
    "RegistryModelDataset",
    "RegistryModelsDataset",
    "RegistryVersionTagsDataset",
    "ReportDataset",
    "ReportFileDataset",
    "ShardStoreDataset",
    "TableDataset",
    "TableFile",
    "TableFileDataset",
    "TokenizerDataset",
]
