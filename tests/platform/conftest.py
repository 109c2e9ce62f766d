"""Fixtures of the platform tests: an app over an empty warehouse (fast), one user and API
token per role, and an app over a small simulated world (slow)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from platform_helpers import make_app

from touchpoint.warehouse import connect


@pytest.fixture
def empty_app(tmp_path):
    """The app over a warehouse with no tables, and a token per role."""
    warehouse = tmp_path / "empty.duckdb"
    connect(warehouse).disconnect()
    return make_app(warehouse)


@pytest.fixture
def client(empty_app):
    app, _ = empty_app
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="session")
def world_warehouse(tmp_path_factory):
    """A simulated operator (300 customers × 2 months, seed 5), ingested and run; its
    warehouse file and the customers' source rows (with their phone numbers)."""
    import pyarrow.parquet as pq

    from touchpoint.config import load_config
    from touchpoint.ingest import ingest
    from touchpoint.pipeline import run_pipeline
    from touchpoint.simulate import simulate

    out = tmp_path_factory.mktemp("platform_world")
    world = simulate(out / "data", customers=300, months=2, seed=5)
    warehouse = out / "world.duckdb"
    con = connect(warehouse)
    ingest(con, list(world.files.values()))
    run_pipeline(con, load_config())
    con.disconnect()
    customers = pq.read_table(world.files["customers"]).to_pylist()
    return warehouse, customers


@pytest.fixture
def world_app(world_warehouse):
    warehouse, customers = world_warehouse
    app, tokens = make_app(warehouse)
    return app, tokens, customers
