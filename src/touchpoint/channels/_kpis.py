"""Channel KPIs: volume, reach, cost, mix, repeats and change by period, channel and dimension."""

from __future__ import annotations

from typing import Literal

import ibis

from touchpoint.channels._contacts import DIMENSIONS

Period = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = ("day", "week", "month")
_TRUNCATE = {"day": "D", "week": "W", "month": "M"}
_STEP = {
    "day": ibis.interval(days=1),
    "week": ibis.interval(days=7),
    "month": ibis.interval(months=1),
}
#: ``dimension`` and ``dimension_value`` of the rows that do not split by any dimension.
ALL = "all"


def _ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator as a float, null when the denominator is 0 or null."""
    return ibis.ifelse(denominator == 0, None, numerator.cast("float64") / denominator)


def _change(current: ibis.Value, previous: ibis.Value) -> ibis.Value:
    return _ratio(current - previous, previous)


def _check(period: str, by: str | None) -> None:
    if period not in PERIODS:
        raise ValueError(f"period={period!r} is not one of {', '.join(PERIODS)}")
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"by={by!r} is not one of {', '.join(DIMENSIONS)} (or None)")


def channel_kpis(
    contacts: ibis.Table, period: Period = "month", by: str | None = None
) -> ibis.Table:
    """Channel KPIs for one period length and one dimension.

    Parameters
    ----------
    contacts
        Contact facts (``fct_channels_contacts``, see :func:`touchpoint.channels.contact_facts`).
    period
        ``"day"``, ``"week"`` (weeks start on Monday) or ``"month"``, by contact start.
    by
        ``"region"``, ``"brand"``, ``"value_tier"``, ``"business"`` or ``None`` (no split).

    Returns
    -------
    ibis.Table
        One row per period × dimension value × channel with at least one contact:
        ``period, period_start, dimension, dimension_value, channel, is_self_service,
        n_contacts, n_customers`` (distinct customers), ``contacts_per_customer,
        contact_share`` (of the period's and dimension value's contacts: sums to 1 over
        channels), ``customer_share`` (of the distinct customers who contacted any channel in
        the period and dimension value: the channel's reach, does not sum to 1),
        ``cost_yuan`` (contacts × configured cost), ``self_service_share`` (share of the period's
        and dimension value's contacts in self-service channels, the same on every channel
        row), ``n_repeated_contacts, repeat_contact_rate, n_first_contact_resolved,
        first_contact_resolution_rate``, and the change against the previous period of the
        same channel and dimension value: ``n_contacts_previous, n_contacts_change_rate,
        n_customers_change_rate, cost_change_rate`` (null when the previous period has no
        contacts in that channel).
    """
    _check(period, by)
    t = contacts.mutate(
        period_start=contacts.started_at.truncate(_TRUNCATE[period]).date(),
        dimension_value=contacts[by] if by else ibis.literal(ALL),
    )
    group = ["period_start", "dimension_value"]
    per_channel = t.group_by([*group, "channel"]).agg(
        is_self_service=t.is_self_service.any(),
        n_contacts=t.count(),
        n_customers=t.customer_id.nunique(),
        cost_yuan=t.cost_per_contact_yuan.sum(),
        n_repeated_contacts=t.has_repeat.sum(),
        n_first_contact_resolved=t.is_first_contact_resolved.sum(),
    )
    reach = t.group_by(group).agg(group_n_customers=t.customer_id.nunique())
    kpis = per_channel.join(reach, group)
    in_group = ibis.window(group_by=[kpis.period_start, kpis.dimension_value])
    group_contacts = kpis.n_contacts.sum().over(in_group)
    self_service_contacts = (
        ibis.ifelse(kpis.is_self_service, kpis.n_contacts, 0).sum().over(in_group)
    )
    kpis = kpis.mutate(
        contacts_per_customer=_ratio(kpis.n_contacts, kpis.n_customers),
        contact_share=_ratio(kpis.n_contacts, group_contacts),
        customer_share=_ratio(kpis.n_customers, kpis.group_n_customers),
        self_service_share=_ratio(self_service_contacts, group_contacts),
        repeat_contact_rate=_ratio(kpis.n_repeated_contacts, kpis.n_contacts),
        first_contact_resolution_rate=_ratio(kpis.n_first_contact_resolved, kpis.n_contacts),
    ).drop("group_n_customers")

    previous = kpis.select(
        prev_next_start=(kpis.period_start + _STEP[period]).cast("date"),
        prev_dimension_value="dimension_value",
        prev_channel="channel",
        n_contacts_previous="n_contacts",
        prev_n_customers="n_customers",
        prev_cost_yuan="cost_yuan",
    )
    kpis = kpis.left_join(
        previous,
        [
            kpis.period_start == previous.prev_next_start,
            kpis.dimension_value == previous.prev_dimension_value,
            kpis.channel == previous.prev_channel,
        ],
    )
    return kpis.select(
        period=ibis.literal(period),
        period_start=kpis.period_start,
        dimension=ibis.literal(by or ALL),
        dimension_value=kpis.dimension_value,
        channel=kpis.channel,
        is_self_service=kpis.is_self_service,
        n_contacts=kpis.n_contacts,
        n_customers=kpis.n_customers,
        contacts_per_customer=kpis.contacts_per_customer,
        contact_share=kpis.contact_share,
        customer_share=kpis.customer_share,
        cost_yuan=kpis.cost_yuan,
        self_service_share=kpis.self_service_share,
        n_repeated_contacts=kpis.n_repeated_contacts,
        repeat_contact_rate=kpis.repeat_contact_rate,
        n_first_contact_resolved=kpis.n_first_contact_resolved,
        first_contact_resolution_rate=kpis.first_contact_resolution_rate,
        n_contacts_previous=kpis.n_contacts_previous,
        n_contacts_change_rate=_change(kpis.n_contacts, kpis.n_contacts_previous),
        n_customers_change_rate=_change(kpis.n_customers, kpis.prev_n_customers),
        cost_change_rate=_change(kpis.cost_yuan, kpis.prev_cost_yuan),
    )


def channel_kpis_all_dimensions(contacts: ibis.Table, period: Period = "month") -> ibis.Table:
    """:func:`channel_kpis` for no split and for every dimension, stacked.

    Returns
    -------
    ibis.Table
        One row per period × dimension (``"all"``, ``"region"``, ``"brand"``,
        ``"value_tier"``, ``"business"``) × dimension value × channel; columns as
        :func:`channel_kpis`.
    """
    parts = [channel_kpis(contacts, period, by) for by in (None, *DIMENSIONS)]
    return ibis.union(*parts)


def channel_totals(contacts: ibis.Table) -> ibis.Table:
    """Volume, reach and cost per channel over the whole time range of the contacts.

    Returns
    -------
    ibis.Table
        One row per channel: ``channel, is_self_service, n_contacts, n_customers,
        contact_share, cost_yuan, n_repeated_contacts, repeat_contact_rate,
        n_first_contact_resolved, first_contact_resolution_rate``.
    """
    totals = contacts.group_by("channel").agg(
        is_self_service=contacts.is_self_service.any(),
        n_contacts=contacts.count(),
        n_customers=contacts.customer_id.nunique(),
        cost_yuan=contacts.cost_per_contact_yuan.sum(),
        n_repeated_contacts=contacts.has_repeat.sum(),
        n_first_contact_resolved=contacts.is_first_contact_resolved.sum(),
    )
    return totals.mutate(
        contact_share=_ratio(totals.n_contacts, totals.n_contacts.sum().over()),
        repeat_contact_rate=_ratio(totals.n_repeated_contacts, totals.n_contacts),
        first_contact_resolution_rate=_ratio(totals.n_first_contact_resolved, totals.n_contacts),
    )
