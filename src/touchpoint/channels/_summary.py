"""Headline figures and their breakdowns, from the volume and call cubes."""

from __future__ import annotations

import ibis

from touchpoint.channels._kpis import ratio
from touchpoint.channels._settings import ChannelsSettings


def _grouped(table: ibis.Table, by: tuple[str, ...], **aggregates: ibis.Value) -> ibis.Table:
    if by:
        return table.group_by(list(by)).aggregate(**aggregates)
    return table.aggregate(**aggregates)


def repeat_summary(volume: ibis.Table, by: tuple[str, ...] = ("channel", "business")) -> ibis.Table:
    """Repeat contacts and first-contact resolution (docs/metrics.md).

    Parameters
    ----------
    volume
        The daily volume cube (:func:`touchpoint.channels.contact_volume`).
    by
        Columns of the cube to group by; ``()`` gives one row for everything.

    Returns
    -------
    ibis.Table
        One row per combination of ``by``: ``n_contacts, n_repeated_contacts,
        repeat_contact_rate, n_first_contact_resolved, first_contact_resolution_rate``.
    """
    summary = _grouped(
        volume,
        by,
        n_contacts=volume.n_contacts.sum().fill_null(0),
        n_repeated_contacts=volume.n_repeated_contacts.sum().fill_null(0),
        n_first_contact_resolved=volume.n_first_contact_resolved.sum().fill_null(0),
    )
    return summary.mutate(
        repeat_contact_rate=ratio(summary.n_repeated_contacts, summary.n_contacts),
        first_contact_resolution_rate=ratio(summary.n_first_contact_resolved, summary.n_contacts),
    )


def escalation_summary(calls: ibis.Table, by: tuple[str, ...] = ()) -> ibis.Table:
    """IVR -> agent escalation rate (docs/metrics.md ``ivr_to_agent_60min_rate``).

    Parameters
    ----------
    calls
        The daily call cube (:func:`touchpoint.channels.call_volume`).
    by
        Columns to group by (``("region",)``, ``("business",)``, ``("last_node_id",)``);
        ``()`` gives one row.

    Returns
    -------
    ibis.Table
        One row per combination of ``by`` with calls that ended in the IVR:
        ``n_calls_ended_in_ivr, n_escalated, ivr_to_agent_60min_rate`` (escalated / ended in
        the IVR, over the configured window).
    """
    ended = calls.filter(calls.is_ended_in_ivr)
    summary = _grouped(
        ended,
        by,
        # fill_null: with no call ended in the IVR the sums are 0, not null.
        n_calls_ended_in_ivr=ended.n_calls.sum().fill_null(0),
        n_escalated=ended.n_escalated.sum().fill_null(0),
    )
    return summary.mutate(
        ivr_to_agent_60min_rate=ratio(summary.n_escalated, summary.n_calls_ended_in_ivr)
    )


def dialling_summary(contacts: ibis.Table, settings: ChannelsSettings) -> ibis.Table:
    """Calls per dialling customer per day and the same-day redial rate (docs/metrics.md).

    Parameters
    ----------
    contacts
        Cleaned contacts (:func:`touchpoint.channels.clean_contacts`): a hotline call is an
        IVR contacts row.

    Returns
    -------
    ibis.Table
        One row: ``n_hotline_calls, n_dialling_customer_days,
        calls_per_dialling_customer_per_day, hotline_redial_rate`` (every call of a dialling
        customer-day but its last is followed by a redial that day).
    """
    calls = contacts.filter(contacts.channel == settings.ivr_channel)
    customer_days = calls.group_by(
        customer_id=calls.customer_id, call_date=calls.started_at.date()
    ).agg(n_calls=calls.count())
    summary = customer_days.aggregate(
        n_hotline_calls=customer_days.n_calls.sum().fill_null(0),
        n_dialling_customer_days=customer_days.count(),
    )
    return summary.mutate(
        calls_per_dialling_customer_per_day=ratio(
            summary.n_hotline_calls, summary.n_dialling_customer_days
        ),
        hotline_redial_rate=ratio(
            summary.n_hotline_calls - summary.n_dialling_customer_days, summary.n_hotline_calls
        ),
    )


def headline_kpis(
    volume: ibis.Table,
    contacts: ibis.Table,
    calls: ibis.Table | None,
    settings: ChannelsSettings,
) -> ibis.Table:
    """``mart_channels_kpis``: the headline channel figures, named as in docs/metrics.md.

    Parameters
    ----------
    volume
        The daily volume cube.
    contacts
        Cleaned contacts, for distinct customers and customer-days.
    calls
        The daily call cube, or ``None`` without IVR events (no escalation figures then).

    Returns
    -------
    ibis.Table
        One row: ``first_contact_date, last_contact_date, n_customers, n_contacts, cost_yuan,
        n_repeated_contacts, repeat_contact_rate, n_first_contact_resolved,
        first_contact_resolution_rate, repeat_window_hours, n_hotline_calls,
        n_dialling_customer_days, calls_per_dialling_customer_per_day, hotline_redial_rate``
        and, with calls,
        ``n_calls_ended_in_ivr, n_escalated, ivr_to_agent_60min_rate,
        escalation_window_minutes``.
    """
    overview = contacts.aggregate(
        first_contact_date=contacts.started_at.min().date(),
        last_contact_date=contacts.started_at.max().date(),
        n_customers=contacts.customer_id.nunique(),
    )
    cost = volume.aggregate(cost_yuan=volume.cost_yuan.sum())
    repeats = repeat_summary(volume, ()).mutate(
        repeat_window_hours=ibis.literal(float(settings.repeat_window_hours))
    )
    kpis = (
        overview.cross_join(repeats)
        .cross_join(cost)
        .cross_join(dialling_summary(contacts, settings))
    )
    if calls is not None:
        escalation = escalation_summary(calls).mutate(
            escalation_window_minutes=ibis.literal(settings.escalation_window_minutes)
        )
        kpis = kpis.cross_join(escalation)
    return kpis
