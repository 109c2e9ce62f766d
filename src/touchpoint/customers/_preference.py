"""Channel preference levels: how strongly a customer relies on a channel for a business."""

from __future__ import annotations

import ibis

from touchpoint.customers._months import month_from_index, month_index
from touchpoint.customers._settings import CustomersSettings


def preference_level(n: ibis.Value, share: ibis.Value, settings: CustomersSettings) -> ibis.Value:
    """The level (0..5) for ``n`` events in the window and their ``share``.

    The highest configured level whose ``min_contacts`` and ``min_share`` both hold; 0 when
    ``n`` is 0. Thresholds rise with the level, so checking from the top down is enough.
    """
    cases = [
        ((n >= lv.min_contacts) & (share >= lv.min_share), lv.level)
        for lv in sorted(settings.preference_levels, key=lambda lv: -lv.level)
    ]
    return ibis.cases(*cases, else_=0).cast("int64")


def _windowed(
    monthly: ibis.Table, keys: list[str], settings: CustomersSettings, last_month: ibis.Value
) -> ibis.Table:
    """Sum ``n_preference_events`` over the trailing window of each month, per ``keys``."""
    window = settings.preference_window_months
    events = monthly.filter(monthly.n_preference_events > 0)
    # No group-by before the spread: the one after it sums whatever rows share a key.
    events = events.select(
        *keys, "customer_id", idx=month_index(events.month), n=events.n_preference_events
    )
    offsets = ibis.memtable({"offset": list(range(window))}, schema={"offset": "int64"})
    # Each month's events count in that month and the window - 1 months after it.
    spread = events.cross_join(offsets)
    spread = spread.mutate(window_idx=spread.idx + spread.offset)
    spread = spread.filter(spread.window_idx <= month_index(last_month))
    summed = spread.group_by("customer_id", *keys, "window_idx").agg(
        n_contacts_window=spread.n.sum().cast("int64")
    )
    total = summed.n_contacts_window.sum().over(
        group_by=["customer_id", *[k for k in keys if k != "channel"], "window_idx"]
    )
    share = (summed.n_contacts_window / total).cast("float64")
    summed = summed.mutate(
        month=month_from_index(summed.window_idx),
        share_window=share,
    )
    return summed.select(
        "customer_id",
        "month",
        *keys,
        "n_contacts_window",
        "share_window",
        level=preference_level(summed.n_contacts_window, summed.share_window, settings),
    )


def channel_preference(
    contacts_monthly: ibis.Table, settings: CustomersSettings, last_month: ibis.Value | None = None
) -> ibis.Table:
    """Preference levels per customer, business and channel over the trailing window.

    For month *m* the window is the ``settings.preference_window_months`` calendar months
    ending with *m*. ``n_contacts_window`` is the customer's ``n_preference_events`` for the
    business in the channel over the window, ``share_window`` its share of all the customer's
    events for that business in the window, ``level`` the graded level of
    :func:`preference_level`.

    Parameters
    ----------
    contacts_monthly
        ``mart_customer_contacts_monthly`` (:func:`customer_contacts_monthly`).
    last_month
        The last month to hold rows for (default: the last month of ``contacts_monthly``).

    Returns
    -------
    ibis.Table
        One row per customer × month × business × channel with at least one event in the
        window (no row means level 0): ``customer_id, month, business, channel,
        n_contacts_window, share_window, level``.
    """
    if last_month is None:
        last_month = contacts_monthly.month.max().as_scalar()
    return _windowed(contacts_monthly, ["business", "channel"], settings, last_month)


def channel_preference_overall(
    contacts_monthly: ibis.Table, settings: CustomersSettings, last_month: ibis.Value | None = None
) -> ibis.Table:
    """Preference levels per customer and channel over all businesses (see :func:`channel_preference`).

    Returns
    -------
    ibis.Table
        One row per customer × month × channel with an event in the window:
        ``customer_id, month, channel, n_contacts_window, share_window, level``.
    """
    if last_month is None:
        last_month = contacts_monthly.month.max().as_scalar()
    return _windowed(contacts_monthly, ["channel"], settings, last_month)


def overall_from_business_levels(preference: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """:func:`channel_preference_overall` from ``mart_channel_preference`` instead of the
    monthly contacts: a channel's events over all businesses in the window are the sum of its
    per-business window counts, so the window need not be spread again.

    Returns
    -------
    ibis.Table
        One row per customer × month × channel with an event in the window:
        ``customer_id, month, channel, n_contacts_window, share_window, level``.
    """
    summed = preference.group_by("customer_id", "month", "channel").agg(
        n_contacts_window=preference.n_contacts_window.sum().cast("int64")
    )
    total = summed.n_contacts_window.sum().over(group_by=["customer_id", "month"])
    summed = summed.mutate(share_window=(summed.n_contacts_window / total).cast("float64"))
    return summed.mutate(
        level=preference_level(summed.n_contacts_window, summed.share_window, settings)
    )
