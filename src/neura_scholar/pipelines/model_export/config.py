"""The model_export parameters as pydantic models: a typo in configuration fails loudly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantisationParams(_Strict):
    per_channel: bool = True


class ExportParams(_Strict):
    opset: int = Field(17, ge=14)
    quantisation: QuantisationParams = QuantisationParams()


Variant = Literal["fp32", "optimised", "int8"]
Statistic = Literal["mean_cosine", "min_cosine"]


class ParityParams(_Strict):
    chunks: int = Field(ge=1)
    queries: int = Field(ge=0)
    seed: int
    thresholds: dict[Variant, dict[Statistic, float]]

    @model_validator(mode="after")
    def _every_variant_has_thresholds(self) -> ParityParams:
        missing = {"fp32", "optimised", "int8"} - set(self.thresholds)
        if missing:
            raise ValueError(f"parity thresholds missing for {sorted(missing)}")
        return self


class SpeedParams(_Strict):
    latency_queries: int = Field(ge=1)
    latency_repeats: int = Field(ge=1)
    throughput_texts: int = Field(ge=1)
    throughput_repeats: int = Field(ge=1)
    batch_size: int = Field(32, ge=1)
    input_tokens: list[int]
    include_sentence_transformers: bool = True


class RegistryParams(_Strict):
    model_name: str
    candidate_variant: Variant
