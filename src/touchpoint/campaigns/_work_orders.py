"""Work orders as an append-only event table: created -> approved -> dispatched | held_back
-> feedback. Pure: each function reads the events so far and returns the rows to append
(the adapters write them in one transaction), or refuses in one line.

Events table ``campaign_work_order_events``: one row per work order × event, with ``actor``
and ``at``; the state of an order at any time is its latest event up to that time.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from touchpoint.campaigns._assignment import TREATMENT
from touchpoint.campaigns._definition import Campaign, CampaignError, FieldProblem
from touchpoint.campaigns._policy import apply_contact_policy
from touchpoint.campaigns._settings import ContactPolicy

EVENTS_TABLE = "campaign_work_order_events"
EVENT_SCHEMA = ibis.schema(
    {
        "campaign_id": "string",
        "wave": "int64",
        "work_order_id": "string",
        "customer_id": "string",
        "channel": "string",
        "event": "string",
        "actor": "string",
        "at": "timestamp(6)",
        "sent_at": "timestamp(6)",
        "reason": "string",
    }
)
EVENTS = ("created", "approved", "dispatched", "held_back", "feedback")
#: Columns of the file ``touchpoint simulate --continue --work-orders`` reads.
DISPATCH_COLUMNS = ("work_order_id", "campaign_id", "customer_id", "action", "channel", "sent_at")


def _events(t: ir.Table, **values) -> ir.Table:
    """``t`` with every event column, typed as :data:`EVENT_SCHEMA`."""
    cols = {}
    for name, type_ in EVENT_SCHEMA.items():
        value = values.get(name, t[name] if name in t.columns else None)
        cols[name] = (ibis.literal(value) if not isinstance(value, ir.Value) else value).cast(type_)
    return t.select(**cols)


def created_events(
    campaign: Campaign, assignment: ir.Table, wave: int, actor: str, at: dt.datetime
) -> ir.Table:
    """One ``created`` event per treated customer of ``assignment`` (the holdout gets none)."""
    treated = assignment.filter(assignment.group == TREATMENT)
    return _events(
        treated,
        campaign_id=campaign.id,
        wave=wave,
        work_order_id=ibis.literal(f"{campaign.id}-w{wave}-") + treated.customer_id,
        channel=campaign.channels[0],
        event="created",
        actor=actor,
        at=at,
        sent_at=None,
        reason=None,
    )


def order_states(events: ir.Table, as_of: dt.datetime | None = None) -> ir.Table:
    """The state of every work order at ``as_of`` (default now): its latest event then.

    One row per work order: the event columns of that latest event, ``state`` = its event.
    """
    if as_of is not None:
        events = events.filter(events.at <= as_of)
    order = {"created": 0, "approved": 1, "dispatched": 2, "held_back": 2, "feedback": 3}
    rank = events.event.cases(*order.items(), else_=-1)
    w = ibis.window(group_by="work_order_id", order_by=[ibis.desc(events.at), ibis.desc(rank)])
    latest = events.mutate(_n=ibis.row_number().over(w)).filter(lambda t: t._n == 0)
    return latest.drop("_n").mutate(state=latest.event)


def _pending(events: ir.Table, campaign_id: str, state: str) -> ir.Table:
    states = order_states(events.filter(events.campaign_id == campaign_id))
    return states.filter(states.state == state)


def _refused(message: str, kind: str, **values: str) -> CampaignError:
    """A refused step: its English line, and its ``kind`` for an adapter's own language."""
    return CampaignError(message, [FieldProblem("campaign", None, kind, values, message)])


def approval_events(events: ir.Table, campaign_id: str, actor: str, at: dt.datetime) -> ir.Table:
    """``approved`` events for the campaign's created orders; refused for their creator."""
    pending = _pending(events, campaign_id, "created")
    row = (
        pending.aggregate(n=pending.count(), n_own=(pending.actor == actor).sum().fill_null(0))
        .to_pyarrow()
        .to_pylist()[0]
    )
    if row["n"] == 0:
        raise _refused(
            f"campaign {campaign_id!r}: no created work orders to approve",
            "nothing_to_approve",
            campaign=campaign_id,
        )
    if row["n_own"] > 0:
        raise _refused(
            f"campaign {campaign_id!r}: {actor!r} created its work orders and may not approve "
            "them; another user must approve",
            "own_orders",
            campaign=campaign_id,
            actor=actor,
        )
    return _events(pending, event="approved", actor=actor, at=at, reason=None)


def dispatch(
    events: ir.Table,
    campaign: Campaign,
    policy: ContactPolicy,
    *,
    actor: str,
    at: dt.datetime,
    sent_at: dt.datetime,
    history: ir.Table | None = None,
    opted_out: ir.Table | None = None,
    sensitive: ir.Table | None = None,
    do_not_disturb: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table]:
    """Apply the contact policy to the campaign's approved orders.

    Returns the events to append (``dispatched`` with the send time, or ``held_back`` with
    the reason) and the rows of the work-orders file (:data:`DISPATCH_COLUMNS`) for the
    dispatched ones, ordered by work order id. Refused when the campaign has no approved orders (unapproved).
    """
    approved = _pending(events, campaign.id, "approved")
    if approved.count().execute() == 0:
        raise _refused(
            f"campaign {campaign.id!r}: no approved work orders; approve it before dispatch",
            "not_approved",
            campaign=campaign.id,
        )
    orders = approved.select(
        "work_order_id",
        "campaign_id",
        "customer_id",
        "channel",
        "wave",
        priority=ibis.literal(campaign.priority),
        sent_at=ibis.literal(sent_at),
    )
    verdict = apply_contact_policy(
        orders,
        policy,
        history=history,
        do_not_disturb=do_not_disturb,
        opted_out=opted_out,
        sensitive=sensitive,
    )
    new = _events(
        verdict,
        event=ibis.ifelse(verdict.is_dispatched, "dispatched", "held_back"),
        actor=actor,
        at=at,
        sent_at=ibis.ifelse(verdict.is_dispatched, verdict.sent_at, ibis.null("timestamp(6)")),
        reason=verdict.hold_reason,
    )
    sent = verdict.filter(verdict.is_dispatched)
    file_rows = sent.select(
        "work_order_id",
        "campaign_id",
        "customer_id",
        action=ibis.literal(campaign.action),
        channel=sent.channel,
        sent_at=sent.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
    )
    # In a fixed order: whoever reads the file (the simulator keys each order's draws by its
    # row) gets the same file from the same orders.
    return new, file_rows.order_by("work_order_id")


def dispatched_history(events: ir.Table) -> ir.Table:
    """Every order ever dispatched (``customer_id``, ``channel``, ``sent_at``): what caps count."""
    sent = events.filter(events.event == "dispatched")
    return sent.select("customer_id", "channel", "sent_at")


def feedback_events(events: ir.Table, responses: ir.Table, at: dt.datetime) -> ir.Table:
    """``feedback`` events from ``campaign_responses`` for dispatched orders not yet answered.

    Refused, naming the first id, when a response names a work order never dispatched.
    """
    sent = events.filter(events.event == "dispatched")
    unknown = responses.anti_join(sent, "work_order_id").select("work_order_id")
    first = unknown.limit(1).to_pyarrow().to_pylist()
    if first:
        n = unknown.count().execute()
        raise CampaignError(
            f"campaign_responses: work order {first[0]['work_order_id']!r} "
            f"({n} response(s) in all) was never dispatched"
        )
    done = events.filter(events.event == "feedback").select("work_order_id")
    new = responses.select("work_order_id", "response").anti_join(done, "work_order_id")
    joined = new.join(sent.drop("event", "actor", "at", "reason"), "work_order_id")
    return _events(joined, event="feedback", actor="feedback", at=at, reason=joined.response)
