"""Client for a running embedding service's ``POST /embed/batch``, with retries and back-off.

Retries use urllib3's ``Retry`` under a requests session: connection errors and 429/502/503/504
answers are retried with exponential back-off, honouring ``Retry-After``; POST is retried
because embedding is idempotent. Anything else, or an answer of the wrong shape, is an error
that says what came back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class EmbeddingServiceError(RuntimeError):
    """The service failed, or answered something that is not the embeddings asked for."""


class EmbeddingClient:
    """Embeds texts through ``<base_url>/embed/batch`` in requests of ``batch_size`` texts."""

    def __init__(
        self, base_url: str, batch_size: int = 64, retries: int = 5, backoff_s: float = 0.5,
        timeout_s: float = 60.0, api_key: str | None = None,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        retry = Retry(
            total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff_s,
            status_forcelist=(429, 502, 503, 504), allowed_methods=frozenset({"GET", "POST"}),
            respect_retry_after_header=True, raise_on_status=False,
        )  # fmt: skip
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    @property
    def identity(self) -> str:
        return f"service:{self.base_url}"

    def _post(self, texts: Sequence[str]) -> np.ndarray:
        url = f"{self.base_url}/embed/batch"
        try:
            response = self.session.post(url, json={"texts": list(texts), "truncate": True}, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise EmbeddingServiceError(f"{url} could not be reached after retries: {exc}") from exc
        if response.status_code != 200:
            raise EmbeddingServiceError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            vectors = np.asarray(response.json()["embeddings"], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingServiceError(f"{url} answered without an 'embeddings' matrix: {exc}") from exc
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise EmbeddingServiceError(f"{url} returned {vectors.shape} for {len(texts)} texts")
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [n, dim] embeddings of ``texts`` in input order."""
        if not texts:
            raise ValueError("no texts to embed")
        parts = [self._post(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(parts)
