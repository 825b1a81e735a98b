"""The data_prep parameters as pydantic models: a typo in configuration fails loudly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValidationParams(_Strict):
    on_error: Literal["raise", "drop"] = "drop"
    max_dropped_fraction: float = Field(0.01, ge=0.0, le=1.0)


class SampleParams(_Strict):
    size: int | None = Field(None, ge=1)
    fulltext_papers: int | None = Field(None, ge=0)
    near_duplicate_pairs: int = Field(0, ge=0)
    near_duplicate_min_jaccard: float = Field(0.6, gt=0.0, le=1.0)
    seed: int


class ChunkingParams(_Strict):
    max_tokens: int = Field(128, ge=1)
    overlap: int = Field(32, ge=0)

    @model_validator(mode="after")
    def _overlap_below_window(self) -> ChunkingParams:
        if self.overlap >= self.max_tokens:
            raise ValueError(f"overlap {self.overlap} must be below max_tokens {self.max_tokens}")
        return self


class TermParams(_Strict):
    extra_stopwords: list[str] = []


class HeldoutParams(_Strict):
    n_papers: int = Field(ge=1)
    seed: int
    kinds: list[Literal["title", "keywords", "topic"]]
    keywords_terms: int = Field(5, ge=2)
    topic_terms: int = Field(4, ge=2)
    field_names: dict[str, str]


class SliceParams(_Strict):
    year_edges: list[int]
    year_labels: list[str]
    length_edges: list[int]
    length_labels: list[str]
    min_cases: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _labels_match_edges(self) -> SliceParams:
        for edges, labels in ((self.year_edges, self.year_labels), (self.length_edges, self.length_labels)):
            if len(labels) != len(edges) + 1 or edges != sorted(edges):
                raise ValueError(f"edges {edges} must be sorted and have one label fewer than {labels}")
        return self


class PerturbationParams(_Strict):
    seed: int
    types: list[str]


class FailureParams(_Strict):
    seed: int
    per_type: int = Field(ge=1)
    rules: dict[str, dict[str, Any]]
    out_of_domain_queries: list[str]

    @model_validator(mode="after")
    def _every_type_has_a_rule(self) -> FailureParams:
        expected = {
            "one_word", "very_long", "formula_only", "acronym_only", "out_of_domain",
            "near_duplicate_title",
        }  # fmt: skip
        if set(self.rules) != expected:
            raise ValueError(f"failure rules must be given for exactly {sorted(expected)}, got {sorted(self.rules)}")
        for name, rule in self.rules.items():
            if "type" not in rule:
                raise ValueError(f"failure rule {name!r} needs a 'type' (how pass/fail is decided)")
        return self
