"""Touchpoint's channel tables equal an independent pandas version and hand-written SQL.

Random contacts-like data (benchmarks/channels_data.py) exercise every definition at once:
the three implementations were written separately from docs/metrics.md, so agreement on
thousands of random contacts is a real check, and it keeps the benchmark honest (all three
compute the same thing).
"""

import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: benchmarks/

from benchmarks.channels_data import write as write_data  # noqa: E402
from benchmarks.channels_reference import pandas_channels, sql_statements  # noqa: E402

from touchpoint.channels import build, kpis_for  # noqa: E402
from touchpoint.warehouse import connect, write_table  # noqa: E402


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, config):
    data_dir = write_data(tmp_path_factory.mktemp("channels_ref"), 1500, months=2, seed=3)
    path = str(data_dir / "wh.duckdb")
    con = connect(path)
    stg = {}
    for name in ("contacts", "customers", "ivr_events"):
        con.read_parquet(data_dir / f"{name}.parquet", table_name=f"parquet_{name}")
        stg[f"stg_{name}"] = write_table(con, f"stg_{name}", con.table(f"parquet_{name}"))
    built = build(stg, config)
    ours = {name: expr.to_pandas() for name, expr in built.items()}
    # The dimensions the weekly mart leaves out, computed on demand, complete it.
    live = [
        kpis_for({**stg, **built}, config, "week", by).to_pandas() for by in ("region", "business")
    ]
    ours["mart_channels_kpis_weekly"] = pd.concat([ours["mart_channels_kpis_weekly"], *live])
    con.disconnect()
    raw = duckdb.connect(path)
    for statement in sql_statements(config):
        raw.execute(statement)
    sql = {
        name: raw.execute(f"SELECT * FROM {name}").df()
        for name in ("sql_kpis", "sql_kpis_monthly", "sql_kpis_weekly", "sql_escalation_by_region",
                     "sql_repeats")
    }  # fmt: skip
    raw.close()
    return ours, pandas_channels(data_dir, config), sql


def _sorted(frame, keys, columns):
    return frame.sort_values(keys)[keys + columns].reset_index(drop=True)


HEADLINE = ["n_contacts", "n_customers", "cost_yuan", "repeat_contact_rate",
            "first_contact_resolution_rate", "n_hotline_calls", "n_dialling_customer_days",
            "calls_per_dialling_customer_per_day", "n_calls_ended_in_ivr", "n_escalated",
            "ivr_to_agent_60min_rate"]  # fmt: skip


def test_headline_figures_agree(worlds):
    ours, pandas, sql = worlds
    mine = ours["mart_channels_kpis"][HEADLINE].iloc[0]
    assert mine["n_escalated"] > 50 and mine["repeat_contact_rate"] > 0.05  # a real workout
    for other in (pandas["kpis"], sql["sql_kpis"]):
        for key in HEADLINE:
            assert mine[key] == pytest.approx(other[key].iloc[0], rel=1e-9), key


@pytest.mark.parametrize("period", ["month", "week"])
def test_kpi_tables_agree(worlds, period):
    ours, pandas, sql = worlds
    name = {"month": "kpis_monthly", "week": "kpis_weekly"}[period]
    keys = ["dimension", "dimension_value", "period_start", "channel"]
    columns = ["n_contacts", "n_customers", "contact_share", "customer_share", "cost_yuan",
               "self_service_share", "n_repeated_contacts", "n_contacts_change_rate",
               "n_customers_change_rate"]  # fmt: skip
    mine = _sorted(ours[f"mart_channels_{name}"], keys, columns)
    mine["period_start"] = pd.to_datetime(mine.period_start)
    for other in (pandas[name], sql[f"sql_{name}"]):
        other = _sorted(other, keys, columns)
        other["period_start"] = pd.to_datetime(other.period_start)
        pd.testing.assert_frame_equal(mine, other, check_dtype=False, rtol=1e-9)


def test_breakdowns_agree(worlds):
    ours, pandas, sql = worlds
    for mine, theirs, keys, columns in [
        ("mart_channels_escalation_by_region", "escalation_by_region", ["region"],
         ["n_calls_ended_in_ivr", "n_escalated", "ivr_to_agent_60min_rate"]),
        ("mart_channels_repeats", "repeats", ["channel", "business"],
         ["n_contacts", "n_repeated_contacts", "repeat_contact_rate"]),
    ]:  # fmt: skip
        expected = _sorted(ours[mine], keys, columns)
        for other in (pandas[theirs], sql[f"sql_{theirs}"]):
            pd.testing.assert_frame_equal(
                expected, _sorted(other, keys, columns), check_dtype=False, rtol=1e-9
            )
