"""Harvesting arXiv metadata over OAI-PMH into the corpus JSON Lines shape.

``ListRecords`` with ``metadataPrefix=arXiv``, a ``set`` (e.g. ``cs``) and a date range, paged
with resumption tokens. It is polite the way arXiv asks: at least ``delay_s`` (3 s) between
requests, and on ``503`` it waits as long as ``Retry-After`` says before trying again. Deleted
records are skipped; a record that does not make a valid paper is skipped and counted, with a
warning naming its identifier. Everything else (HTTP errors, OAI errors, unparseable pages)
stops the harvest with an error saying what happened.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import requests
from defusedxml import ElementTree
from tqdm import tqdm

from neura_scholar.artifacts import write_atomic
from neura_scholar.corpus import normalise_whitespace, parse_paper

logger = logging.getLogger(__name__)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


class OaiPmhError(RuntimeError):
    """The repository answered with an error, or with something that is not OAI-PMH."""


@dataclass(frozen=True)
class HarvestSettings:
    """Where and what to harvest, and how politely."""

    base_url: str = "https://oaipmh.arxiv.org/oai"
    set_spec: str | None = "cs"
    date_from: str | None = None
    date_until: str | None = None
    max_records: int | None = None
    delay_s: float = 3.0
    max_retries: int = 5
    max_retry_after_s: float = 600.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("date_from", "date_until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name} must be YYYY-MM-DD, got {value!r}") from None
        if self.max_records is not None and self.max_records < 1:
            raise ValueError(f"max_records must be positive, got {self.max_records}")
        if self.delay_s < 0 or self.max_retries < 0:
            raise ValueError("delay_s and max_retries must not be negative")


@dataclass
class HarvestStats:
    requests: int = 0
    pages: int = 0
    retries: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def _text(element: Element | None, tag: str) -> str | None:
    found = element.find(tag) if element is not None else None
    return found.text if found is not None and found.text is not None else None


def arxiv_record_to_paper(metadata: Element) -> dict[str, Any]:
    """An ``<arXiv>`` metadata element as a corpus paper record (not yet validated)."""
    authors = []
    for author in metadata.findall(f"{ARXIV}authors/{ARXIV}author"):
        parts = [_text(author, f"{ARXIV}forenames"), _text(author, f"{ARXIV}keyname")]
        authors.append(" ".join(p.strip() for p in parts if p))
    categories = (_text(metadata, f"{ARXIV}categories") or "").split()
    record: dict[str, Any] = {
        "paper_id": _text(metadata, f"{ARXIV}id"),
        "title": _text(metadata, f"{ARXIV}title"),
        "abstract": _text(metadata, f"{ARXIV}abstract"),
        "categories": categories,
        "primary_category": categories[0] if categories else None,
        "published": _text(metadata, f"{ARXIV}created"),
        "authors": ", ".join(authors),
    }
    for optional in ("updated", "doi", "license"):
        value = _text(metadata, f"{ARXIV}{optional}")
        if value:
            record[optional] = normalise_whitespace(value)
    return record


def _retry_after_seconds(value: str | None, default: float) -> float:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


class Harvester:
    """Pages through ``ListRecords`` and yields validated paper records.

    Args:
        settings: what to harvest and how politely.
        session: the HTTP session (one keeps connections alive).
        sleep, clock: time functions, replaceable so tests can check the politeness delay
            without waiting for it.
    """

    def __init__(
        self,
        settings: HarvestSettings,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.stats = HarvestStats()
        self._last_request: float | None = None

    def _wait_politely(self) -> None:
        if self._last_request is not None:
            remaining = self.settings.delay_s - (self.clock() - self._last_request)
            if remaining > 0:
                self.sleep(remaining)

    def _get(self, params: dict[str, str]) -> bytes:
        for attempt in range(self.settings.max_retries + 1):
            self._wait_politely()
            self._last_request = self.clock()
            self.stats.requests += 1
            response = self.session.get(
                self.settings.base_url, params=params, timeout=self.settings.timeout_s
            )
            if response.status_code != 503:
                if response.status_code != 200:
                    raise OaiPmhError(
                        f"{self.settings.base_url} answered HTTP {response.status_code} to {params}"
                    )
                return response.content
            if attempt == self.settings.max_retries:
                break
            wait = _retry_after_seconds(response.headers.get("Retry-After"), self.settings.delay_s)
            if wait > self.settings.max_retry_after_s:
                raise OaiPmhError(f"asked to retry after {wait:.0f} s, over max_retry_after_s")
            logger.info("503 from %s: retrying after %.0f s", self.settings.base_url, wait)
            self.stats.retries += 1
            self.sleep(wait)
        raise OaiPmhError(f"{self.settings.base_url} still answered 503 after {self.settings.max_retries} retries")

    def _first_params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": "arXiv"}
        optional = {
            "set": self.settings.set_spec,
            "from": self.settings.date_from,
            "until": self.settings.date_until,
        }
        params.update({key: value for key, value in optional.items() if value})
        return params

    def pages(self) -> Iterator[Element]:
        """The ``ListRecords`` elements of every page, following resumption tokens."""
        params = self._first_params()
        while True:
            try:
                root = ElementTree.fromstring(self._get(params))
            except ElementTree.ParseError as exc:
                raise OaiPmhError(f"page {self.stats.pages + 1} is not valid XML: {exc}") from exc
            error = root.find(f"{OAI}error")
            if error is not None:
                if error.get("code") == "noRecordsMatch":
                    return
                raise OaiPmhError(f"OAI-PMH error {error.get('code')}: {(error.text or '').strip()}")
            listing = root.find(f"{OAI}ListRecords")
            if listing is None:
                raise OaiPmhError("the answer has neither ListRecords nor an error element")
            self.stats.pages += 1
            yield listing
            token = listing.find(f"{OAI}resumptionToken")
            if token is None or not (token.text or "").strip():
                return
            params = {"verb": "ListRecords", "resumptionToken": token.text.strip()}

    def records(self, progress: tqdm | None = None) -> Iterator[dict[str, Any]]:
        """Validated paper records, at most ``max_records`` of them."""
        for listing in self.pages():
            if progress is not None:
                token = listing.find(f"{OAI}resumptionToken")
                size = token.get("completeListSize") if token is not None else None
                if size and size.isdigit() and progress.total is None:
                    progress.total = min(int(size), self.settings.max_records or int(size))
            for record in listing.findall(f"{OAI}record"):
                paper = self._paper(record)
                if paper is None:
                    continue
                self.stats.records += 1
                if progress is not None:
                    progress.update(1)
                yield paper
                if self.settings.max_records and self.stats.records >= self.settings.max_records:
                    return

    def _paper(self, record: Element) -> dict[str, Any] | None:
        header = record.find(f"{OAI}header")
        identifier = _text(header, f"{OAI}identifier") or "<no identifier>"
        if header is not None and header.get("status") == "deleted":
            self.stats.skipped["deleted"] += 1
            return None
        metadata = record.find(f"{OAI}metadata/{ARXIV}arXiv")
        if metadata is None:
            self.stats.skipped["malformed"] += 1
            logger.warning("record %s has no arXiv metadata: skipped", identifier)
            return None
        raw = arxiv_record_to_paper(metadata)
        try:
            parse_paper(raw)
        except ValueError as exc:
            self.stats.skipped["malformed"] += 1
            logger.warning("record %s is malformed (%s): skipped", identifier, exc)
            return None
        return raw


def harvest_to_file(harvester: Harvester, out: Path) -> HarvestStats:
    """Harvest into gzip JSON Lines at ``out``, written atomically once the harvest is done."""
    lines = []
    with tqdm(desc="harvest", unit="paper", total=harvester.settings.max_records) as progress:
        for paper in harvester.records(progress):
            lines.append(json.dumps(paper, ensure_ascii=False))
    if not lines:
        raise OaiPmhError(f"the harvest found no records ({harvester.settings}); nothing written")
    write_atomic(out, gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    stats = harvester.stats
    logger.info(
        "harvested %d papers in %d pages (%d requests, %d retries, skipped %s) into %s",
        stats.records, stats.pages, stats.requests, stats.retries, dict(stats.skipped), out,
    )  # fmt: skip
    return stats
