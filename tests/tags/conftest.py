"""Tag fixtures: one realistic 360 with every contract column (tiny ones are in the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import ibis
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: benchmarks/

from benchmarks.tags_data import synthetic_c360  # noqa: E402

from touchpoint.config import load_config  # noqa: E402
from touchpoint.pipeline.runner import run_pipeline  # noqa: E402
from touchpoint.pipeline.steps import STEPS  # noqa: E402
from touchpoint.warehouse import connect  # noqa: E402


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def realistic_360(config):
    """A synthetic 360 of 3,000 customers × 6 months with every contract column (Arrow)."""
    return synthetic_c360(config, 3000, months=6, seed=11)


@pytest.fixture
def c360_table(realistic_360):
    return ibis.memtable(realistic_360)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory, realistic_360, config):
    path = tmp_path_factory.mktemp("tags_cli") / "wh.duckdb"
    con = connect(path)
    con.create_table("mart_customer_360", realistic_360)
    results = run_pipeline(
        con, config, steps=[s for s in STEPS if s.name in ("tags", "tags_changes")]
    )
    assert results[0].ran, results[0].skipped_reason
    con.disconnect()
    return path
