"""Reach: distinct customers per channel and per group, counted once per customer.

Distinct counts do not add up across days or groups, so they come from the contacts, not from
the volume cube. Each customer is first reduced to one row per period (and contact
dimension) with a flag per channel ("used it at least once"); sums of those flags are the
channel's customers and the number of rows is the group's customers. One pass over the
contacts serves every channel, and for the customer-profile dimensions (brand, value tier)
one pass serves all of them, because a customer has one profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from touchpoint.channels._contacts import CONTACT_DIMENSIONS, DIMENSIONS, with_profile
from touchpoint.channels._settings import ChannelsSettings

TRUNCATE = {"day": "D", "week": "W", "month": "M"}
#: ``dimension`` and ``dimension_value`` of the rows that do not split by any dimension.
ALL = "all"


def period_start(column: ibis.Value, period: str | None) -> ibis.Value:
    """The first day of the ``period`` (day, week from Monday, month) holding ``column``;
    ``None`` gives one period for everything (null start)."""
    if period is None:
        return ibis.null("date")
    return column.truncate(TRUNCATE[period]).cast("date")


def _flags(contacts: ibis.Table, channel_ids: Sequence[str]) -> dict[str, ibis.Value]:
    return {f"uses_{i}": (contacts.channel == ch).any() for i, ch in enumerate(channel_ids)}


def _count(per_customer: ibis.Table, keys: list[str], channel_ids: Sequence[str]) -> ibis.Table:
    return per_customer.group_by(keys).agg(
        group_n_customers=per_customer.count(),
        **{f"n_{i}": per_customer[f"uses_{i}"].sum() for i in range(len(channel_ids))},
    )


def _counts_to_long(
    counts: ibis.Table,
    channel_ids: Sequence[str],
    keys: tuple[str, ...] = ("period_start", "dimension_value"),
) -> ibis.Table:
    """Unpivot ``n_0 ... n_<k>`` into one row per channel (a cross join with the channel list)."""
    channels = ibis.memtable(
        {"channel": list(channel_ids), "channel_index": list(range(len(channel_ids)))},
        schema={"channel": "string", "channel_index": "int64"},
    )
    crossed = counts.cross_join(channels)
    n_customers = ibis.cases(
        *[(crossed.channel_index == i, crossed[f"n_{i}"]) for i in range(len(channel_ids))]
    )
    long = crossed.select(
        *keys,
        channel=crossed.channel,
        n_customers=n_customers,
        group_n_customers=crossed.group_n_customers,
    )
    return long.filter(long.n_customers > 0)


def profile_counts(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    channel_ids: Sequence[str],
    settings: ChannelsSettings,
    period: str | None,
) -> ibis.Table:
    """Customers per period and customer profile, with how many used each channel.

    Parameters
    ----------
    contacts
        Cleaned contacts (:func:`touchpoint.channels.clean_contacts`).
    customers
        ``stg_customers`` or ``None``.
    channel_ids
        The channels to count, in order (``n_<i>`` counts ``channel_ids[i]``).
    period
        ``"day"``, ``"week"``, ``"month"`` or ``None`` (the whole time range).

    Returns
    -------
    ibis.Table
        One row per period × brand × value tier with customers: ``period_start, brand,
        value_tier, group_n_customers, n_0 ... n_<k>``.
    """
    per_customer = contacts.group_by(
        period_start=period_start(contacts.started_at, period), customer_id=contacts.customer_id
    ).agg(**_flags(contacts, channel_ids))
    profiled = with_profile(per_customer, customers, settings)
    return _count(profiled, ["period_start", "brand", "value_tier"], channel_ids)


def _sum_counts(counts: ibis.Table, by: str | None, channel_ids: Sequence[str]) -> ibis.Table:
    summed = counts.group_by(
        period_start=counts.period_start,
        dimension_value=counts[by] if by else ibis.literal(ALL),
    ).agg(
        group_n_customers=counts.group_n_customers.sum(),
        **{f"n_{i}": counts[f"n_{i}"].sum() for i in range(len(channel_ids))},
    )
    return _counts_to_long(summed, channel_ids)


def channel_reach(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    channel_ids: Sequence[str],
    settings: ChannelsSettings,
    period: str | None = "month",
    by: str | None = None,
    *,
    profiles: ibis.Table | None = None,
) -> ibis.Table:
    """Distinct customers per period, dimension value and channel.

    Parameters
    ----------
    contacts
        Cleaned contacts (:func:`touchpoint.channels.clean_contacts`).
    customers
        ``stg_customers`` or ``None`` (brand and value tier unknown).
    channel_ids
        The channels to count (the configured ones); contacts in other channels are ignored.
    period
        ``"day"``, ``"week"``, ``"month"`` or ``None`` (the whole time range, null start).
    by
        ``"region"``, ``"brand"``, ``"value_tier"``, ``"business"`` or ``None``.
    profiles
        A ready :func:`profile_counts` for the same period, to share one pass over the
        contacts between ``None``, brand and value tier.

    Returns
    -------
    ibis.Table
        One row per period × dimension value × channel with at least one customer:
        ``period_start, dimension_value, channel, n_customers, group_n_customers`` (the
        distinct customers of the period and dimension value, any channel).
    """
    if by in CONTACT_DIMENSIONS:
        per_customer = contacts.group_by(
            period_start=period_start(contacts.started_at, period),
            dimension_value=contacts[by],
            customer_id=contacts.customer_id,
        ).agg(**_flags(contacts, channel_ids))
        return _counts_to_long(
            _count(per_customer, ["period_start", "dimension_value"], channel_ids), channel_ids
        )
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"by={by!r} is not one of {', '.join(DIMENSIONS)} (or None)")
    if profiles is None:
        profiles = profile_counts(contacts, customers, channel_ids, settings, period)
    return _sum_counts(profiles, by, channel_ids)
