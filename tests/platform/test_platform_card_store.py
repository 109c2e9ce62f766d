"""The card store (each customer's card rows in Arrow files beside the snapshot, read without a
query) gives exactly the card the capabilities' queries give: on the shared simulated world
with its seeded campaigns (work orders), in English and Chinese, through the API with each
role's phone masking; and a snapshot published without the store is still served."""

from __future__ import annotations

import json
import random
import shutil

import pytest
from fastapi.testclient import TestClient
from platform_helpers import make_app

from touchpoint import campaigns
from touchpoint.customers import UnknownCustomerError
from touchpoint.platform import _cardstore, _serving
from touchpoint.platform._api import card_of, find_by_phone, mask_phone
from touchpoint.platform._reader import WarehouseReader
from touchpoint.platform._security import Problem
from touchpoint.warehouse import connect, current_snapshot
from touchpoint.warehouse.loading import database_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(ingested_world, simulated_world, tmp_path_factory):
    """A copy of the shared world, published with batches of 7 rows (so a customer's rows
    often run over a batch's end); the customers' source rows with their phone numbers."""
    import pyarrow.parquet as pq

    source = ingested_world[0]
    folder = tmp_path_factory.mktemp("card_store")
    copy = folder / "world.duckdb"
    source.raw_sql("CHECKPOINT")
    original = database_path(source)
    shutil.copyfile(original, copy)
    for suffix in (".data", ".pii.key"):
        there = original.with_name(original.name + suffix)
        if there.is_dir():
            shutil.copytree(there, copy.with_name(copy.name + suffix))
        elif there.exists():
            shutil.copyfile(there, copy.with_name(copy.name + suffix))
    writer = connect(copy)
    saved = _cardstore.BATCH_ROWS, _cardstore.BATCH_CELLS
    _cardstore.BATCH_ROWS, _cardstore.BATCH_CELLS = 7, 0
    try:
        _serving.publish(writer)
    finally:
        _cardstore.BATCH_ROWS, _cardstore.BATCH_CELLS = saved
        writer.disconnect()
    customers = pq.read_table(simulated_world[0].files["customers"]).to_pylist()
    return copy, customers


@pytest.fixture(scope="module")
def platform():
    from types import SimpleNamespace

    from touchpoint.config import load_config

    return SimpleNamespace(config=load_config())


@pytest.fixture(scope="module")
def reader(warehouse):
    reader = WarehouseReader(warehouse[0], publish_when_missing=False)
    yield reader
    reader.close()


def _both(reader, fn, *args):
    """``fn(con, *args)`` read from the card store, then with the queries (store hidden)."""
    with reader.connection() as con:
        store = con.card_store
        assert store is not None
        try:
            got = fn(con, *args)
        finally:
            con.card_store = None
        try:
            want = fn(con, *args)
        finally:
            con.card_store = store
    return got, want


def _raises(con, fn, *args):
    try:
        fn(con, *args)
    except (Problem, UnknownCustomerError) as exc:
        return (type(exc).__name__, str(exc))
    raise AssertionError("no error")


def test_every_sampled_card_from_the_store_is_the_card_of_the_queries(reader, platform):
    with reader.connection() as con:
        ids = sorted(set(con.table("mart_customer_360").customer_id.to_pyarrow().to_pylist()))
        events = con.table(campaigns.EVENTS_TABLE).to_pyarrow().to_pylist()
        contacts = set(con.table("stg_contacts").customer_id.to_pyarrow().to_pylist())
        tagged = set(con.table("mart_tag_membership").customer_id.to_pyarrow().to_pylist())
    with_orders = sorted({e["customer_id"] for e in events})
    bare = [c for c in ids if c not in contacts and c not in tagged and c not in with_orders]
    assert bare, "the world has a customer with no contacts, tags or work orders"
    sample = sorted(set(with_orders[:20]) | set(random.Random(5).sample(ids, 60)) | {bare[0]})
    seen: dict[str, int] = {}
    for customer_id in sample:
        for lang in ("en", "zh"):
            got, want = _both(reader, card_of, platform, customer_id, lang)
            assert json.dumps(got, default=str) == json.dumps(want, default=str), customer_id
            for key, value in got.items():
                seen[key] = seen.get(key, 0) + bool(value)
    # The comparison covered every section with content, not empty ones only.
    for key in ("profile", "value", "channels", "preferences", "recent_contacts", "tags"):
        assert seen.get(key, 0) > 0, key
    assert seen.get("work_orders", 0) >= 2 * min(20, len(with_orders))
    # The customer with nothing but the 360: empty sections, the same both ways.
    got, _ = _both(reader, card_of, platform, bare[0], "en")
    assert got["recent_contacts"] == [] and got["tags"] == [] and "work_orders" not in got


def test_an_unknown_customer_is_unknown_both_ways(reader, platform):
    got, want = _both(reader, _raises, card_of, platform, "nobody", "en")
    assert got == want and "nobody" in got[1]


def test_phone_numbers_find_the_same_customer_both_ways(reader, platform, warehouse):
    phones = [c for c in warehouse[1] if c["msisdn"]]
    for row in random.Random(2).sample(phones, 40):
        got, want = _both(reader, find_by_phone, platform, row["msisdn"])
        assert got == want
    # Several customers on one number: the smallest id, both ways.
    by_phone: dict[str, list[str]] = {}
    for row in phones:
        by_phone.setdefault(row["msisdn"], []).append(row["customer_id"])
    for phone, owners in list(by_phone.items())[:200]:
        got, want = _both(reader, find_by_phone, platform, phone)
        assert got == want == min(owners)
    got, want = _both(reader, _raises, find_by_phone, platform, "13000000000")
    assert got == want and "130****0000" in got[1]


def test_the_api_shows_the_store_card_with_each_role_s_masking(warehouse, platform):
    path, customers = warehouse
    app, tokens = make_app(path)
    client = TestClient(app)
    row = next(c for c in customers if c["msisdn"])
    reader = WarehouseReader(path, publish_when_missing=False)
    try:
        with reader.connection() as con:
            con.card_store = None
            want = card_of(con, platform, find_by_phone(con, platform, row["msisdn"]), "en")
    finally:
        reader.close()
    for role, shown in (("agent", mask_phone(row["msisdn"])), ("admin", row["msisdn"])):
        response = client.post(
            "/api/v1/customers/lookup",
            headers={"Authorization": f"Bearer {tokens[role]}"},
            json={"phone": row["msisdn"]},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"phone": shown, **json.loads(json.dumps(want, default=str))}
    trail = app.state.platform.store.audit_rows(limit=10)[0]
    looked = [r for r in trail if r["action"] == "card.lookup"]
    assert [r["username"] for r in looked[:2]] == ["admin", "agent"]  # one entry per view


def test_a_snapshot_without_the_store_is_served_with_queries(warehouse, platform, tmp_path):
    path, customers = warehouse
    snapshot = current_snapshot(path)
    assert list(snapshot.parent.glob(snapshot.name + ".card.*.arrow"))
    # An older snapshot: the same one without its store files.
    copy = tmp_path / "old.duckdb"
    shutil.copytree(path.with_name(path.name + ".serve"), tmp_path / "old.duckdb.serve")
    old = current_snapshot(copy)
    _cardstore.remove_store(old)
    assert not list(old.parent.glob(old.name + ".card.*"))
    old_reader = WarehouseReader(copy, publish_when_missing=False)
    new_reader = WarehouseReader(path, publish_when_missing=False)
    try:
        with old_reader.connection() as old_con, new_reader.connection() as new_con:
            assert old_con.card_store is None and new_con.card_store is not None
            ids = old_con.table("mart_customer_360").customer_id.to_pyarrow().to_pylist()
            for customer_id in random.Random(9).sample(ids, 10):
                assert card_of(old_con, platform, customer_id, "zh") == card_of(
                    new_con, platform, customer_id, "zh"
                )
    finally:
        old_reader.close()
        new_reader.close()
