"""Readers never block the pipeline: the server reads the snapshot a run publishes.

A server holding its connection while another process writes the warehouse: the writer is
not blocked, the server keeps answering with the last complete state, and shows the new
state once the writer has published it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from platform_helpers import make_app

from touchpoint.platform import _cardstore
from touchpoint.warehouse import connect, current_snapshot, snapshot_folder

pytestmark = pytest.mark.slow


@pytest.fixture
def world_copy(world_warehouse, tmp_path):
    """A private copy of the simulated warehouse (its file, its parts and its PII key)."""
    warehouse, customers = world_warehouse
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, target)
    shutil.copytree(f"{warehouse}.data", f"{target}.data")
    shutil.copy2(f"{warehouse}.pii.key", f"{target}.pii.key")
    return target, customers


def _card(client, token, customer_id):
    response = client.get(
        f"/api/v1/customers/{customer_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


WRITER = """
import sys
from touchpoint.warehouse import connect
from touchpoint.platform import publish_snapshot
con = connect(sys.argv[1])
con.raw_sql("UPDATE mart_customer_360 SET points = 123456789 WHERE customer_id = '" + sys.argv[2] + "'")
print("written", flush=True)
sys.stdin.readline()
publish_snapshot(con)
con.disconnect()
print("published", flush=True)
"""


def test_a_writer_is_not_blocked_and_the_server_shows_old_then_new(world_copy):
    warehouse, customers = world_copy
    app, tokens = make_app(warehouse)
    app.state.platform.reader.check_seconds = 0  # look for a new snapshot on every request
    client = TestClient(app)
    customer = customers[3]["customer_id"]
    before = _card(client, tokens["agent"], customer)  # publishes the first snapshot
    first = app.state.platform.reader.snapshot
    assert first is not None and first == current_snapshot(warehouse)
    assert before["value"]["latest"]["points"] != 123456789

    # The server holds its connection open; another process takes the writer anyway.
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(warehouse), customer],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "written"  # not blocked by the server
        during = _card(client, tokens["agent"], customer)  # the last complete state
        assert during == before
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "published"
        assert writer.wait(timeout=120) == 0
    finally:
        writer.kill()
    after = _card(client, tokens["agent"], customer)
    assert after["value"]["latest"]["points"] == 123456789
    assert app.state.platform.reader.snapshot != first
    # Everything else on the card is what it was.
    after["value"]["latest"]["points"] = before["value"]["latest"]["points"]
    assert after == before


def test_touchpoint_run_succeeds_while_the_server_reads(world_copy):
    warehouse, customers = world_copy
    app, tokens = make_app(warehouse)
    app.state.platform.reader.check_seconds = 0
    client = TestClient(app)
    customer = customers[5]["customer_id"]
    before = _card(client, tokens["agent"], customer)
    first = app.state.platform.reader.snapshot
    run = subprocess.Popen(
        [sys.executable, "-m", "touchpoint", "run", "--warehouse", str(warehouse)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    answered = 0
    while run.poll() is None:  # the server keeps answering all through the run
        assert _card(client, tokens["agent"], customer) == before
        answered += 1
        time.sleep(0.2)
    output = run.stdout.read()
    assert run.returncode == 0, output
    assert "published for the server" in output
    assert answered > 0
    assert _card(client, tokens["agent"], customer) == before  # the same data, run again
    assert app.state.platform.reader.snapshot not in (None, first)
    # Only the newest two snapshots stay on disk.
    assert len(list(snapshot_folder(warehouse).glob("*.duckdb"))) <= 2


def test_the_snapshot_holds_the_same_rows_and_a_card_store_in_customer_order(world_copy):
    warehouse, _ = world_copy
    from touchpoint.platform import publish_snapshot

    con = connect(warehouse)
    try:
        path = publish_snapshot(con)
        expected = {
            name: con.table(name).count().to_pyarrow().as_py()
            for name in ("mart_customer_360", "stg_contacts", "stg_customers")
        }
        phones = con.table("stg_customers").msisdn_hash.nunique().to_pyarrow().as_py()
    finally:
        con.disconnect()
    snap = connect(path, read_only=True)
    try:
        for name, n in expected.items():
            assert snap.table(name).count().to_pyarrow().as_py() == n
        index = snap.table("platform_phone_index")
        assert index.count().to_pyarrow().as_py() == phones
        for name, keys in (("mart_customer_360", ["customer_id", "month"]),
                           ("stg_contacts", ["customer_id", "started_at"])):  # fmt: skip
            rows_file, _ = _cardstore.store_files(path, name)
            stored = pa.ipc.open_file(pa.memory_map(str(rows_file))).read_all()
            table = snap.table(name)
            known = table.filter(table.customer_id.notnull())
            assert stored.num_rows == known.count().to_pyarrow().as_py()
            # In customer order (then month or time): what the store's binary search needs.
            got = stored.select(keys).to_pylist()
            assert got == sorted(got, key=lambda r: tuple(r[k] for k in keys))
    finally:
        snap.disconnect()
