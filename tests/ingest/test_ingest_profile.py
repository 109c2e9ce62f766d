"""Ingest profiles: an export with its own columns, formats, placeholders and codes.

The export below is shaped like the published call-centre logs of a bank (Mandelbaum et al.):
one row per call, a date column ``990201`` beside time columns ``7:02:47``, ``0:00:00``
where a stage did not happen, ``NO_SERVER`` for no agent and the outcomes ``AGENT``,
``HANG`` and ``PHANTOM``. Every expected value is worked out by hand from the rows.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from touchpoint.capacity import cdr_intervals, mean_patience
from touchpoint.cli import app
from touchpoint.ingest import ingest, load_profile, msisdn_lookup_hash
from touchpoint.warehouse import connect

PROFILE = """\
# The bank's call log as call_records.
version: 1
entity: call_records
date_format: "%y%m%d"
time_format: "%H:%M:%S"
missing: ["0:00:00"]
columns:
  call_id: call_id
  arrived_at: {date: date, time: vru_entry}
  ivr_exit: {date: date, time: vru_exit}
  queue_start: {date: date, time: q_start}
  queue_exit: {date: date, time: q_exit}
  service_start: {date: date, time: ser_start}
  service_end: {date: date, time: ser_exit}
  outcome:
    from: outcome
    codes: {AGENT: served, HANG: abandoned, PHANTOM: other}
  agent_id: {from: server, missing: [NO_SERVER]}
  queue: vru+line
  call_type: type
  priority: priority
  customer_id: {from: customer_id, missing: ["0"]}
  msisdn: ani
"""

HEADER = (
    "vru+line,call_id,customer_id,priority,type,date,vru_entry,vru_exit,vru_time,"
    "q_start,q_exit,q_time,outcome,ser_start,ser_exit,ser_time,server,ani"
)
ROWS = [
    # hung up after 153 s in the queue (the 06:30 half hour)
    "AA0101,33116,9664491,2,PS,990201,6:58:31,6:58:36,5,6:58:36,7:01:09,153,HANG,"
    "0:00:00,0:00:00,0,NO_SERVER,",
    # served after 20 s, 210 s with MICHAL; customer id 0 is the export's "unknown"
    "AA0101,33117,0,0,PS,990201,7:02:47,7:02:52,5,7:02:52,7:03:12,20,AGENT,"
    "7:03:12,7:06:42,210,MICHAL,138 0013 8000",
    # hung up in the IVR: never queued
    "AA0101,33118,27290,0,NE,990201,7:10:05,7:10:25,20,0:00:00,0:00:00,0,HANG,"
    "0:00:00,0:00:00,0,NO_SERVER,",
    # answered at once: no queue entry, 300 s with DORIT
    "AA0102,33119,27291,1,PS,990201,7:15:00,7:15:04,4,0:00:00,0:00:00,0,AGENT,"
    "7:15:04,7:20:04,300,DORIT,",
    # 31 February: the date cannot be read (every time of the row built on it)
    "AA0102,33120,27292,0,PS,990231,7:20:00,7:20:05,5,7:20:05,7:20:10,5,AGENT,"
    "7:20:10,7:22:10,120,DORIT,",
    # hung up after 60 s in the queue
    "AA0102,33121,27293,0,PS,990201,7:25:00,7:25:03,3,7:25:03,7:26:03,60,HANG,"
    "0:00:00,0:00:00,0,NO_SERVER,",
    # a phantom call: queued 10 s, neither served nor a hang-up
    "AA0102,33122,27294,0,PS,990201,7:31:00,7:31:05,5,7:31:05,7:31:15,10,PHANTOM,"
    "0:00:00,0:00:00,0,NO_SERVER,",
    # the key of the second row again (its phone number must not reach the quarantine)
    "AA0103,33117,27295,0,PS,990201,7:35:00,7:35:05,5,7:35:05,7:35:10,5,AGENT,"
    "7:35:10,7:36:10,60,MICHAL,13800138000",
    # served after 35 s, 300 s with MICHAL
    "AA0103,33123,27296,0,IN,990201,7:40:00,7:40:05,5,7:40:05,7:40:40,35,AGENT,"
    "7:40:40,7:45:40,300,MICHAL,",
    # an outcome code the profile does not map and the vocabulary does not know
    "AA0103,33124,27297,0,PS,990201,7:50:00,7:50:05,5,7:50:05,7:50:09,4,XFER,"
    "0:00:00,0:00:00,0,NO_SERVER,",
    # a time that is no time
    "AA0103,33125,27298,0,PS,990201,25:61:00,7:55:05,5,0:00:00,0:00:00,0,HANG,"
    "0:00:00,0:00:00,0,NO_SERVER,",
]


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime("1999-02-01 " + text, "%Y-%m-%d %H:%M:%S")


@pytest.fixture
def export(tmp_path):
    profile = tmp_path / "bank.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    data = tmp_path / "january_calls.csv"  # the name says nothing: the profile does
    data.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return profile, data


@pytest.fixture
def loaded(export):
    profile, data = export
    con = connect(":memory:")
    [summary] = ingest(con, data, profile=load_profile(profile))
    yield con, summary
    con.disconnect()


def test_the_export_lands_as_call_records(loaded):
    con, summary = loaded
    assert summary.entity == "call_records" and summary.status == "loaded"
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (11, 7, 4)
    assert summary.n_read == summary.n_loaded + summary.n_quarantined
    rows = {r["call_id"]: r for r in con.table("stg_call_records").to_pyarrow().to_pylist()}
    assert sorted(rows) == ["33116", "33117", "33118", "33119", "33121", "33122", "33123"]
    served = rows["33117"]
    assert served["arrived_at"] == _stamp("07:02:47")
    assert (served["queue_start"], served["queue_exit"]) == (_stamp("07:02:52"), _stamp("07:03:12"))
    assert (served["service_start"], served["service_end"]) == (
        _stamp("07:03:12"),
        _stamp("07:06:42"),
    )
    assert (served["outcome"], served["agent_id"], served["queue"]) == (
        "served",
        "MICHAL",
        "AA0101",
    )
    assert (served["call_type"], served["priority"], served["customer_id"]) == ("PS", 0, None)
    assert served["msisdn_hash"] == msisdn_lookup_hash(con, "13800138000")
    ivr_hang_up = rows["33118"]
    assert ivr_hang_up["outcome"] == "abandoned"
    assert ivr_hang_up["queue_start"] is None and ivr_hang_up["agent_id"] is None
    assert ivr_hang_up["ivr_exit"] == _stamp("07:10:25")
    assert rows["33122"]["outcome"] == "other"
    assert rows["33116"]["customer_id"] == "9664491" and rows["33116"]["priority"] == 2


def test_bad_rows_are_quarantined_with_their_reasons(loaded):
    con, _ = loaded
    quarantine = con.table("ingest_quarantine").to_pyarrow().to_pylist()
    by_row: dict[int, set[tuple[str, str]]] = {}
    for q in quarantine:
        by_row.setdefault(q["row"], set()).add((q["reason"], q["column"]))
    timestamps = ["arrived_at", "ivr_exit", "queue_start", "queue_exit"]
    assert by_row == {
        5: {("bad_type", c) for c in [*timestamps, "service_start", "service_end"]},
        8: {("duplicate_key", "call_id")},
        10: {("not_in_vocabulary", "outcome")},
        11: {("bad_type", "arrived_at")},
    }
    values = {(q["row"], q["column"]): q["value"] for q in quarantine}
    assert values[(5, "arrived_at")] == "990231 7:20:00 (not %y%m%d %H:%M:%S)"
    assert values[(11, "arrived_at")] == "990201 25:61:00 (not %y%m%d %H:%M:%S)"
    assert values[(10, "outcome")] == "XFER"
    assert [q["line"] for q in quarantine if q["row"] == 8] == [9]
    text = json.dumps(quarantine, default=str)
    assert "13800138000" not in text and "0013" not in text  # masked, not stored


def test_interval_figures_from_the_ingested_export(loaded):
    con, _ = loaded
    cdr = con.table("stg_call_records")
    frame = cdr_intervals(cdr, interval_minutes=30, within_seconds=20).to_pandas()
    frame = frame.set_index(frame.interval_start.dt.strftime("%H:%M"))
    assert list(frame.index) == ["06:30", "07:00", "07:30"]
    seven = frame.loc["07:00"]  # 33117 (20 s, served), 33119 (0 s, served), 33121 (hung up)
    assert (seven.arrivals, seven.served, seven.abandoned, seven.served_in_time) == (3, 2, 1, 2)
    assert seven.service_level == pytest.approx(2 / 3)
    assert seven.mean_wait_served_s == pytest.approx(10.0)
    assert seven.mean_handle_s == pytest.approx(255.0)
    assert seven.occupancy == pytest.approx(510 / (2 * 1800))
    half_past = frame.loc["07:30"]  # the phantom counts as an arrival, neither served nor lost
    assert (half_past.arrivals, half_past.served, half_past.abandoned) == (2, 1, 0)
    # Waiting exposure 153 + 20 + 0 + 60 + 10 + 35 s over two hang-ups in the queue.
    assert mean_patience(cdr) == pytest.approx(278 / 2)


def test_a_changed_profile_replaces_the_file_read_through_the_old_one(export, tmp_path):
    profile, data = export
    con = connect(":memory:")
    [first] = ingest(con, data, profile=load_profile(profile))
    [again] = ingest(con, data, profile=load_profile(profile))
    assert again.status == "unchanged"
    changed = tmp_path / "bank2.yaml"
    changed.write_text(PROFILE.replace("PHANTOM: other", "PHANTOM: abandoned"), encoding="utf-8")
    [second] = ingest(con, data, profile=load_profile(changed))
    assert second.status == "replaced" and second.n_loaded == first.n_loaded
    outcomes = con.table("stg_call_records").to_pyarrow().to_pydict()
    phantom = outcomes["outcome"][outcomes["call_id"].index("33122")]
    assert phantom == "abandoned"
    con.disconnect()


runner = CliRunner()


def test_cli_ingests_with_a_profile_and_refuses_a_bad_one(export, tmp_path):
    profile, data = export
    warehouse = str(tmp_path / "wh.duckdb")
    result = runner.invoke(
        app, ["ingest", str(data), "--profile", str(profile), "--json", "-w", warehouse]
    )
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert (summary["entity"], summary["n_loaded"], summary["n_quarantined"]) == (
        "call_records",
        7,
        4,
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        PROFILE.replace("  queue: vru+line\n", "  queue: {from: vru+line, format: '%y'}\n")
    )
    result = runner.invoke(app, ["ingest", str(data), "--profile", str(bad), "-w", warehouse])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    line = PROFILE.splitlines().index("  queue: vru+line") + 1
    assert f"{bad}, line {line}, field 'columns.queue': 'format' reads dates" in message
    assert len(result.output.strip().splitlines()) == 1


def test_after_moves_a_time_past_midnight_to_the_next_day(tmp_path):
    crossing = "\n".join(
        [
            HEADER,
            "AA0101,40001,0,0,PS,990201,23:59:50,23:59:55,5,23:59:55,0:00:20,25,AGENT,"
            "0:00:20,0:04:20,240,MICHAL,",
        ]
    )
    data = tmp_path / "late_calls.csv"
    data.write_text(crossing + "\n", encoding="utf-8")
    text = PROFILE.replace(
        "  queue_exit: {date: date, time: q_exit}",
        "  queue_exit: {date: date, time: q_exit, after: queue_start}",
    ).replace(
        "  service_start: {date: date, time: ser_start}\n  service_end: {date: date, time: ser_exit}",
        "  service_start: {date: date, time: ser_start, after: arrived_at}\n"
        "  service_end: {date: date, time: ser_exit, after: service_start}",
    )
    with_after = tmp_path / "after.yaml"
    with_after.write_text(text, encoding="utf-8")
    without = tmp_path / "plain.yaml"
    without.write_text(PROFILE, encoding="utf-8")
    con = connect(":memory:")
    [plain] = ingest(con, data, profile=load_profile(without))
    assert plain.quarantined_by_reason == {
        "queue_exit_before_start": 1,
        "service_before_arrival": 1,
    }  # the end of the call read on the day it started
    [fixed] = ingest(con, data, profile=load_profile(with_after))
    assert (fixed.status, fixed.n_loaded) == ("replaced", 1)
    [row] = con.table("stg_call_records").to_pyarrow().to_pylist()
    next_day = dt.datetime(1999, 2, 2)
    assert row["arrived_at"] == _stamp("23:59:50")
    assert row["queue_exit"] == next_day.replace(second=20)
    assert row["service_start"] == next_day.replace(second=20)
    assert row["service_end"] == next_day.replace(minute=4, second=20)
    con.disconnect()
