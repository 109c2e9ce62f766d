"""Channel KPIs: volume, reach, cost, mix, repeats and change by period, channel and dimension."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import ibis

from touchpoint.channels._contacts import DIMENSIONS
from touchpoint.channels._reach import ALL, channel_reach, period_start, profile_counts
from touchpoint.channels._settings import ChannelsSettings

Period = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = ("day", "week", "month")
_STEP = {"day": {"days": 1}, "week": {"days": 7}, "month": {"months": 1}}
_ADDITIVE = ("n_contacts", "cost_yuan", "n_repeated_contacts", "n_first_contact_resolved")


def ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator as a float, null when the denominator is 0 or null."""
    return ibis.ifelse(denominator == 0, None, numerator.cast("float64") / denominator)


def _change(current: ibis.Value, previous: ibis.Value) -> ibis.Value:
    return ratio(current - previous, previous)


def check_period(period: str, by: str | None) -> None:
    if period not in PERIODS:
        raise ValueError(f"period={period!r} is not one of {', '.join(PERIODS)}")
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"by={by!r} is not one of {', '.join(DIMENSIONS)} (or None)")


def channel_kpis(
    volume: ibis.Table, reach: ibis.Table, period: Period = "month", by: str | None = None
) -> ibis.Table:
    """Channel KPIs for one period length and one dimension.

    Parameters
    ----------
    volume
        The daily volume cube (:func:`touchpoint.channels.contact_volume`).
    reach
        Distinct customers for the same period and dimension
        (:func:`touchpoint.channels.channel_reach`).
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
    check_period(period, by)
    v = volume.mutate(
        period_start=period_start(volume.contact_date, period),
        dimension_value=volume[by] if by else ibis.literal(ALL),
    )
    group = ["period_start", "dimension_value"]
    per_channel = v.group_by([*group, "channel"]).agg(
        is_self_service=v.is_self_service.any(),
        **{name: v[name].sum() for name in _ADDITIVE},
    )
    r = reach.rename(
        r_period_start="period_start", r_dimension_value="dimension_value", r_channel="channel"
    )
    joined = per_channel.left_join(
        r,
        [
            per_channel.period_start == r.r_period_start,
            per_channel.dimension_value == r.r_dimension_value,
            per_channel.channel == r.r_channel,
        ],
    )
    kpis = joined.select(*per_channel.columns, "n_customers", "group_n_customers")

    in_group = ibis.window(group_by=[kpis.period_start, kpis.dimension_value])
    group_contacts = kpis.n_contacts.sum().over(in_group)
    self_service_contacts = (
        ibis.ifelse(kpis.is_self_service, kpis.n_contacts, 0).sum().over(in_group)
    )
    # The previous row of the same channel and value is the previous period only if adjacent.
    history = ibis.window(group_by=[kpis.dimension_value, kpis.channel], order_by=kpis.period_start)
    is_adjacent = (kpis.period_start.lag().over(history) + ibis.interval(**_STEP[period])).cast(
        "date"
    ) == kpis.period_start

    def previous(column: ibis.Value) -> ibis.Value:
        return ibis.ifelse(is_adjacent, column.lag().over(history), None)

    kpis = kpis.mutate(
        n_contacts_previous=previous(kpis.n_contacts),
        n_customers_previous=previous(kpis.n_customers),
        cost_previous=previous(kpis.cost_yuan),
        contacts_per_customer=ratio(kpis.n_contacts, kpis.n_customers),
        contact_share=ratio(kpis.n_contacts, group_contacts),
        customer_share=ratio(kpis.n_customers, kpis.group_n_customers),
        self_service_share=ratio(self_service_contacts, group_contacts),
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
        repeat_contact_rate=ratio(kpis.n_repeated_contacts, kpis.n_contacts),
        n_first_contact_resolved=kpis.n_first_contact_resolved,
        first_contact_resolution_rate=ratio(kpis.n_first_contact_resolved, kpis.n_contacts),
        n_contacts_previous=kpis.n_contacts_previous,
        n_contacts_change_rate=_change(kpis.n_contacts, kpis.n_contacts_previous),
        n_customers_change_rate=_change(kpis.n_customers, kpis.n_customers_previous),
        cost_change_rate=_change(kpis.cost_yuan, kpis.cost_previous),
    )


def channel_kpis_all_dimensions(
    volume: ibis.Table,
    contacts: ibis.Table,
    customers: ibis.Table | None,
    channel_ids: Sequence[str],
    settings: ChannelsSettings,
    period: Period = "month",
    dimensions: Sequence[str | None] = (None, *DIMENSIONS),
) -> ibis.Table:
    """:func:`channel_kpis` for several dimensions (default: no split and every one), stacked.

    Parameters
    ----------
    volume
        The daily volume cube.
    contacts
        Cleaned contacts (:func:`touchpoint.channels.clean_contacts`), for reach.
    customers
        ``stg_customers`` or ``None``.

    Returns
    -------
    ibis.Table
        One row per period × dimension (``"all"``, ``"region"``, ...) × dimension value ×
        channel; columns as :func:`channel_kpis`.
    """
    profiles = profile_counts(contacts, customers, channel_ids, settings, period)
    parts = [
        channel_kpis(
            volume,
            channel_reach(
                contacts, customers, channel_ids, settings, period, by, profiles=profiles
            ),
            period,
            by,
        )
        for by in dimensions
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def channel_totals(
    volume: ibis.Table,
    contacts: ibis.Table,
    channel_ids: Sequence[str],
    settings: ChannelsSettings,
) -> ibis.Table:
    """Volume, reach and cost per channel over the whole time range.

    Returns
    -------
    ibis.Table
        One row per channel: ``channel, is_self_service, n_contacts, n_customers,
        customer_share`` (of all customers with a contact), ``contact_share, cost_yuan,
        n_repeated_contacts, repeat_contact_rate, n_first_contact_resolved,
        first_contact_resolution_rate``.
    """
    totals = volume.group_by("channel").agg(
        is_self_service=volume.is_self_service.any(),
        **{name: volume[name].sum() for name in _ADDITIVE},
    )
    reach = channel_reach(contacts, None, channel_ids, settings, None, None).select(
        "n_customers", "group_n_customers", r_channel="channel"
    )
    joined = totals.left_join(reach, totals.channel == reach.r_channel)
    totals = joined.select(*totals.columns, "n_customers", "group_n_customers")
    return totals.select(
        "channel",
        "is_self_service",
        "n_contacts",
        "n_customers",
        customer_share=ratio(totals.n_customers, totals.group_n_customers),
        contact_share=ratio(totals.n_contacts, totals.n_contacts.sum().over()),
        cost_yuan=totals.cost_yuan,
        n_repeated_contacts=totals.n_repeated_contacts,
        repeat_contact_rate=ratio(totals.n_repeated_contacts, totals.n_contacts),
        n_first_contact_resolved=totals.n_first_contact_resolved,
        first_contact_resolution_rate=ratio(totals.n_first_contact_resolved, totals.n_contacts),
    )
