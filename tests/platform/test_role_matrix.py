"""The role matrix as a test: every route × every role (and a logged-out client) is allowed
or refused exactly as roles.yaml says. The routes come from the app itself, so a new route
is covered the day it is added (and one without a matrix entry stops the app starting)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from platform_helpers import PASSWORD

from touchpoint.errors import ConfigError
from touchpoint.platform import ROLES, all_routes, create_app, load_role_matrix, route_names

WHO = (None, *ROLES)
# A valid value for each path parameter, and a valid body for each route that takes one.
PATH_VALUES = {
    "view": "nodes",
    "list_name": "channels",
    "customer_id": "C1",
    "tag_id": "x",
    "campaign_id": "x",
}
JSON_BODIES = {
    "login": {"username": "admin", "password": PASSWORD},
    "customer_lookup": {"phone": "13800138000"},
}
FORM_BODIES = {
    "console_customer_lookup": {"phone": "13800138000"},
    "console_tag_rate": {"stars": "4"},
    "console_tag_comment": {"comment": "clear rule"},
}


def _calls(app):
    for route in all_routes(app):
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield route.name, method, path


def test_every_route_has_a_matrix_entry_and_every_entry_a_route(empty_app):
    app, _ = empty_app
    matrix = load_role_matrix()
    names = set(route_names(app))
    assert matrix.missing(names) == []
    assert sorted(set(matrix.endpoints) - names) == []  # no stale entry either
    assert len(names) == len(matrix.endpoints) == 43


def test_a_route_without_a_matrix_entry_stops_the_app(empty_app, tmp_path):
    app, _ = empty_app
    matrix = load_role_matrix()
    endpoints = {k: v for k, v in matrix.endpoints.items() if k != "customer_card"}
    partial = matrix.model_copy(update={"endpoints": endpoints})
    with pytest.raises(ConfigError, match=r"no entry for the route\(s\) \['customer_card'\]"):
        create_app(app.state.platform.warehouse, matrix=partial)


def test_every_route_for_every_role_is_allowed_or_refused_as_configured(empty_app):
    app, tokens = empty_app
    matrix = load_role_matrix()
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    checked = refused = 0
    unauthorised_reads = []
    for name, method, path in _calls(app):
        for role in WHO:
            client.cookies.clear()
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            if name == "console_login_post":
                client.cookies.set("tp_login_csrf", "t0ken")
                kwargs = {
                    "data": {"username": "admin", "password": PASSWORD, "csrf_token": "t0ken"}
                }
            elif name in FORM_BODIES:
                kwargs = {"data": FORM_BODIES[name]}
            else:
                kwargs = {"json": JSON_BODIES[name]} if name in JSON_BODIES else {}
            response = client.request(method, path, headers=headers, **kwargs)
            allowed = matrix.allows(name, role)
            refused_status = {401, 303} if role is None and path.startswith("/console") else {401}
            if not allowed:
                refused += 1
                expected = refused_status if role is None else {403}
                if response.status_code not in expected:
                    unauthorised_reads.append((name, method, role, response.status_code))
            else:
                assert response.status_code not in {401, 403}, (name, role, response.text)
                assert response.status_code < 500 or response.status_code == 503, (name, role)
            checked += 1
    assert unauthorised_reads == []
    assert checked == 43 * 7
    # counted by hand from roles.yaml (campaigns: list 3, approve 5, dispatch 5, one campaign
    # 3, create 5, upload 5; API list 3, show 3; churn: evaluation 2, reasons 2, risks 4)
    assert refused == 58 + 3 + 5 + 5 + 3 + 5 + 5 + 3 + 3 + 2 + 2 + 4


def test_the_agent_looks_customers_up_but_exports_nothing(empty_app):
    matrix = load_role_matrix()
    assert matrix.allows("customer_lookup", "agent") and matrix.allows("customer_card", "agent")
    assert not matrix.allows("export", "agent") and not matrix.allows("channels", "agent")
    assert [r for r in ROLES if matrix.allows("audit", r)] == ["admin"]
    assert [r for r in ROLES if matrix.shows_phone(r)] == ["admin"]
