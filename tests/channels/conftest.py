"""Hand-built warehouse tables for the channel tests: rows in, Ibis tables with the stored schema out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import ibis
import pyarrow as pa
import pytest

from touchpoint.channels import build
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema

DAY = dt.datetime(2024, 3, 4)  # a Monday


def at(hours: float = 0, *, day: int = 0, minutes: float = 0) -> dt.datetime:
    """A local time ``day`` days and ``hours``/``minutes`` after 2024-03-04 00:00."""
    return DAY + dt.timedelta(days=day, hours=hours, minutes=minutes)


def _table(entity: str, rows: Iterable[dict], defaults: dict) -> ibis.Table:
    schema = arrow_schema(ENTITIES[entity])
    filled = [{**defaults, **row} for row in rows]
    columns = {f.name: [r.get(f.name) for r in filled] for f in schema}
    return ibis.memtable(pa.table(columns, schema=schema))


class Stg:
    """Builds ``stg_*`` tables from a few rows; unspecified columns get neutral defaults."""

    at = staticmethod(at)

    def __init__(self) -> None:
        self._n = 0

    def contacts(self, rows: Iterable[dict]) -> ibis.Table:
        out = []
        for row in rows:
            self._n += 1
            start = row["started_at"]
            out.append(
                {
                    "contact_id": f"k{self._n}",
                    "ended_at": start + dt.timedelta(minutes=5),
                    "business": "payment",
                    "outcome": "resolved",
                    "region": "north",
                    **row,
                }
            )
        return _table("contacts", out, {})

    def customers(self, rows: Iterable[dict]) -> ibis.Table:
        defaults = {
            "join_date": dt.date(2020, 1, 1),
            "brand": "gotone",
            "value_tier": "regular",
            "region": "north",
            "status": "active",
        }
        return _table("customers", rows, defaults)

    def ivr_events(self, calls: Iterable[tuple[str, str, dt.datetime, str, str]]) -> ibis.Table:
        """One call per tuple (call_id, customer_id, start, last_event_type, last_node_id):
        a call_start at the root, a key press, then the last event."""
        rows = []
        for call_id, customer_id, start, last_type, last_node in calls:
            steps = [("root", "call_start"), ("root", "key"), (last_node, last_type)]
            for seq, (node, kind) in enumerate(steps, start=1):
                rows.append(
                    {
                        "call_id": call_id,
                        "seq": seq,
                        "customer_id": customer_id,
                        "event_at": start + dt.timedelta(seconds=10 * seq),
                        "node_id": node,
                        "event_type": kind,
                        "key": "1" if kind == "key" else None,
                    }
                )
        return _table("ivr_events", rows, {})


@pytest.fixture
def stg() -> Stg:
    return Stg()


@pytest.fixture(scope="module")
def stg_module() -> Stg:
    """A :class:`Stg` for module-scoped fixtures."""
    return Stg()


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def run(config):
    """Build every channel table from the given stg tables and return one as a list of dicts."""

    def _run(name: str, tables: dict[str, ibis.Table], cfg=None, order_by=None) -> list[dict]:
        expr = build(tables, cfg or config)[name]
        if order_by:
            expr = expr.order_by(order_by)
        return expr.to_pyarrow().to_pylist()

    return _run
