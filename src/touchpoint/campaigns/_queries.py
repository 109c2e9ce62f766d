"""What people see of the campaign marts: tracking and money for the CLI and the report, and a
customer's work orders and responses for the card.

Query functions: each takes an open Ibis backend and returns JSON-ready rows (ids, not
display names).
"""

from __future__ import annotations

from typing import Any

import ibis

from touchpoint.campaigns._build import (
    DEFINITIONS_TABLE,
    SAVINGS_MART,
    TRACKING_MART,
    UPLIFT_COMPARISON_TABLE,
    UPLIFT_CURVES_TABLE,
)
from touchpoint.campaigns._definition import CampaignError
from touchpoint.campaigns._flow import campaign_definition
from touchpoint.campaigns._uplift import STRATEGIES
from touchpoint.campaigns._work_orders import EVENTS_TABLE, order_states
from touchpoint.errors import TouchpointError
from touchpoint.labels import to_rows
from touchpoint.query import optional_table, require_table

RESPONSES_TABLE = "stg_campaign_responses"


def campaign_tracking(
    con: ibis.BaseBackend, campaign_id: str | None = None
) -> list[dict[str, Any]]:
    """Rows of ``mart_campaign_tracking`` (one campaign, or all), by campaign, metric, month.

    Raises
    ------
    CampaignError
        When a campaign is asked for and the mart has no row of it (not tracked yet).
    """
    t = require_table(con, TRACKING_MART)
    if campaign_id is not None:
        t = t.filter(t.campaign_id == campaign_id)
    rows = to_rows(t.order_by("campaign_id", "kind", "metric", "month").to_pyarrow())
    if campaign_id is not None and not rows:
        raise CampaignError(
            f"campaign {campaign_id!r} has no tracking yet: ingest the months after its "
            "selection month, then `touchpoint run`"
        )
    return rows


def campaign_savings_rows(
    con: ibis.BaseBackend, campaign_id: str | None = None
) -> list[dict[str, Any]]:
    """Rows of ``mart_campaign_savings`` (one campaign, or all), by campaign and month."""
    t = optional_table(con, SAVINGS_MART)
    if t is None:
        return []
    if campaign_id is not None:
        t = t.filter(t.campaign_id == campaign_id)
    return to_rows(t.order_by("campaign_id", "month").to_pyarrow())


def customer_work_orders(con: ibis.BaseBackend, customer_id: str) -> list[dict[str, Any]]:
    """The customer's work orders, newest first: campaign, channel, state (latest event),
    hold reason, send time, and the response (``stg_campaign_responses``) when one came back."""
    events = optional_table(con, EVENTS_TABLE)
    if events is None:
        return []
    mine = events.filter(events.customer_id == customer_id)
    states = order_states(mine)
    sent = mine.filter(mine.event == "dispatched").select(
        "work_order_id", dispatched_at=mine.sent_at
    )
    orders = states.left_join(sent, "work_order_id").drop("work_order_id_right")
    orders = orders.select(
        "work_order_id",
        "campaign_id",
        "channel",
        "state",
        "reason",
        created_at=orders.at,
        sent_at=orders.dispatched_at,
    )
    responses = optional_table(con, RESPONSES_TABLE)
    if responses is not None:
        r = responses.filter(responses.customer_id == customer_id).select(
            "work_order_id", "response", "responded_at"
        )
        orders = orders.left_join(r, "work_order_id").drop("work_order_id_right")
    else:
        orders = orders.mutate(response=ibis.null("string"), responded_at=ibis.null("timestamp"))
    orders = orders.mutate(
        reason=ibis.ifelse(orders.state == "held_back", orders.reason, ibis.null("string"))
    ).drop("created_at")
    return to_rows(orders.order_by(ibis.desc("sent_at"), "work_order_id").to_pyarrow())


#: The states a work order goes through, in order (``campaign_list`` counts each).
ORDER_STATES = ("created", "approved", "dispatched", "held_back", "feedback")


def campaign_list(con: ibis.BaseBackend) -> list[dict[str, Any]]:
    """Every campaign, by id: its latest version, who created it and when, and its work
    orders by state (``n_created`` … ``n_feedback``: orders whose latest event is that one).

    Empty when no campaign was created yet.
    """
    defs = optional_table(con, DEFINITIONS_TABLE)
    if defs is None:
        return []
    w = ibis.window(group_by="campaign_id", order_by=ibis.desc("version"))
    latest = (
        defs.mutate(_n=ibis.row_number().over(w))
        .filter(lambda t: t._n == 0)
        .select("campaign_id", "version", "created_by", "created_at")
    )
    events = optional_table(con, EVENTS_TABLE)
    if events is not None:
        states = order_states(events)
        counts = states.group_by("campaign_id").agg(
            **{f"n_{s}": (states.state == s).sum() for s in ORDER_STATES}
        )
        latest = latest.left_join(counts, "campaign_id").drop("campaign_id_right")
    rows = to_rows(latest.order_by("campaign_id").to_pyarrow())
    for r in rows:
        for s in ORDER_STATES:
            r[f"n_{s}"] = int(r.get(f"n_{s}") or 0)
    return rows


def campaign_uplift(con: ibis.BaseBackend, campaign_id: str | None = None) -> dict[str, Any]:
    """The latest ``touchpoint campaign uplift`` of each campaign (one, or all): its
    strategies compared (``comparison``: ``campaign_uplift_comparison`` rows) and its Qini
    curves (``curves``: ``campaign_uplift_curves`` rows, plus a ``random`` strategy, the
    straight line from no one treated to the whole round's incremental outcomes, the Qini
    baseline). Both lists are empty when no uplift was learnt.

    The oracle curve (every customer's true effect) is not in the warehouse: only a simulated
    world's truth has it (docs/campaigns.md, "Uplift").
    """
    comparison = optional_table(con, UPLIFT_COMPARISON_TABLE)
    curves = optional_table(con, UPLIFT_CURVES_TABLE)
    if comparison is None or curves is None:
        return {"comparison": [], "curves": []}
    if campaign_id is not None:
        comparison = comparison.filter(comparison.campaign_id == campaign_id)
        curves = curves.filter(curves.campaign_id == campaign_id)
    order = {s: i for i, s in enumerate(STRATEGIES)}
    rows = to_rows(comparison.order_by("campaign_id").to_pyarrow())
    rows.sort(key=lambda r: (r["campaign_id"], order.get(r["strategy"], len(order))))
    points = to_rows(curves.order_by("campaign_id", "strategy", "n_treated").to_pyarrow())
    ends: dict[str, dict[str, Any]] = {}
    for p in points:  # the last point of any strategy: the whole round treated
        if p["campaign_id"] not in ends or p["n_treated"] > ends[p["campaign_id"]]["n_treated"]:
            ends[p["campaign_id"]] = p
    for _, end in sorted(ends.items()):
        for n in (0, end["n_treated"]):
            points.append(
                {
                    **end,
                    "strategy": "random",
                    "n_treated": n,
                    "incremental": end["incremental"] * n / end["n_treated"] if n else 0.0,
                }
            )
    return {"comparison": rows, "curves": points}


def campaign_detail(con: ibis.BaseBackend, campaign_id: str) -> dict[str, Any]:
    """One campaign in full, JSON-ready: its latest version (``version``, ``created_by``,
    ``created_at``, ``definition``), its work orders by state (``orders``), its tracking rows
    (``tracking``: treated beside holdout, net beside naive; empty before it is tracked) and
    its money (``savings``).

    Raises
    ------
    CampaignError
        For an unknown campaign, or when no campaign exists yet.
    """
    row, campaign = campaign_definition(con, campaign_id)
    listed = next(r for r in campaign_list(con) if r["campaign_id"] == campaign_id)
    try:
        tracking = campaign_tracking(con, campaign_id)
    except TouchpointError:  # no tracking mart yet, or no row of this campaign
        tracking = []
    return {
        "campaign_id": campaign_id,
        "version": row["version"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "definition": campaign.model_dump(mode="json"),
        "orders": {s: listed[f"n_{s}"] for s in ORDER_STATES},
        "tracking": tracking,
        "savings": campaign_savings_rows(con, campaign_id),
    }
