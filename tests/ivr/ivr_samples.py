"""Hand-built IVR calls for the IVR tests (imported by them; fixtures in conftest.py): steps in, Ibis tables with the stored schema out."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from touchpoint.contract import ENTITIES, arrow_schema

T0 = dt.datetime(2024, 3, 4, 9, 0)


def table(entity: str, rows: list[dict]) -> ibis.Table:
    schema = arrow_schema(ENTITIES[entity])
    return ibis.memtable(
        pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)
    )


class World:
    """Calls as lists of (seconds after the call's start, node, event type, key), plus contacts."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.contacts: list[dict] = []

    def call(
        self,
        call_id: str,
        customer_id: str,
        start: dt.datetime,
        steps: list[tuple[float, str, str, str]],
        *,
        business: str = "payment",
        region: str = "north",
    ) -> dt.datetime:
        """Add a call's events and its IVR contacts row (ending at the last event); returns its end."""
        for seq, (seconds, node, kind, key) in enumerate(steps, start=1):
            self.events.append(
                {
                    "call_id": call_id,
                    "seq": seq,
                    "customer_id": customer_id,
                    "event_at": start + dt.timedelta(seconds=seconds),
                    "node_id": node,
                    "event_type": kind,
                    "key": key,
                }
            )
        end = start + dt.timedelta(seconds=steps[-1][0])
        self.contact(customer_id, start, end, "ivr", business, region=region, call_id=call_id)
        return end

    def contact(self, customer_id, start, end, channel, business, *, region="north", call_id=""):
        self.contacts.append(
            {
                "contact_id": f"k{len(self.contacts) + 1}",
                "customer_id": customer_id,
                "started_at": start,
                "ended_at": end,
                "channel": channel,
                "business": business,
                "outcome": "resolved",
                "region": region,
                "call_id": call_id,
            }
        )

    def tables(self) -> dict[str, ibis.Table]:
        return {
            "stg_ivr_events": table("ivr_events", self.events),
            "stg_contacts": table("contacts", self.contacts),
        }


#: A lost caller: a timeout at the main menu, a wrong turn into n2_1 undone with '*' (a
#: back-track and a loop at n2), an invalid key at n2, then self service at n2_2.
LOST_CALL = [
    (0.0, "root", "call_start", ""),
    (0.3, "root", "prompt", ""),
    (8.3, "root", "timeout", ""),
    (8.6, "root", "prompt", ""),
    (12.0, "root", "key", "2"),
    (12.3, "n2", "prompt", ""),
    (15.0, "n2", "key", "1"),
    (15.3, "n2_1", "prompt", ""),
    (17.0, "n2_1", "key", "*"),
    (17.3, "n2", "prompt", ""),
    (20.0, "n2", "invalid", "9"),
    (20.3, "n2", "prompt", ""),
    (23.0, "n2", "key", "2"),
    (23.3, "n2_2", "prompt", ""),
    (35.0, "n2_2", "self_service_complete", ""),
]


def simple_call(leaf: str, ending: str, key: str = "", seconds: float = 20.0):
    """Main menu, key to ``leaf``'s branch n4, then ``ending`` at ``leaf``."""
    return [
        (0.0, "root", "call_start", ""),
        (0.3, "root", "prompt", ""),
        (4.0, "root", "key", "4"),
        (4.3, "n4", "prompt", ""),
        (8.0, "n4", "key", "1"),
        (8.3, leaf, "prompt", ""),
        (seconds, leaf, ending, key),
    ]
