"""``touchpoint campaign`` on a synthetic 360: create, refused self-approval, approve,
dispatch under the policy, list, show, track; every write lands whole."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from benchmarks.tags_data import synthetic_c360  # noqa: E402

from touchpoint.campaigns import STEPS as campaign_steps  # noqa: E402
from touchpoint.cli import app  # noqa: E402
from touchpoint.config import load_config  # noqa: E402
from touchpoint.contract import ENTITIES, arrow_schema  # noqa: E402
from touchpoint.pipeline.runner import run_pipeline  # noqa: E402
from touchpoint.pipeline.steps import STEPS  # noqa: E402
from touchpoint.warehouse import connect  # noqa: E402

pytestmark = pytest.mark.slow  # builds a warehouse and runs the tags step
runner = CliRunner(env={"COLUMNS": "200"})
YAML = """\
id: divert_store
name: {en: Pay without the queue, zh: 免排队缴费}
action: divert_store_payment_to_self_service
audience:
  rule: pref_level_payment_store >= 3
holdout_share: 0.2
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaign_cli")
    con = connect(root / "wh.duckdb")
    con.create_table("mart_customer_360", synthetic_c360(load_config(), 1500, months=2, seed=3))
    run_pipeline(con, load_config(), steps=[s for s in STEPS if s.name == "tags"])
    con.create_table(
        "stg_payments",
        pa.table(
            {"customer_id": ["x"], "paid_at": [pd.Timestamp("2026-01-01")], "channel": ["store"]}
        ),
    )
    for entity, row in (
        ("contacts", {"customer_id": "x", "started_at": pd.Timestamp("2026-01-01")}),
        ("customers", {"customer_id": "x"}),
    ):
        schema = arrow_schema(ENTITIES[entity])
        schema = pa.schema([f.with_nullable(True) for f in schema])
        con.create_table(
            f"stg_{entity}",
            pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema}], schema=schema),
        )
    con.disconnect()
    (root / "c.yaml").write_text(YAML, encoding="utf-8")
    return root


def _run(*args):
    return runner.invoke(app, [*args], catch_exceptions=False)


def test_the_whole_cycle(warehouse):
    wh = str(warehouse / "wh.duckdb")
    created = _run(
        "campaign", "create", str(warehouse / "c.yaml"), "--by", "alice", "-w", wh, "--json"
    )
    assert created.exit_code == 0, created.output
    summary = json.loads(created.output)
    assert summary["n_work_orders_created"] == summary["n_treatment"] > 0
    refused = _run("campaign", "approve", "divert_store", "--by", "alice", "-w", wh)
    assert refused.exit_code != 0
    assert refused.output.startswith("error: ") and "'alice' created" in refused.output
    early = _run(
        "campaign",
        "dispatch",
        "divert_store",
        "--out",
        str(warehouse / "o.csv"),
        "--by",
        "bob",
        "-w",
        wh,
    )
    assert early.exit_code != 0 and "approve it before dispatch" in early.output
    assert not (warehouse / "o.csv").exists()  # nothing half written
    assert _run("campaign", "approve", "divert_store", "--by", "bob", "-w", wh).exit_code == 0
    sent = _run(
        "campaign",
        "dispatch",
        "divert_store",
        "--out",
        str(warehouse / "o.csv"),
        "--by",
        "bob",
        "-w",
        wh,
        "--sent-at",
        "2026-03-01 22:30",
    )
    assert sent.exit_code == 0, sent.output
    orders = pd.read_csv(warehouse / "o.csv")
    assert list(orders.columns) == [
        "work_order_id",
        "campaign_id",
        "customer_id",
        "action",
        "channel",
        "sent_at",
    ]
    assert (orders.sent_at == "2026-03-02 08:00:00").all()
    shown = json.loads(_run("campaign", "show", "divert_store", "-w", wh, "--json").output)
    by_state = {(o["state"], o["reason"]): o["n"] for o in shown["orders"]}
    assert by_state[("dispatched", None)] == len(orders)
    assert sum(by_state.values()) == summary["n_treatment"]
    listed = json.loads(_run("campaign", "list", "-w", wh, "--json").output)
    assert {r["state"] for r in listed} <= {"dispatched", "held_back"}
    unbuilt = _run("campaign", "track", "divert_store", "-w", wh, "--json")
    assert unbuilt.exit_code != 0 and "touchpoint run" in unbuilt.output
    con = connect(wh)
    run_pipeline(con, load_config(), steps=campaign_steps)
    con.disconnect()
    early = _run("campaign", "track", "divert_store", "-w", wh, "--json")
    # The step ran, but no month after the selection month has been ingested yet.
    assert early.exit_code != 0 and "no tracking yet" in early.output
