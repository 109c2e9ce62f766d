"""Hand-built source lines and looks at what landed where, shared by the ingest tests.

(Not in conftest.py: `tests/conftest.py` owns that module name on sys.path.)
"""

from __future__ import annotations

from pathlib import Path

CONTACT_COLUMNS = (
    "contact_id",
    "customer_id",
    "started_at",
    "ended_at",
    "channel",
    "business",
    "outcome",
    "region",
    "agent_id",
    "store_id",
    "call_id",
)
CONTACT_HEADER = ",".join(CONTACT_COLUMNS)


def contact(contact_id: str = "K1", **overrides: str) -> str:
    """One CSV line of a good contact; keyword arguments replace single fields."""
    values = {
        "contact_id": contact_id,
        "customer_id": "C1",
        "started_at": "2026-03-01 08:00:00",
        "ended_at": "2026-03-01 08:05:00",
        "channel": "agent",
        "business": "bill_query",
        "outcome": "resolved",
        "region": "gz",
        "agent_id": "A1",
        "store_id": "",
        "call_id": f"CALL-{contact_id}",
    }
    values.update(overrides)
    return ",".join(values[c] for c in CONTACT_COLUMNS)


def csv_text(header: str, *lines: str) -> str:
    return "\n".join([header, *lines]) + "\n"


def problems(con, path: Path | None = None) -> list[tuple]:
    """(row, line, column, reason) of every quarantine row, in order."""
    table = con.table("ingest_quarantine")
    if path is not None:
        table = table.filter(table.path == str(path.resolve()))
    rows = table.order_by(["row", "reason", "column"]).to_pyarrow().to_pylist()
    return [(r["row"], r["line"], r["column"], r["reason"]) for r in rows]


def staged(con, entity: str) -> list[dict]:
    """Rows of ``stg_<entity>`` ordered by source row, lineage columns dropped."""
    rows = con.table(f"stg_{entity}").order_by(["_file_id", "_row"]).to_pyarrow().to_pylist()
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
