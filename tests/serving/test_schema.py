"""schemathesis over the service's OpenAPI schema, over real HTTP: whatever a client sends,
the answer is never a 5xx. (Driven through hypothesis directly: schemathesis 4's pytest
plugin does not run under pytest 9.)"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.serving.conftest import Running


def test_no_input_makes_a_server_error(service: Running) -> None:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /embed/text", "POST /embed/batch", "POST /search", "POST /v1/embeddings", "GET /ready", "GET /info"}  # fmt: skip
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=60)

        call()
    answered = service.state.metrics.requests.collect()[0].samples
    statuses = {s.labels["status"] for s in answered if s.name.endswith("_total")}
    total = sum(s.value for s in answered if s.name.endswith("_total"))
    assert total >= 100 and "422" in statuses and "200" in statuses  # it really sent good and bad requests
    assert not any(status.startswith("5") for status in statuses)
