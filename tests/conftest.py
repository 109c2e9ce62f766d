"""Shared fixtures: a tiny hand-built warehouse whose every number is known, and the simulated
worlds several test modules read (simulated once per session).

Tests marked ``slow`` (see :func:`pytest_collection_modifyitems`) stay out of ``make
test-fast``; ``make test`` runs everything.
"""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pytest
from hypothesis import settings

from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.warehouse import connect

# Every generating test draws the same examples on every run, so `make test` is repeatable and
# CI fails only on a change; TP_HYPOTHESIS_RANDOM=1 searches new ones (what it finds is a
# defect to fix, and an @example to pin). A CI run once died in an example no run had drawn.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("search")
settings.load_profile("search" if os.environ.get("TP_HYPOTHESIS_RANDOM") else "repeatable")

T0 = dt.datetime(2026, 3, 2, 9, 0)
# `--doctest-modules` would import every conftest.py as a module named "conftest" (the test
# folders are not packages), and all but the first would clash; they hold no doctests.
collect_ignore_glob = ["*conftest.py"]


def _stg(entity: str, rows: list[dict]) -> pa.Table:
    schema = arrow_schema(ENTITIES[entity])
    return pa.Table.from_pylist(
        [{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema
    )


def tiny_contacts() -> list[dict]:
    """Five contacts of three customers on two days, hand-countable."""

    def contact(
        i, customer, minutes, channel, business, outcome="resolved", call_id=None, region="chengdu"
    ):
        start = T0 + dt.timedelta(minutes=minutes)
        return {
            "contact_id": f"k{i}",
            "customer_id": customer,
            "started_at": start,
            "ended_at": start + dt.timedelta(minutes=3),
            "channel": channel,
            "business": business,
            "outcome": outcome,
            "region": region,
            "call_id": call_id,
        }

    return [
        contact(1, "u1", 0, "ivr", "bill_query", "transferred", call_id="c1"),
        contact(2, "u1", 4, "agent", "bill_query", call_id="c1"),
        contact(3, "u2", 10, "web", "payment"),
        contact(4, "u2", 24 * 60, "store", "payment", region="mianyang"),
        contact(5, "u3", 24 * 60 + 5, "ivr", "data_package", call_id="c2", region="mianyang"),
    ]


@pytest.fixture
def tiny_warehouse(tmp_path):
    """A warehouse file with stg_contacts, an ingest log and a quarantine, built by hand."""
    con = connect(tmp_path / "tiny.duckdb")
    con.create_table("stg_contacts", _stg("contacts", tiny_contacts()))
    loaded_at = dt.datetime(2026, 4, 1, 8, 0)
    con.create_table(
        "ingest_files",
        pa.Table.from_pylist(
            [
                {
                    "file_id": "f1",
                    "path": "/data/contacts.csv",
                    "entity": "contacts",
                    "file_format": "csv",
                    "encoding": "utf-8",
                    "status": "loaded",
                    "n_read": 8,
                    "n_loaded": 5,
                    "n_quarantined": 3,
                    "loaded_at": loaded_at,
                }
            ]
        ),
    )
    con.create_table(
        "ingest_quarantine",
        pa.Table.from_pylist(
            [
                {
                    "file_id": "f1",
                    "path": "/data/contacts.csv",
                    "entity": "contacts",
                    "row": r,
                    "line": r + 1,
                    "column": col,
                    "reason": reason,
                    "value": "x",
                    "record": "{}",
                }
                for r, col, reason in [
                    (6, "channel", "not_in_vocabulary"),
                    (7, "started_at", "bad_type"),
                    (8, "channel", "not_in_vocabulary"),
                ]
            ]
        ),
    )
    yield con
    con.disconnect()


def seed_campaigns(con) -> None:
    """Three campaigns selected in the world's first month (one per tracked action), their
    work orders created, approved and dispatched, as ``touchpoint campaign`` stores them; then
    the campaign step runs again so its marts hold rows (the second month is tracked)."""
    import ibis

    from touchpoint import campaigns as cp
    from touchpoint.config import load_config
    from touchpoint.pipeline import run_pipeline

    settings = cp.load_campaign_settings()
    c360 = con.table("mart_customer_360")
    first = c360.month.min().execute()
    at = dt.datetime.combine(first, dt.time(9))
    definitions, assignments, events = [], [], []
    for cid, action, rule in (
        ("seed_store", "divert_store_payment_to_self_service", "pref_level_payment_store >= 2"),
        ("seed_agent", "divert_agent_to_self_service", "pref_level_agent >= 2"),
        ("seed_retain", "retention_offer", "tenure_months >= 0"),
    ):
        campaign = cp.campaign_from_data(
            {
                "id": cid,
                "name": {"en": cid, "zh": cid},
                "action": action,
                "audience": {"rule": rule},
                "holdout_share": 0.3,
                "max_size": 400,
            }
        )
        audience = cp.limit_size(cp.select_audience(c360, campaign, month=first), campaign)
        a = ibis.memtable(cp.assign(audience, cid, campaign.holdout_share).to_pyarrow())
        assignments.append(
            a.mutate(
                campaign_id=ibis.literal(cid),
                wave=ibis.literal(1, "int64"),
                audience_month=ibis.literal(first),
                assigned_at=ibis.literal(at),
            ).to_pyarrow()
        )
        created = ibis.memtable(cp.created_events(campaign, a, 1, "alice", at).to_pyarrow())
        approved = ibis.memtable(
            created.union(cp.approval_events(created, cid, "bob", at)).to_pyarrow()
        )
        sent, _ = cp.dispatch(approved, campaign, settings.policy, actor="bob", at=at, sent_at=at)
        events.append(approved.union(sent).to_pyarrow())
        definitions.append(
            {
                "campaign_id": cid,
                "version": 1,
                "fingerprint": campaign.fingerprint(),
                "definition_json": campaign.model_dump_json(),
                "created_by": "alice",
                "created_at": at,
            }
        )
    con.create_table(cp.DEFINITIONS_TABLE, pa.Table.from_pylist(definitions))
    con.create_table(cp.ASSIGNMENTS_TABLE, pa.concat_tables(assignments))
    con.create_table(cp.EVENTS_TABLE, pa.concat_tables(events))
    run_pipeline(con, load_config(), steps=cp.STEPS)


@pytest.fixture(scope="session")
def simulated_world(tmp_path_factory):
    """A small simulated operator (3,000 customers × 2 months, seed 11) and its ground truth."""
    import json

    from touchpoint.simulate import simulate

    out = tmp_path_factory.mktemp("world")
    result = simulate(out, customers=3000, months=2, seed=11)
    realised = json.loads((out / "truth" / "realised.json").read_text(encoding="utf-8"))
    return result, realised


@pytest.fixture(scope="session")
def ingested_world(simulated_world, tmp_path_factory):
    """The small simulated world ingested into a warehouse and run through the pipeline."""
    from touchpoint.config import load_config
    from touchpoint.ingest import ingest
    from touchpoint.pipeline import run_pipeline

    result, realised = simulated_world
    con = connect(tmp_path_factory.mktemp("warehouse") / "world.duckdb")
    summaries = ingest(con, list(result.files.values()))
    run_pipeline(con, load_config())
    seed_campaigns(con)
    yield con, summaries, realised, result
    con.disconnect()


@pytest.fixture(scope="session")
def calibration_world(tmp_path_factory):
    """A world large enough for the brief's figures to settle: 12,000 customers × 2 months,
    seed 3 (read-only: copy it before continuing it)."""
    from touchpoint.simulate import simulate

    return simulate(tmp_path_factory.mktemp("calibration"), customers=12_000, months=2, seed=3)


#: Fixtures that simulate a world: every test using one is slow.
WORLD_FIXTURES = frozenset({"simulated_world", "ingested_world", "calibration_world"})
#: Slow tests (several seconds each, 2 cores) in files being rewritten by parallel work,
#: marked here instead of by a decorator; each moves to its file when the file is next edited.
SLOW_ELSEWHERE = (
    "tests/cli/test_cli_demo.py::",
    "tests/cli/test_cli_errors.py::test_every_command_has_help",
    "tests/cli/test_cli_every_command.py::test_the_installed_entry_point_prints_no_traceback",
    "tests/cli/test_cli_run_report.py::",
    "tests/ingest/test_ingest_idempotence.py::test_a_load_killed_before_commit",
    "tests/ingest/test_ingest_part_size.py::",
    "tests/ingest/test_ingest_properties.py::",
    "tests/ingest/test_ingest_streaming.py::test_a_streamed_load_killed_before_commit",
    "tests/ingest/test_ingest_unclosed_quote.py::test_a_quote_never_closed_is_one_malformed_row",
    "tests/pipeline/test_pipeline_runner.py::test_registered_steps_run_on_contacts_alone",
    "tests/tags/test_tags_cli.py::",
    "tests/tags/test_tags_reference_agreement.py::",
    "tests/tags/test_tags_report.py::",
    "tests/test_benchmark_harness.py::",
    "tests/warehouse/test_warehouse_concurrency.py::",  # readers and writers wait by design
    "tests/warehouse/test_warehouse_hostile_settings.py::test_a_hostile_lock_wait",
    "tests/warehouse/test_warehouse_hostile_settings.py::test_a_warehouse_path_full_of_quotes",
    "tests/warehouse/test_warehouse_parts.py::test_a_kill_between_the_file_and_the_commit",
)


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test that uses a simulated world or is listed in SLOW_ELSEWHERE."""
    for item in items:
        uses_world = WORLD_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if uses_world or item.nodeid.startswith(SLOW_ELSEWHERE):
            item.add_marker(pytest.mark.slow)
