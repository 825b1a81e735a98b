"""Inference for the service: admission control, token limits, and encoding off the event loop,
optionally micro-batched.

- :class:`Admission` counts requests in flight; past the limit a request is refused at once
  (429 with Retry-After) instead of waiting in an unbounded queue.
- :class:`Engine` runs the encoder on one worker thread (ONNX Runtime uses its own intra-op
  threads; more Python workers would only oversubscribe the cores). Without micro-batching each
  request is one encoder call; with it, requests arriving within ``batch_wait_ms`` are joined
  into one call of at most ``max_batch_size`` texts and ``max_batch_tokens`` padded tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tokenizers import Tokenizer

from neura_scholar.encoders import Embeddings, Encoder
from neura_scholar.serving.errors import ApiError


class Admission:
    """At most ``limit`` requests in flight; the next is refused with ``overloaded``."""

    def __init__(self, limit: int, retry_after_s: int, on_reject: Callable[[], None] = lambda: None) -> None:
        self.limit, self.retry_after_s, self.in_flight = limit, retry_after_s, 0
        self._on_reject = on_reject

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.in_flight >= self.limit:
            self._on_reject()
            raise ApiError("overloaded", f"{self.in_flight} requests in flight (limit {self.limit}); retry later",
                           headers={"Retry-After": str(self.retry_after_s)})  # fmt: skip
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


@dataclass
class _Pending:
    texts: list[str]
    tokens: int
    future: asyncio.Future[Embeddings] = field(repr=False)


class Engine:
    """Texts to embeddings for the request handlers (see the module docstring)."""

    def __init__(
        self, encoder: Encoder, micro_batching: bool, batch_wait_ms: float, max_batch_size: int, max_batch_tokens: int,
        on_batch: Callable[[int], None] = lambda n: None, thread_init: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.encoder = encoder
        self.micro_batching = micro_batching
        self.batch_wait_s = batch_wait_ms / 1000
        self.max_batch_size, self.max_batch_tokens = max_batch_size, max_batch_tokens
        self._counter = Tokenizer.from_str(encoder.tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()
        # ``thread_init`` runs on the inference thread itself (OpenMP thread counts are per thread).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder", initializer=thread_init)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._on_batch = on_batch

    @property
    def max_tokens(self) -> int:
        return self.encoder.max_length

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text needs with special tokens, before any truncation."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]

    def _refuse_over_long(self, texts: Sequence[str], over: Sequence[int]) -> None:
        """Raise ``input_too_long`` naming each over-long input (``over``: their indices) and
        its full token count."""
        if not over:
            return
        counts = self.count_tokens([texts[i] for i in over])
        shown = ", ".join(f"input {i}: {c} tokens" for i, c in list(zip(over, counts, strict=True))[:5])
        raise ApiError("input_too_long", f"{shown}; the model takes at most {self.max_tokens} (send truncate: true to cut)",
                       {"max_tokens": self.max_tokens, "inputs": [{"index": i, "tokens": c} for i, c in zip(over, counts, strict=True)]})  # fmt: skip

    async def embed(self, texts: list[str], truncate: bool) -> Embeddings:
        """Embeddings of ``texts``; over-long inputs are an error unless ``truncate``.

        Without micro-batching the encoder tokenises once (with truncation) and reports which
        inputs it cut; only those are counted again for the error. Micro-batching needs every
        input's token count up front to bound a batch's tokens.
        """
        loop = asyncio.get_running_loop()
        if not self.micro_batching:
            self._on_batch(len(texts))
            result = await loop.run_in_executor(self._executor, self.encoder.encode, texts)
            if not truncate:
                self._refuse_over_long(texts, [int(i) for i in np.flatnonzero(result.truncated)])
            return result
        counts = await loop.run_in_executor(None, self.count_tokens, texts)
        if not truncate:
            self._refuse_over_long(texts, [i for i, c in enumerate(counts) if c > self.max_tokens])
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._batch_loop())
        pending = _Pending(texts, sum(min(c, self.max_tokens) for c in counts), loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    async def _batch_loop(self) -> None:
        assert self._queue is not None  # noqa: S101 - set before the task starts
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.batch_wait_s
            size, tokens = len(batch[0].texts), batch[0].tokens
            while size < self.max_batch_size and tokens < self.max_batch_tokens:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
                batch.append(item)
                size, tokens = size + len(item.texts), tokens + item.tokens
            texts = [t for item in batch for t in item.texts]
            self._on_batch(len(texts))
            try:
                result = await loop.run_in_executor(self._executor, self.encoder.encode, texts)
            except Exception as exc:  # every waiting request gets the error, the loop goes on
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            start = 0
            for item in batch:
                end = start + len(item.texts)
                part = Embeddings(result.vectors[start:end], result.n_tokens[start:end], result.truncated[start:end])
                if not item.future.done():
                    item.future.set_result(part)
                start = end

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def encode_now(self, texts: Sequence[str]) -> np.ndarray:
        """Synchronous encoding on the calling thread (for the searcher inside the worker)."""
        return self.encoder.encode(texts).vectors

    async def run(self, function: Callable[[], object]) -> object:
        """Run ``function`` on the inference thread (search: encode + FAISS + collapse)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=True, cancel_futures=False)
