"""Query functions over the segment and lifecycle marts (JSON-ready or pyarrow; the command
line, the report and the customer card only render them)."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.labels import to_rows
from touchpoint.query import optional_table, require_table
from touchpoint.segments._build import MEMBERS_MART, MIGRATION_MART, PROFILES_MART, STABILITY_MART
from touchpoint.segments._lifecycle import LIFECYCLE_MART, TRANSITIONS_MART
from touchpoint.segments._settings import STAGES, LifecycleSettings


def segment_profiles(con: ibis.BaseBackend, lang: str = "en") -> pa.Table:
    """One row per segment: its name and description in ``lang``, size and plain means."""
    t = require_table(con, PROFILES_MART)
    return (
        t.select(
            "segment",
            "segment_name",
            name=t[f"name_{lang}"],
            description=t[f"description_{lang}"],
            n_customers=t.n_customers,
            share=t.share,
            mean_arpu_yuan=t.mean_arpu_yuan,
            mean_contacts_3m=t.mean_contacts_3m,
            digital_share_3m=t.digital_share_3m,
            agent_share_3m=t.agent_share_3m,
            mean_tenure_months=t.mean_tenure_months,
            mean_complaints_3m=t.mean_complaints_3m,
        )
        .order_by("segment")
        .to_pyarrow()
    )


def segment_migration(con: ibis.BaseBackend) -> pa.Table:
    """The migration between the last two months: from segment x to segment, customers, share."""
    t = require_table(con, MIGRATION_MART)
    latest = t.filter(t.to_month == t.to_month.max())
    return latest.order_by(["from_segment", "to_segment"]).to_pyarrow()


def segment_stability(con: ibis.BaseBackend) -> pa.Table:
    """Per pair of consecutive months: share keeping their segment and refit ARI."""
    return require_table(con, STABILITY_MART).order_by("from_month").to_pyarrow()


def lifecycle_summary(
    con: ibis.BaseBackend, settings: LifecycleSettings, lang: str = "en"
) -> pa.Table:
    """The latest month's customers by stage, in rule order, with the stage's name and action."""
    t = require_table(con, LIFECYCLE_MART)
    latest = t.filter(t.month == t.month.max())
    counts = {
        r["stage"]: r
        for r in to_rows(latest.group_by(["month", "stage"]).agg(n=ibis._.count()).to_pyarrow())
    }
    total = sum(r["n"] for r in counts.values()) or 1
    rows = []
    for stage in STAGES:
        spec = settings.stages[stage]
        row = counts.get(stage)
        rows.append(
            {
                "stage": stage,
                "name": getattr(spec, f"name_{lang}"),
                "n_customers": row["n"] if row else 0,
                "share": (row["n"] if row else 0) / total,
                "action": getattr(spec, f"action_{lang}"),
            }
        )
    return pa.Table.from_pylist(rows)


def lifecycle_counts(
    con: ibis.BaseBackend, settings: LifecycleSettings, lang: str = "en"
) -> pa.Table:
    """Customers per month and stage, in rule order within a month, with the stage's name."""
    t = require_table(con, LIFECYCLE_MART)
    counts = {
        (r["month"], r["stage"]): r["n"]
        for r in to_rows(t.group_by(["month", "stage"]).agg(n=ibis._.count()).to_pyarrow())
    }
    rows = [
        {
            "month": month,
            "stage": stage,
            "name": getattr(settings.stages[stage], f"name_{lang}"),
            "n": counts[month, stage],
        }
        for month in sorted({m for m, _ in counts})
        for stage in STAGES
        if (month, stage) in counts
    ]
    schema = pa.schema(
        [("month", pa.date32()), ("stage", pa.string()), ("name", pa.string()), ("n", pa.int64())]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def lifecycle_transitions_latest(con: ibis.BaseBackend) -> pa.Table:
    """The stage flows from the second-to-last month into the last."""
    t = require_table(con, TRANSITIONS_MART)
    return (
        t.filter(t.to_month == t.to_month.max()).order_by(["from_stage", "to_stage"]).to_pyarrow()
    )


def customer_behaviour(con: ibis.BaseBackend, customer_id: str) -> dict[str, Any] | None:
    """The customer's latest segment (with its profile) and lifecycle stage; ``None`` when
    neither mart has been built or the customer is in neither."""
    out: dict[str, Any] = {}
    members = optional_table(con, MEMBERS_MART)
    if members is not None:
        m = members.filter(members.customer_id == customer_id).order_by(ibis.desc("month")).limit(1)
        rows = to_rows(m.to_pyarrow())
        if rows:
            out["month"] = rows[0]["month"]
            out["segment"] = rows[0]["segment"]
            profiles = optional_table(con, PROFILES_MART)
            if profiles is not None:
                p = to_rows(profiles.filter(profiles.segment == rows[0]["segment"]).to_pyarrow())
                if p:
                    out |= {
                        k: p[0][k]
                        for k in ("name_en", "name_zh", "description_en", "description_zh")
                    }
    stages = optional_table(con, LIFECYCLE_MART)
    if stages is not None:
        s = stages.filter(stages.customer_id == customer_id).order_by(ibis.desc("month")).limit(1)
        rows = to_rows(s.to_pyarrow())
        if rows:
            out["stage"] = rows[0]["stage"]
            out.setdefault("month", rows[0]["month"])
    return out or None
