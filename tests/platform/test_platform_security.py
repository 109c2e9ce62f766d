"""Security cases: session fixation, CSRF, cookies, throttling, disabled users, body size,
errors as problem+json without a stack trace, and the 503 while a run holds the writer."""

from __future__ import annotations

import subprocess
import sys
import time

from fastapi.testclient import TestClient
from platform_helpers import PASSWORD, make_app

from touchpoint.platform._security import LoginThrottle


def _login(client, username="analyst", password=PASSWORD):
    return client.post("/api/v1/session", json={"username": username, "password": password})


def test_the_session_cookie_is_httponly_strict_and_new_at_every_login(client):
    first = _login(client)
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    old = client.cookies["tp_session"]
    assert _login(client).status_code == 200
    new = client.cookies["tp_session"]
    assert new != old
    # Session fixation: the id the browser had before logging in is dead afterwards.
    client.cookies.clear()
    client.cookies.set("tp_session", old)
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    client.cookies.set("tp_session", new)
    assert client.get("/api/v1/me").json() == {
        "username": "analyst",
        "role": "analyst",
        "via": "session",
    }


def test_a_planted_session_id_never_becomes_a_session(client):
    client.cookies.set("tp_session", "attacker-chosen-id")
    assert client.get("/api/v1/me").status_code == 401
    response = _login(client)
    assert response.status_code == 200
    issued = response.cookies["tp_session"]
    assert issued != "attacker-chosen-id" and len(issued) >= 40


def test_every_change_by_cookie_needs_the_csrf_token(client):
    csrf = _login(client).json()["csrf_token"]
    assert client.post("/api/v1/tokens").status_code == 403
    assert client.post("/api/v1/tokens", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.delete("/api/v1/session").status_code == 403
    made = client.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf})
    assert made.status_code == 200 and made.json()["token"].startswith("tp_")
    # The console's forms carry it as a field.
    assert client.post("/console/logout", follow_redirects=False).status_code == 403
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_the_console_login_form_needs_its_csrf_cookie(client):
    bad = client.post(
        "/console/login",
        data={"username": "analyst", "password": PASSWORD, "csrf_token": "x"},
        follow_redirects=False,
    )
    assert bad.status_code == 403
    page = client.get("/console/login")
    token = client.cookies["tp_login_csrf"]
    assert f'value="{token}"' in page.text
    good = client.post(
        "/console/login",
        data={"username": "analyst", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/console/"
    assert "tp_session" in client.cookies


def test_a_token_needs_no_csrf_and_dies_with_its_user(empty_app):
    app, tokens = empty_app
    client = TestClient(app)
    bearer = {"Authorization": f"Bearer {tokens['analyst']}"}
    assert client.post("/api/v1/tokens", headers=bearer).status_code == 200
    app.state.platform.store.set_disabled("analyst")
    refused = client.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "disabled" in refused.json()["detail"]
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer tp_forged"}).status_code == 401
    )
    assert _login(client).status_code == 401


def test_logins_are_throttled_after_five_failures_even_with_the_right_password(empty_app):
    app, _ = empty_app
    clock = [0.0]
    app.state.throttle = LoginThrottle(max_failures=5, window_seconds=900, clock=lambda: clock[0])
    client = TestClient(app)
    statuses = [_login(client, password=f"wrong password {i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    blocked = _login(client)
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "900"
    clock[0] = 901.0
    assert _login(client).status_code == 200
    rows, _ = app.state.platform.store.audit_rows()
    outcomes = [r["outcome"] for r in rows if r["action"] == "login"]
    assert outcomes == ["ok", "throttled", *["failed"] * 5]
    assert {r["client"] for r in rows if r["action"] == "login"} == {"testclient"}


def test_a_large_body_is_refused_before_it_is_read(client):
    big = {"username": "x", "password": "y" * 100_000}
    refused = client.post("/api/v1/session", json=big)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_crash_is_a_problem_without_a_stack_trace(empty_app, monkeypatch):
    import touchpoint.platform._api as api

    def boom(con):
        raise RuntimeError("secret internals at /srv/x.py line 3")

    monkeypatch.setattr(api.channels, "headline", boom)
    app, tokens = empty_app
    client = TestClient(app, raise_server_exceptions=False)
    # The empty warehouse has no marts: give it one so the route reaches the query.
    response = client.get(
        "/api/v1/kpis/headline", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.json()["title"] == "Internal error"


def test_a_missing_mart_and_an_unknown_route_are_problems(client, empty_app):
    _, tokens = empty_app
    bearer = {"Authorization": f"Bearer {tokens['admin']}"}
    missing = client.get("/api/v1/kpis/headline", headers=bearer)
    assert missing.status_code == 503 and "touchpoint run" in missing.json()["detail"]
    unknown = client.get("/api/v1/nothing", headers=bearer)
    assert unknown.status_code == 404 and unknown.json()["status"] == 404


def test_a_run_holding_the_writer_is_a_clear_503_at_once(empty_app):
    app, tokens = empty_app
    warehouse = app.state.platform.warehouse
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from touchpoint.warehouse import connect; "
         f"con = connect({str(warehouse)!r}); print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        client = TestClient(app, raise_server_exceptions=False)
        started = time.monotonic()
        busy = client.get(
            "/api/v1/kpis/headline", headers={"Authorization": f"Bearer {tokens['viewer']}"}
        )
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
    assert "is writing the warehouse" in busy.json()["detail"]
    assert took < 2.0
    # Logging in never touches the warehouse: it works while the run holds it.
    assert "Warehouse busy" in busy.json()["title"]


def test_logging_in_works_while_the_warehouse_is_locked(tmp_path):
    from touchpoint.warehouse import connect

    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)  # this process holds the writer
    try:
        app, _ = make_app(warehouse)
        assert _login(TestClient(app)).status_code == 200
    finally:
        con.disconnect()
