"""Schemathesis over the API's OpenAPI schema, as a frontline agent and as an administrator:
every operation, generated parameters and bodies; zero server errors, every response (status,
content type, body) as the schema documents it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from platform_helpers import make_app

pytestmark = pytest.mark.slow

SKIPPED = {"/api/v1/session"}  # logging in and out: the security tests cover them


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_every_operation_answers_as_the_schema_says(world_warehouse, role):
    warehouse, _ = world_warehouse
    app, tokens = make_app(warehouse)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    failures, n_operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        n_operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=5,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers)

        try:
            check()
        except BaseException as exc:  # schemathesis raises exception groups
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:600])
    assert n_operations == 19
    assert failures == []
