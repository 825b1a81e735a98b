"""The OAI-PMH harvester against a real HTTP server on 127.0.0.1 serving OAI-PMH pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from neura_scholar.corpus import validate_papers
from neura_scholar.datasets.arxiv_jsonl_dataset import ArxivJsonLinesDataset
from neura_scholar.oai_pmh import Harvester, HarvestSettings, OaiPmhError, harvest_to_file


def _record(identifier: str, body: str, deleted: bool = False) -> str:
    status = ' status="deleted"' if deleted else ""
    metadata = "" if deleted else f'<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/">{body}</arXiv></metadata>'
    return (
        f"<record><header{status}><identifier>oai:arXiv.org:{identifier}</identifier>"
        f"<datestamp>2024-01-05</datestamp></header>{metadata}</record>"
    )


def _arxiv(pid: str, title: str, abstract: str | None, categories: str, created: str, authors: list[tuple[str, str]]) -> str:
    people = "".join(f"<author><keyname>{k}</keyname><forenames>{f}</forenames></author>" for f, k in authors)
    abstract_xml = f"<abstract>{abstract}</abstract>" if abstract is not None else ""
    return (
        f"<id>{pid}</id><created>{created}</created><authors>{people}</authors>"
        f"<title>{title}</title><categories>{categories}</categories>{abstract_xml}"
    )


def _page(records: list[str], token: str | None, size: int = 4) -> str:
    token_xml = (
        f'<resumptionToken completeListSize="{size}" cursor="0">{token or ""}</resumptionToken>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-02-01T00:00:00Z</responseDate>'
        f'<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords>{"".join(records)}{token_xml}</ListRecords></OAI-PMH>'
    )


def _error(code: str, text: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f'<error code="{code}">{text}</error></OAI-PMH>'
    )


PAGE_1 = _page(
    [
        _record("2401.00001", _arxiv("2401.00001", "Graph  neural\n networks for $\\mathbb{R}^n$", "We study   GNNs.",
                                     "cs.LG stat.ML", "2024-01-02", [("Ada", "Lovelace"), ("Alan M.", "Turing")])),
        _record("2401.00002", _arxiv("2401.00002", "No abstract here", None, "cs.AI", "2024-01-03", [("A", "B")])),
        _record("2401.00003", "", deleted=True),
    ],
    token="tok-1",
)
PAGE_2 = _page(
    [_record("2401.00004", _arxiv("2401.00004", "Second page", "An abstract of the second page.", "math.CO",
                                  "2024-01-04", [("Emmy", "Noether")]))],
    token=None,
)


class OaiServer:
    """Serves scripted answers in order and records every request's query."""

    def __init__(self, answers: list[tuple[int, dict[str, str], str]]) -> None:
        self.answers = answers
        self.queries: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.queries.append(parse_qs(urlsplit(self.path).query))
                status, headers, body = server.answers.pop(0)
                self.send_response(status)
                for key, value in {"Content-Type": "text/xml", **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oai"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def serve() -> Iterator:  # type: ignore[type-arg]
    servers: list[OaiServer] = []

    def start(answers: list[tuple[int, dict[str, str], str]]) -> OaiServer:
        servers.append(OaiServer(answers))
        return servers[-1]

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


class VirtualTime:
    """A clock that only moves when the harvester sleeps, so delays are checked exactly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _harvester(url: str, time: VirtualTime, **settings: object) -> Harvester:
    config = {"base_url": url, "set_spec": "cs", "date_from": "2024-01-01", "date_until": "2024-01-31", **settings}
    return Harvester(HarvestSettings(**config), sleep=time.sleep, clock=time.clock)  # type: ignore[arg-type]


def test_pages_resumption_503_retry_after_and_malformed_record(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve([(200, {}, PAGE_1), (503, {"Retry-After": "2"}, "busy"), (200, {}, PAGE_2)])
    time = VirtualTime()
    harvester = _harvester(server.url, time)
    out = tmp_path / "corpus" / "papers.jsonl.gz"
    stats = harvest_to_file(harvester, out)

    # Request 1 at t=0; 3 s politeness before request 2 (t=3), which gets 503 Retry-After: 2;
    # request 3 is due 3 s after request 2 (t=6) and 2 s have passed, so 1 s more.
    assert time.sleeps == [3.0, 2.0, 1.0]
    assert (stats.requests, stats.pages, stats.retries, stats.records) == (3, 2, 1, 2)
    assert dict(stats.skipped) == {"malformed": 1, "deleted": 1}
    assert server.queries[0] == {
        "verb": ["ListRecords"], "metadataPrefix": ["arXiv"], "set": ["cs"],
        "from": ["2024-01-01"], "until": ["2024-01-31"],
    }  # fmt: skip
    assert server.queries[1] == server.queries[2] == {"verb": ["ListRecords"], "resumptionToken": ["tok-1"]}

    papers, report = validate_papers(ArxivJsonLinesDataset(str(out.parent), "papers.jsonl.gz").load())
    assert report.kept == 2
    first = papers.iloc[0]
    assert first["paper_id"] == "2401.00001"
    assert first["title"] == "Graph neural networks for $\\mathbb{R}^n$"
    assert first["authors"] == "Ada Lovelace, Alan M. Turing"
    assert first["categories"] == ["cs.LG", "stat.ML"] and first["primary_category"] == "cs.LG"
    assert first["published"] == "2024-01-02"
    assert papers.iloc[1]["paper_id"] == "2401.00004"


def test_max_records_stops_before_the_next_page(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([(200, {}, PAGE_1)])
    papers = list(_harvester(server.url, VirtualTime(), max_records=1).records())
    assert [p["paper_id"] for p in papers] == ["2401.00001"]
    assert len(server.queries) == 1


def test_retry_after_as_an_http_date(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, ""), (200, {}, PAGE_2)])
    time = VirtualTime()
    assert len(list(_harvester(server.url, time).records())) == 1
    assert time.sleeps == [0.0, 3.0]  # a date in the past means "now"; then the 3 s delay


def test_errors_stop_the_harvest_with_a_clear_message(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve([(200, {}, _error("badArgument", "Illegal set"))])
    with pytest.raises(OaiPmhError, match="OAI-PMH error badArgument: Illegal set"):
        list(_harvester(server.url, VirtualTime()).records())
    server = serve([(500, {}, "boom")])
    with pytest.raises(OaiPmhError, match="answered HTTP 500"):
        list(_harvester(server.url, VirtualTime()).records())
    server = serve([(503, {"Retry-After": "1"}, "")] * 3)
    with pytest.raises(OaiPmhError, match="still answered 503 after 2 retries"):
        list(_harvester(server.url, VirtualTime(), max_retries=2).records())
    server = serve([(200, {}, "<OAI-PMH><unclosed>")])
    with pytest.raises(OaiPmhError, match="page 1 is not valid XML"):
        list(_harvester(server.url, VirtualTime()).records())
    server = serve([(200, {}, _error("noRecordsMatch", "nothing"))])
    with pytest.raises(OaiPmhError, match="the harvest found no records"):
        harvest_to_file(_harvester(server.url, VirtualTime()), tmp_path / "papers.jsonl.gz")
    assert not (tmp_path / "papers.jsonl.gz").exists()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="date_from must be YYYY-MM-DD, got '01/01/2024'"):
        HarvestSettings(date_from="01/01/2024")
    with pytest.raises(ValueError, match="max_records must be positive"):
        HarvestSettings(max_records=0)
