"""The capacity marts from hand-built call detail records, every figure worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from touchpoint import capacity
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.pipeline.marts import contract_problems, registered_marts


def _t(hms: str | None) -> dt.datetime | None:
    return None if hms is None else dt.datetime.fromisoformat(f"2026-03-02 {hms}")


# call, queue, arrived, queue start, queue exit, service start, service end, outcome, agent, customer
CALLS = [
    ("A1", "A", "09:00:00", "09:00:10", "09:00:30", "09:00:30", "09:05:30", "served", "a1", "C1"),
    ("A2", "A", "09:01:00", "09:01:05", "09:02:05", None, None, "abandoned", None, "C1"),
    ("A3", "A", "09:10:00", None, None, None, None, "abandoned", None, "C2"),  # in the IVR
    ("A4", "A", "09:40:00", "09:40:00", "09:40:40", "09:40:40", "09:44:00", "served", "a2", None),
    ("B1", "B", "10:00:00", None, None, "10:00:05", "10:10:05", "served", "b1", "C1"),  # no wait
]


def _cdr() -> ibis.Table:
    schema = arrow_schema(ENTITIES["call_records"])
    rows = [
        {
            "call_id": c,
            "queue": q,
            "arrived_at": _t(a),
            "queue_start": _t(qs),
            "queue_exit": _t(qe),
            "service_start": _t(ss),
            "service_end": _t(se),
            "outcome": o,
            "agent_id": ag,
            "customer_id": cu,
        }
        for c, q, a, qs, qe, ss, se, o, ag, cu in CALLS
    ]
    table = pa.Table.from_pylist(rows, schema=schema)
    return ibis.memtable(table)


@pytest.fixture(scope="module")
def marts():
    tables = capacity.build({capacity.CDR_TABLE: _cdr()}, load_config())
    return {name: expr.to_pandas() for name, expr in tables.items()}


def test_queue_figures_by_hand(marts):
    q = marts[capacity.QUEUES_MART].set_index("queue")
    a = q.loc["A"]
    assert (a.n_calls, a.n_queued, a.n_served, a.n_abandoned, a.n_served_in_time) == (4, 3, 2, 1, 1)
    assert a.ivr_to_agent_share == pytest.approx(3 / 4)
    assert a.service_level == pytest.approx(1 / 3)
    assert a.abandon_share == pytest.approx(1 / 3)
    assert a.mean_patience_s == pytest.approx((20 + 60 + 40) / 1)  # waits over hang-ups
    assert a.mean_wait_served_s == pytest.approx(30)
    assert a.mean_handle_s == pytest.approx(250)
    # C1 calls at 09:00, 09:01 and 10:00: A1 and A2 are followed within 24 h; A4 has no caller.
    assert (a.n_known_caller, a.n_repeated) == (3, 2)
    b = q.loc["B"]
    assert (b.n_queued, b.n_served, b.mean_wait_served_s) == (1, 1, 0)
    assert pytest.approx(b.mean_handle_s) == 600
    assert b.mean_patience_s != b.mean_patience_s  # NaN: nobody hung up
    assert (b.n_known_caller, b.n_repeated) == (1, 0)


def test_intervals_and_staffing_by_hand(marts):
    i = marts[capacity.INTERVALS_MART]
    got = {(r.queue, r.interval_start.strftime("%H:%M")): r for r in i.itertuples()}
    assert sorted(got) == [("A", "09:00"), ("A", "09:30"), ("B", "10:00")]
    assert (got["A", "09:00"].arrivals, got["A", "09:00"].abandoned) == (2, 1)
    s = marts[capacity.STAFFING_MART]
    plan = {(r.queue, r.interval_start.strftime("%H:%M")): r for r in s.itertuples()}
    first = plan["A", "09:00"]
    assert first.calls == 2 and first.load_erlangs == pytest.approx(2 * 250 / 1800)
    assert (first.aht_s, first.patience_s, first.agents_seen) == (250, 120, 1)
    # Erlang C by hand: a = 2 x 250 / 1800 Erlang. One agent: P(wait) = a, service level
    # 1 - a e^{-(1/250 - 2/1800) 20} = 0.738 < 0.8; two agents: P(wait) = B / (1 - a/2 (1 - B))
    # with B = (a^2/2) / (1 + a + a^2/2), service level 0.970: two agents.
    a = 2 * 250 / 1800
    one = 1 - a * math.exp(-(1 / 250 - 2 / 1800) * 20)
    b = (a * a / 2) / (1 + a + a * a / 2)
    two = 1 - b / (1 - a / 2 * (1 - b)) * math.exp(-(2 / 250 - 2 / 1800) * 20)
    assert one < 0.8 <= two and first.agents_erlang_c == 2
    assert first.agents_erlang_a >= 1
    assert plan["B", "10:00"].patience_s != plan["B", "10:00"].patience_s  # Erlang C only
    assert plan["B", "10:00"].agents_erlang_a == plan["B", "10:00"].agents_erlang_c
    by_hour = capacity.staffing_by_hour(ibis.memtable(s)).to_pandas()
    assert list(zip(by_hour.queue, by_hour.hour, strict=True)) == [("A", 9), ("B", 10)]
    assert by_hour.calls.tolist() == [1.5, 1.0]


def test_marts_keep_their_contracts(marts):
    config = load_config()
    contracts = registered_marts()
    con = ibis.duckdb.connect()
    for name, frame in marts.items():
        assert len(frame) > 0, name
        table = con.create_table(name, frame)
        assert contract_problems(table, contracts[name].contract, config) == [], name


def test_no_call_records_give_empty_marts():
    empty = ibis.memtable(arrow_schema(ENTITIES["call_records"]).empty_table())
    tables = capacity.build({capacity.CDR_TABLE: empty}, load_config())
    for name, expr in tables.items():
        assert expr.count().execute() == 0, name
    assert dict(tables[capacity.STAFFING_MART].schema())["queue"].is_string()


def _history(queue: str, weeks: int, seed: int) -> pd.DataFrame:
    t = pd.date_range("2026-01-05", periods=weeks * 7 * 48, freq="30min")
    hod = t.hour + t.minute / 60
    rate = np.where((hod >= 8) & (hod < 20), 20 + 10 * np.sin((hod - 8) / 12 * np.pi), 1)
    calls = np.random.default_rng(seed).poisson(rate * np.where(t.dayofweek >= 5, 0.5, 1))
    return pd.DataFrame({"queue": queue, "interval_start": t, "arrivals": calls})


def test_next_day_forecast_and_its_agents():
    intervals = pd.concat([_history("Q", 6, 1), _history("S", 1, 2)], ignore_index=True)
    intervals = intervals[intervals.arrivals > 0]  # a half hour without calls has no row
    queues = pd.DataFrame(
        {"queue": ["Q", "S"], "mean_handle_s": [240.0, 240.0], "mean_patience_s": [90.0, 90.0]}
    )
    tables = capacity.build_forecast(
        {
            capacity.INTERVALS_MART: ibis.memtable(intervals),
            capacity.QUEUES_MART: ibis.memtable(queues),
        },
        load_config(),
    )
    fc = tables[capacity.FORECAST_MART].to_pandas()
    bt = tables[capacity.BACKTEST_MART].to_pandas()
    assert set(fc.queue) == {"Q"} and list(bt.queue) == ["Q"]  # one week: too short
    assert len(
        fc
    ) == 48 and fc.interval_start.min() == intervals.interval_start.max() + pd.Timedelta("30min")
    # The mean of the same half hour over the last four weeks (missing half hours are 0 calls).
    full = _history("Q", 6, 1).arrivals.to_numpy()
    expected = full[-4 * 336 :].reshape(4, 336).mean(axis=0)[:48]
    assert fc.calls.to_numpy() == pytest.approx(expected)
    assert bt.mase_model.iloc[0] < bt.mase_naive.iloc[0]
    busiest = fc.loc[fc.calls.idxmax()]
    need = capacity.agents_needed(
        busiest.calls / 1800, 240.0, target_sl=0.8, threshold=20.0, max_abandon=0.05, patience=90.0
    )
    assert busiest.agents_erlang_a == need.agents
    assert (fc.agents_erlang_a <= fc.agents_erlang_a_hi_80).all()
    config = load_config()
    contracts = registered_marts()
    con = ibis.duckdb.connect()
    for name, expr in tables.items():
        table = con.create_table(name, expr.to_pyarrow())
        assert contract_problems(table, contracts[name].contract, config) == [], name
