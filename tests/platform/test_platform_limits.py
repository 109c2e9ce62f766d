"""The platform's limits: settings from versioned YAML, a rate limit per client, and a query
that runs too long stopped with a 504 problem."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from platform_helpers import make_app

from touchpoint.config import load_config
from touchpoint.errors import ConfigError
from touchpoint.platform import (
    PlatformSettings,
    WarehouseReader,
    load_platform_settings,
    platform_settings_from_config,
)
from touchpoint.platform._security import Problem


def test_the_settings_come_from_the_defaults_and_a_settings_file(tmp_path):
    defaults = load_platform_settings()
    assert (defaults.port, defaults.session_hours, defaults.max_body_bytes) == (8000, 8, 65536)
    mine = tmp_path / "settings.yaml"
    mine.write_text("platform:\n  port: 9001\n  query_timeout_seconds: 2.5\n", encoding="utf-8")
    settings = platform_settings_from_config(load_config(mine))
    assert (settings.port, settings.query_timeout_seconds) == (9001, 2.5)
    assert settings.session_hours == defaults.session_hours  # the rest stays default
    bad = tmp_path / "bad.yaml"
    bad.write_text("platform:\n  port: 70000\n  limits: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"platform\.port.*platform\.limits"):
        platform_settings_from_config(load_config(bad))
    future = tmp_path / "future.yaml"
    future.write_text("platform:\n  version: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"platform\.version"):
        platform_settings_from_config(load_config(future))


def test_a_client_over_the_rate_gets_429_with_when_to_come_back(empty_app):
    app, tokens = empty_app
    limited = PlatformSettings(rate_limit_per_second=0.01, rate_limit_burst=3)
    app, _ = make_app(app.state.platform.warehouse, settings=limited)
    client = TestClient(app)
    statuses = [client.get("/api/v1/health").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = client.get("/api/v1/health")
    assert refused.headers["content-type"] == "application/problem+json"
    assert 90 <= int(refused.headers["retry-after"]) <= 100  # one token every 100 s


def test_a_session_lasts_as_long_as_the_settings_say(empty_app):
    import datetime as dt

    app, _ = empty_app
    app, _ = make_app(app.state.platform.warehouse, settings=PlatformSettings(session_hours=2))
    import sqlite3

    store = app.state.platform.store
    store.create_session("viewer")
    with sqlite3.connect(store.path) as db:
        created, expires = db.execute(
            "SELECT created_at, expires_at FROM sessions ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    took = dt.datetime.fromisoformat(expires) - dt.datetime.fromisoformat(created)
    assert took == dt.timedelta(hours=2)


def test_a_query_past_the_time_limit_is_stopped_with_a_504(empty_app):
    app, _ = empty_app
    reader = WarehouseReader(app.state.platform.warehouse, timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(Problem) as stopped, reader.connection() as con:
        con.raw_sql("SELECT count(*) FROM range(1000000000000) a, range(1000) b").fetchall()
    took = time.monotonic() - started
    assert stopped.value.status == 504 and "longer than 0.5 s" in stopped.value.detail
    assert took < 5
    with reader.connection() as con:  # the connection is usable again at once
        assert con.raw_sql("SELECT 42").fetchone() == (42,)
    reader.close()


def test_an_interrupted_query_anywhere_is_a_504_problem_not_a_crash(empty_app):
    """DuckDB reports an interrupted query under several error types; each is the 504."""
    import duckdb

    from touchpoint.platform import load_role_matrix

    app, tokens = empty_app
    matrix = load_role_matrix()
    endpoints = {**matrix.endpoints, "slow": ("admin",), "broken": ("admin",)}
    app, tokens = make_app(
        app.state.platform.warehouse,
        matrix=matrix.model_copy(update={"endpoints": endpoints}),
        settings=PlatformSettings(query_timeout_seconds=3),
    )

    def slow():
        raise duckdb.InvalidInputException(
            "Attempting to get collection from an unsuccessful query result\n"
            ": Error INTERRUPT Error: Interrupted!"
        )

    def broken():
        raise duckdb.CatalogException("Catalog Error: no table secret_table")

    app.add_api_route("/api/v1/slow", slow, name="slow")
    app.add_api_route("/api/v1/broken", broken, name="broken")
    client = TestClient(app, raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {tokens['admin']}"}
    stopped = client.get("/api/v1/slow", headers=bearer)
    assert stopped.status_code == 504
    assert stopped.headers["content-type"] == "application/problem+json"
    assert "longer than 3 s" in stopped.json()["detail"]
    other = client.get("/api/v1/broken", headers=bearer)  # any other DuckDB error: a 500
    assert other.status_code == 500 and "secret_table" not in other.text
