"""The contact policy, applied at dispatch: every order is sent or held back with its reason.

Pure Ibis. Reasons are checked in this order, the first that applies is kept: the customer
is on the do-not-disturb list, opted out, sensitive (when sensitive customers are excluded),
over the sensitive cap, or over a frequency cap of the order's channel. Caps count orders
sent before (``history``, every campaign) and orders of the same batch ranked before this one
(higher campaign priority first), so competing campaigns share a customer's contact budget.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.campaigns._settings import ContactPolicy

HOLD_REASONS = (
    "do_not_disturb",
    "opted_out",
    "sensitive",
    "sensitive_cap",
    "frequency_cap",
)


def out_of_quiet_hours(sent_at: ir.TimestampValue, policy: ContactPolicy) -> ir.TimestampValue:
    """``sent_at``, moved to the end of the quiet hours when it falls inside them."""
    start, end = policy.quiet_start_hour, policy.quiet_end_hour
    hour = sent_at.hour()
    day = sent_at.truncate("D")
    end_today = day + ibis.interval(hours=end)
    if start > end:  # quiet over midnight, e.g. 21:00-08:00
        return ibis.cases(
            (hour >= start, end_today + ibis.interval(days=1)),
            (hour < end, end_today),
            else_=sent_at,
        )
    return ibis.ifelse((hour >= start) & (hour < end), end_today, sent_at)


def _ids(table: ir.Table | None) -> ir.Table:
    if table is None:
        return ibis.memtable(pa.table({"customer_id": pa.array([], pa.string())}))
    return table.select(customer_id=table.customer_id.cast("string")).distinct()


def _flag(orders: ir.Table, ids: ir.Table, name: str) -> ir.Table:
    marked = ids.mutate(**{name: ibis.literal(True)})
    joined = orders.left_join(marked, "customer_id").drop("customer_id_right")
    return joined.mutate(**{name: joined[name].fill_null(False)})


def _prior_counts(orders: ir.Table, history: ir.Table, channel: str | None, days: int) -> ir.Table:
    """Per customer of ``orders``: orders in ``history`` (same channel) from ``days`` before
    their first order of the batch to their last. Counting this wider window for every order
    keeps each order's own rolling window under the cap whatever the send times."""
    o = orders if channel is None else orders.filter(orders.channel == channel)
    span = o.group_by("customer_id").agg(_first=o.sent_at.min(), _last=o.sent_at.max())
    h = history if channel is None else history.filter(history.channel == channel)
    h = h.select(h_customer=h.customer_id, h_at=h.sent_at)
    pairs = span.join(
        h,
        [
            span.customer_id == h.h_customer,
            h.h_at <= span._last,
            h.h_at > span._first - ibis.interval(days=days),
        ],
    )
    return pairs.group_by("customer_id").agg(_prior=pairs.customer_id.count())


def _apply_cap(
    orders: ir.Table,
    history: ir.Table,
    *,
    reason: str,
    max_orders: int,
    days: int,
    channel: str | None = None,
    only: ir.BooleanValue | None = None,
) -> ir.Table:
    counts = _prior_counts(orders, history, channel, days)
    t = orders.left_join(counts, "customer_id").drop("customer_id_right")
    applies = t.hold_reason.isnull()
    if channel is not None:
        applies &= t.channel == channel
    if only is not None:
        applies &= t[only.get_name()] if isinstance(only, str) else only
    t = t.mutate(_applies=applies)
    w = ibis.window(
        group_by=["customer_id", "_applies"],
        order_by=[ibis.desc("priority"), "sent_at", "campaign_id", "work_order_id"],
    )
    t = t.mutate(_rank=ibis.row_number().over(w) + 1)
    over = t._applies & (t._prior.fill_null(0) + t._rank > max_orders)
    return t.mutate(hold_reason=ibis.ifelse(over, reason, t.hold_reason)).drop(
        "_prior", "_applies", "_rank"
    )


def eligible_audience(
    audience: ir.Table,
    policy: ContactPolicy,
    *,
    do_not_disturb: ir.Table | None = None,
    opted_out: ir.Table | None = None,
    sensitive: ir.Table | None = None,
) -> ir.Table:
    """``audience`` without the customers dispatch would hold back whatever their group: on the
    do-not-disturb list (the table and the configured ids), opted out, and sensitive when the
    policy excludes them. Applied BEFORE the holdout draw, so the holdout is drawn from the same
    customers as the orders actually sent: a held-out do-not-disturb customer would have no
    treated counterpart (their orders are never sent), and the net effect would be diluted by
    customers the campaign could never reach.

    Caps stay at dispatch: they depend on the send time and on the other campaigns.
    """
    dnd = _ids(do_not_disturb)
    if policy.do_not_disturb:
        dnd = dnd.union(ibis.memtable({"customer_id": list(policy.do_not_disturb)}))
    out = audience.anti_join(dnd, "customer_id").anti_join(_ids(opted_out), "customer_id")
    if policy.sensitive == "exclude":
        out = out.anti_join(_ids(sensitive), "customer_id")
    return out


def apply_contact_policy(
    orders: ir.Table,
    policy: ContactPolicy,
    *,
    history: ir.Table | None = None,
    do_not_disturb: ir.Table | None = None,
    opted_out: ir.Table | None = None,
    sensitive: ir.Table | None = None,
) -> ir.Table:
    """The policy's verdict on each order.

    Parameters
    ----------
    orders
        One row per candidate order: ``work_order_id``, ``campaign_id``, ``customer_id``,
        ``channel``, ``priority`` (higher first) and the planned ``sent_at``.
    history
        Orders already dispatched (``customer_id``, ``channel``, ``sent_at``), any campaign.
    do_not_disturb, opted_out, sensitive
        Tables with a ``customer_id`` column (the configured DND list is added to the first).

    Returns
    -------
    ibis.Table
        ``orders`` with ``sent_at`` moved out of the quiet hours, ``is_dispatched`` and
        ``hold_reason`` (null when dispatched). One row per order.
    """
    if history is None:
        history = ibis.memtable(
            pa.table(
                {"customer_id": [], "channel": [], "sent_at": []},
                schema=pa.schema(
                    [
                        ("customer_id", pa.string()),
                        ("channel", pa.string()),
                        ("sent_at", pa.timestamp("us")),
                    ]
                ),
            )
        )
    dnd = _ids(do_not_disturb)
    if policy.do_not_disturb:
        dnd = dnd.union(ibis.memtable({"customer_id": list(policy.do_not_disturb)}))
    t = orders.mutate(sent_at=out_of_quiet_hours(orders.sent_at, policy))
    t = _flag(t, dnd.distinct(), "_dnd")
    t = _flag(t, _ids(opted_out), "_opted_out")
    t = _flag(t, _ids(sensitive), "_sensitive")
    t = t.mutate(
        hold_reason=ibis.cases(
            (t._dnd, "do_not_disturb"),
            (t._opted_out, "opted_out"),
            (t._sensitive & (policy.sensitive == "exclude"), "sensitive"),
            else_=ibis.null("string"),
        )
    )
    if policy.sensitive == "cap":
        t = _apply_cap(
            t,
            history,
            reason="sensitive_cap",
            max_orders=policy.sensitive_max_orders,
            days=policy.sensitive_days,
            only=t._sensitive,
        )
    for cap in policy.frequency_caps:
        t = _apply_cap(
            t,
            history,
            reason="frequency_cap",
            max_orders=cap.max_orders,
            days=cap.days,
            channel=cap.channel,
        )
    t = t.drop("_dnd", "_opted_out", "_sensitive")
    return t.mutate(is_dispatched=t.hold_reason.isnull())
