"""The "capacity" report section, in English and Chinese, on hand-built call detail records."""

from __future__ import annotations

import datetime as dt
import json

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from touchpoint import capacity
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.report import render_report
from touchpoint.report.context import ReportContext
from touchpoint.report.i18n import format_number
from touchpoint.report.sections import capacity as section


def _t(hms):
    return None if hms is None else dt.datetime.fromisoformat(f"2026-03-02 {hms}")


# Queue A: 3 queued (answered after 20 s and 40 s, one hang-up after 60 s), one IVR hang-up;
# queue B: one call answered at once. Overall: 2 of 4 queued answered within 20 s (50.0 %),
# 1 of 4 hung up waiting (25.0 %), patience (20 + 60 + 40 + 0) s / 1 hang-up = 120 s.
CALLS = [
    ("A1", "A", "09:00:00", "09:00:10", "09:00:30", "09:00:30", "09:05:30", "served", "a1"),
    ("A2", "A", "09:01:00", "09:01:05", "09:02:05", None, None, "abandoned", None),
    ("A3", "A", "09:10:00", None, None, None, None, "abandoned", None),
    ("A4", "A", "09:40:00", "09:40:00", "09:40:40", "09:40:40", "09:44:00", "served", "a2"),
    ("B1", "B", "10:00:00", None, None, "10:00:05", "10:10:05", "served", "b1"),
]
COLUMNS = ["call_id", "queue", "arrived_at", "queue_start", "queue_exit", "service_start"]
COLUMNS += ["service_end", "outcome", "agent_id"]


def _con(rows):
    records = [
        {
            k: (_t(v) if k.endswith(("_at", "_start", "_exit", "_end")) else v)
            for k, v in zip(COLUMNS, r, strict=True)
        }
        for r in rows
    ]
    cdr = ibis.memtable(
        pa.Table.from_pylist(records, schema=arrow_schema(ENTITIES["call_records"]))
    )
    con = ibis.duckdb.connect()
    for name, expr in capacity.build({capacity.CDR_TABLE: cdr}, load_config()).items():
        con.create_table(name, expr.to_pyarrow())
    return con


@pytest.fixture(scope="module")
def con():
    return _con(CALLS)


def shown(text: str, html: str) -> bool:
    return text in html or json.dumps(text)[1:-1] in html


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "en",
            [
                "Capacity",
                "Queues",
                "Answered within 20 s",
                "50.0%",
                "25.0%",
                "120",
                "Agents (Erlang A)",
            ],
        ),
        (
            "zh",
            ["容量与排班", "队列", "20 秒内接通", "50.0%", "25.0%", "120", "坐席数（Erlang A）"],
        ),
    ],
)
def test_section_shows_queue_figures_and_staffing(con, lang, texts):
    html = render_report(con, load_config(), lang=lang, sections=[section.SECTION])
    for text in texts:
        assert shown(text, html), (lang, text)


def test_section_is_left_out_without_call_records(con):
    assert section.build(ReportContext(con=con, config=load_config(), lang="en"))
    empty = _con([])
    assert section.build(ReportContext(con=empty, config=load_config(), lang="en")) == []


def test_section_shows_the_next_day_forecast_and_plan(con):
    t = pd.date_range("2026-01-05", periods=6 * 7 * 48, freq="30min")
    rate = np.where((t.hour >= 8) & (t.hour < 20), 20.0, 1.0)
    intervals = pd.DataFrame(
        {"queue": "A", "interval_start": t, "arrivals": np.random.default_rng(5).poisson(rate)}
    )
    queues = pd.DataFrame({"queue": ["A"], "mean_handle_s": [250.0], "mean_patience_s": [120.0]})
    tables = capacity.build_forecast(
        {
            capacity.INTERVALS_MART: ibis.memtable(intervals),
            capacity.QUEUES_MART: ibis.memtable(queues),
        },
        load_config(),
    )
    for name, expr in tables.items():
        con.create_table(name, expr.to_pyarrow(), overwrite=True)
    mase = capacity.forecast_accuracy(con.table(capacity.BACKTEST_MART)).to_pandas().mase_model[0]
    for lang, heading in (("en", "The next day"), ("zh", "次日")):
        html = render_report(con, load_config(), lang=lang, sections=[section.SECTION])
        assert shown(heading, html), lang
        assert shown(format_number(mase, lang, 2), html), lang
    for name in tables:
        con.drop_table(name)
