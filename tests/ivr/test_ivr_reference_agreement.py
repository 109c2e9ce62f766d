"""Touchpoint's IVR node statistics and containment equal an independent pandas version and
hand-written SQL (benchmarks/ivr_reference.py) on random data: the benchmark compares like
with like, and three separate implementations of docs/metrics.md agree."""

import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: benchmarks/

from benchmarks.channels_data import write as write_data  # noqa: E402
from benchmarks.ivr_reference import pandas_ivr, sql_statements  # noqa: E402

from touchpoint.config import load_config  # noqa: E402
from touchpoint.ivr import build  # noqa: E402
from touchpoint.warehouse import connect, write_table  # noqa: E402

NODE_COLUMNS = [
    "n_events", "n_visits", "n_calls", "n_callers", "n_loops", "mean_dwell_seconds",
    "median_dwell_seconds", "n_timeouts", "n_invalid_keys", "n_backtracks",
    "n_repeated_prompts", "n_backtrack_entries", "n_wrong_turns", "n_exits_self_service_complete", "n_exits_hang_up",
    "n_exits_transfer_agent", "n_exits_timeout", "n_exits_invalid", "n_exits_other",
]  # fmt: skip
CONTAINMENT_COLUMNS = [
    "n_calls", "n_contained", "n_verified", "ivr_containment_rate",
    "ivr_verified_containment_rate", "mean_self_service_seconds",
]  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    data_dir = write_data(tmp_path_factory.mktemp("ivr_ref"), 800, months=2, seed=5)
    path = str(data_dir / "wh.duckdb")
    con = connect(path)
    stg = {}
    for name in ("contacts", "ivr_events"):
        con.read_parquet(data_dir / f"{name}.parquet", table_name=f"parquet_{name}")
        stg[f"stg_{name}"] = write_table(con, f"stg_{name}", con.table(f"parquet_{name}"))
    built = build(stg, load_config())
    ours = {
        "node_stats": built["mart_ivr_node_stats"].to_pandas(),
        "containment": built["mart_ivr_containment"].to_pandas(),
    }
    con.disconnect()
    raw = duckdb.connect(path)
    for statement in sql_statements():
        raw.execute(statement)
    sql = {
        "node_stats": raw.execute("SELECT * FROM sql_ivr_node_stats").df(),
        "containment": raw.execute("SELECT * FROM sql_ivr_containment").df(),
    }
    raw.close()
    return ours, sql, pandas_ivr(data_dir)


def _aligned(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    return frame.set_index(keys)[columns].astype(float).sort_index()


@pytest.mark.parametrize("other", ["sql", "pandas"])
def test_node_stats_agree(results, other):
    ours, sql, pandas = results
    theirs = {"sql": sql, "pandas": pandas}[other]["node_stats"]
    a = _aligned(ours["node_stats"], ["node_id"], NODE_COLUMNS)
    b = _aligned(theirs, ["node_id"], NODE_COLUMNS).fillna(0)
    assert len(a) > 30 and a["n_visits"].sum() > 10_000
    # Every lost sign occurs in the data, so agreeing on it is not agreeing on zeros.
    assert (a[["n_loops", "n_backtracks", "n_repeated_prompts", "n_wrong_turns"]].sum() > 0).all()
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("other", ["sql", "pandas"])
def test_containment_agrees(results, other):
    ours, sql, pandas = results
    theirs = {"sql": sql, "pandas": pandas}[other]["containment"]
    keys = ["dimension", "dimension_value"]
    a = _aligned(ours["containment"], keys, CONTAINMENT_COLUMNS)
    b = _aligned(theirs, keys, CONTAINMENT_COLUMNS)
    assert 0 < a.loc[("all", "all"), "n_verified"] < a.loc[("all", "all"), "n_contained"]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
