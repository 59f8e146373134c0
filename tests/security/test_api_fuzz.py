"""Property-based fuzz of the app's own OpenAPI document (schemathesis strategies driven by hypothesis):
with an admin token and a county token, no generated request may produce a server error; every error
carries a message and a 405 carries Allow. Bounded: ``INVESTFLOW_FUZZ_EXAMPLES`` examples per operation."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("INVESTFLOW_FUZZ_EXAMPLES", "40"))


def _fuzz(world, operation, tokens, problems):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        for who, token in tokens.items():
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            status = response.status_code
            where = f"{who} {case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"[:400]
            if status >= 500:
                problems.append(f"{status} {where}: {response.text[:300]}")
            elif status >= 400 and not (response.json() or {}).get("errors"):
                problems.append(f"{status} without a message: {where}")
            elif status == 405 and not response.headers.get("Allow"):
                problems.append(f"405 without Allow: {where}")

    run()


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_no_server_errors(world, matrix):
    tokens = {"admin": world.factory.token("admin"), "simao": world.factory.token("simao")}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.client.application)
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _fuzz(world, operation, tokens, problems)
    assert operations >= 18
    assert not problems, "\n".join(problems[:30])
