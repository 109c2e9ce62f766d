"""The API over a small simulated world: every figure is the query layer's, the card is found
by phone number, lists page and export whole, and no parameter injects anything."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from touchpoint import channels, customers
from touchpoint.config import load_config
from touchpoint.platform import all_routes
from touchpoint.platform._api import clean
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow

INJECTIONS = (
    "' OR '1'='1",
    "x'; DROP TABLE users; --",
    "../../../etc/passwd",
    "%2e%2e%2fetc%2fpasswd",
    "<script>alert(1)</script>",
    "C1%00",
    "{{7*7}}",
    "1 UNION SELECT password_hash FROM users",
)


def _bearer(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_the_headline_and_card_are_the_query_layers(world_app):
    app, tokens, rows = world_app
    client = TestClient(app)
    warehouse = app.state.platform.warehouse
    con = connect(warehouse, read_only=True)
    try:
        expected_headline = clean(channels.headline(con))
        expected_card = clean(customers.card(con, load_config(), rows[0]["customer_id"]))
    finally:
        con.disconnect()
    headline = client.get("/api/v1/kpis/headline", headers=_bearer(tokens, "viewer")).json()
    assert headline == expected_headline
    assert headline["n_contacts"] > 0
    card = client.get(
        f"/api/v1/customers/{rows[0]['customer_id']}", headers=_bearer(tokens, "agent")
    ).json()
    assert {k: card[k] for k in expected_card} == expected_card


def test_the_card_by_phone_number_is_masked_unless_the_role_allows(world_app):
    app, tokens, rows = world_app
    client = TestClient(app)
    row = next(r for r in rows[5:] if r["msisdn"])
    number = row["msisdn"]
    as_agent = client.post(
        "/api/v1/customers/lookup", json={"phone": number}, headers=_bearer(tokens, "agent")
    )
    assert as_agent.status_code == 200, as_agent.text
    assert as_agent.json()["customer_id"] == row["customer_id"]
    shown = as_agent.json()["phone"]
    assert shown[:3] == number[:3] and shown[-4:] == number[-4:] and "*" in shown
    assert number not in as_agent.text
    as_admin = client.post(
        "/api/v1/customers/lookup", json={"phone": number}, headers=_bearer(tokens, "admin")
    )
    assert as_admin.json()["phone"] == number
    unknown = client.post(
        "/api/v1/customers/lookup", json={"phone": "19999999999"}, headers=_bearer(tokens, "agent")
    )
    assert unknown.status_code == 404 and "199****9999" in unknown.json()["detail"]
    audit = app.state.platform.store.audit_rows()[0]
    lookups = [r for r in audit if r["action"] == "card.lookup"]
    assert [r["target"] for r in lookups] == [row["customer_id"]] * 2
    assert not any(number in str(r) for r in audit)  # the number is never written down


def test_pages_cover_the_list_and_the_export_counts_every_row(world_app):
    app, tokens, _ = world_app
    client = TestClient(app)
    bearer = _bearer(tokens, "analyst")
    first = client.get("/api/v1/channels?by=region&limit=7", headers=bearer).json()
    total = first["total"]
    items = []
    for offset in range(0, total, 7):
        items += client.get(
            f"/api/v1/channels?by=region&limit=7&offset={offset}", headers=bearer
        ).json()["items"]
    assert len(items) == total > 7
    con = connect(app.state.platform.warehouse, read_only=True)
    try:
        expected = channels.channel_kpi_rows(con, load_config(), "month", "region").num_rows
    finally:
        con.disconnect()
    assert total == expected
    only_ivr = client.get("/api/v1/channels?by=region&channel=ivr&limit=1000", headers=bearer)
    assert {r["channel"] for r in only_ivr.json()["items"]} == {"ivr"}
    exported = client.get("/api/v1/exports/channels?by=region&format=csv", headers=bearer)
    assert exported.headers["content-disposition"] == 'attachment; filename="channels.csv"'
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(lines) == total + 1
    book = client.get("/api/v1/exports/channels?by=region&format=xlsx", headers=bearer)
    with zipfile.ZipFile(io.BytesIO(book.content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert len(re.findall(r"<row ", sheet)) == total + 1
    exports = [r for r in app.state.platform.store.audit_rows()[0] if r["action"] == "export"]
    assert [(r["target"], r["n_rows"]) for r in exports] == [
        ("channels.xlsx", total),
        ("channels.csv", total),
    ]
    refused = client.get("/api/v1/exports/channels", headers=_bearer(tokens, "agent"))
    assert refused.status_code == 403


def test_no_parameter_injects_anything(world_app):
    app, tokens, _ = world_app
    client = TestClient(app, raise_server_exceptions=False)
    bearer = _bearer(tokens, "admin")
    n_users = len(app.state.platform.store.users())
    statuses = {}
    for route in all_routes(app):
        if "GET" not in route.methods or route.name in {"console_static", "openapi"}:
            continue
        params = re.findall(r"\{(\w+)\}", route.path)
        queries = ["limit", "offset", "lang", "by", "period", "channel", "category", "format"]
        for payload in INJECTIONS:
            for name in params:
                path = route.path.replace("{" + name + "}", payload.replace("/", "%2F"))
                r = client.get(path, headers=bearer)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code in {404, 422}, (route.path, payload, r.status_code)
            for name in queries:
                path = re.sub(r"\{(\w+)\}", "nodes", route.path)
                r = client.get(path, params={name: payload}, headers=bearer)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code < 500, (path, name, payload, r.text)
                assert "Traceback" not in r.text and "password_hash" not in r.text
    assert len(app.state.platform.store.users()) == n_users
    assert sum(statuses.values()) > 500 and 500 not in statuses


def test_the_console_pages_render_in_both_languages(world_app):
    app, tokens, rows = world_app
    client = TestClient(app)
    page = client.get("/console/login")
    token = client.cookies["tp_login_csrf"]
    client.post(
        "/console/login",
        data={"username": "analyst", "password": "correct horse battery", "csrf_token": token},
    )
    overview = client.get("/console/")
    assert overview.status_code == 200 and "Repeat contact rate" in overview.text
    assert "重复来电率" in client.get("/console/?lang=zh").text
    assert "重复来电率" in client.get("/console/").text  # the choice sticks (cookie)
    assert page.status_code == 200
    tags_page = client.get("/console/tags?lang=en")
    assert tags_page.status_code == 200 and "/console/tags/" in tags_page.text
