"""Request and response bodies. Requests are strict: unknown fields, wrong types (``"10"`` or
``10.0`` for an integer), empty or whitespace-only texts and lone surrogates are refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


def _real_text(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or only whitespace")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text holds a lone surrogate (not valid Unicode)") from exc
    return text


Text = Annotated[StrictStr, AfterValidator(_real_text)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedTextRequest(_Request):
    text: Text
    truncate: StrictBool = False


class EmbedBatchRequest(_Request):
    texts: list[Text] = Field(min_length=1)
    truncate: StrictBool = False


class SearchRequest(_Request):
    query: Text
    k: StrictInt = Field(10, ge=1)
    category: StrictStr | None = Field(None, min_length=1, max_length=64)
    year_from: StrictInt | None = Field(None, ge=1900, le=2100)
    year_to: StrictInt | None = Field(None, ge=1900, le=2100)
    hybrid: StrictBool = False


class OpenAIEmbeddingsRequest(_Request):
    """OpenAI's ``POST /v1/embeddings`` request; token-id inputs are not supported."""

    input: Text | list[Text]
    model: StrictStr | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = None
    user: StrictStr | None = None


class EmbedTextResponse(BaseModel):
    embedding: list[float]
    dim: int
    model: str
    tokens: int
    truncated: bool


class EmbedBatchResponse(BaseModel):
    embeddings: list[list[float]]
    dim: int
    model: str
    tokens: list[int]
    truncated: list[bool]


class PaperResult(BaseModel):
    paper_id: str
    title: str
    year: int
    categories: list[str]
    score: float
    chunk_id: str
    snippet: str


class SearchResponse(BaseModel):
    results: list[PaperResult]
    model: str
    k: int


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class OpenAIEmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: dict[str, int]


class ErrorBody(BaseModel):
    type: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
