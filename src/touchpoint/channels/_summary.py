"""Headline figures and their breakdowns, from the contact and hotline-call facts."""

from __future__ import annotations

import ibis

from touchpoint.channels._kpis import _ratio
from touchpoint.channels._settings import ChannelsSettings


def _grouped(table: ibis.Table, by: tuple[str, ...], **aggregates: ibis.Value) -> ibis.Table:
    if by:
        return table.group_by(list(by)).aggregate(**aggregates)
    return table.aggregate(**aggregates)


def repeat_summary(
    contacts: ibis.Table, by: tuple[str, ...] = ("channel", "business")
) -> ibis.Table:
    """Repeat contacts and first-contact resolution (docs/metrics.md).

    Parameters
    ----------
    contacts
        Contact facts (``fct_channels_contacts``).
    by
        Columns to group by; ``()`` gives one row for everything.

    Returns
    -------
    ibis.Table
        One row per combination of ``by``: ``n_contacts, n_repeated_contacts,
        repeat_contact_rate, n_first_contact_resolved, first_contact_resolution_rate``.
    """
    summary = _grouped(
        contacts,
        by,
        n_contacts=contacts.count(),
        n_repeated_contacts=contacts.has_repeat.sum(),
        n_first_contact_resolved=contacts.is_first_contact_resolved.sum(),
    )
    return summary.mutate(
        repeat_contact_rate=_ratio(summary.n_repeated_contacts, summary.n_contacts),
        first_contact_resolution_rate=_ratio(summary.n_first_contact_resolved, summary.n_contacts),
    )


def escalation_summary(calls: ibis.Table, by: tuple[str, ...] = ()) -> ibis.Table:
    """IVR -> agent escalation rate (docs/metrics.md ``ivr_to_agent_60min_rate``).

    Parameters
    ----------
    calls
        Hotline-call facts (``fct_channels_hotline_calls``).
    by
        Columns to group by (``("region",)``, ``("business",)``, ``("last_node_id",)``);
        ``()`` gives one row.

    Returns
    -------
    ibis.Table
        One row per combination of ``by``: ``n_calls_ended_in_ivr, n_escalated,
        ivr_to_agent_60min_rate`` (escalated / ended in the IVR, over the configured window).
    """
    summary = _grouped(
        calls,
        by,
        n_calls_ended_in_ivr=calls.is_ended_in_ivr.sum(),
        n_escalated=calls.is_escalated.sum(),
    )
    return summary.mutate(
        ivr_to_agent_60min_rate=_ratio(summary.n_escalated, summary.n_calls_ended_in_ivr)
    )


def dialling_summary(calls: ibis.Table) -> ibis.Table:
    """Calls per dialling customer per day (docs/metrics.md).

    Returns
    -------
    ibis.Table
        One row: ``n_hotline_calls, n_dialling_customer_days,
        calls_per_dialling_customer_per_day``.
    """
    customer_days = calls.select("customer_id", "call_date").distinct()
    summary = calls.aggregate(n_hotline_calls=calls.count()).cross_join(
        customer_days.aggregate(n_dialling_customer_days=customer_days.count())
    )
    return summary.mutate(
        calls_per_dialling_customer_per_day=_ratio(
            summary.n_hotline_calls, summary.n_dialling_customer_days
        )
    )


def headline_kpis(
    contacts: ibis.Table, calls: ibis.Table | None, settings: ChannelsSettings
) -> ibis.Table:
    """``mart_channels_kpis``: the headline channel figures, named as in docs/metrics.md.

    Parameters
    ----------
    contacts
        Contact facts (``fct_channels_contacts``).
    calls
        Hotline-call facts (``fct_channels_hotline_calls``), or ``None`` without IVR events
        (the hotline figures are then absent).

    Returns
    -------
    ibis.Table
        One row: ``first_contact_date, last_contact_date, n_contacts, n_customers, cost_yuan,
        repeat_contact_rate, first_contact_resolution_rate, repeat_window_hours`` and, with
        calls, ``n_hotline_calls, n_dialling_customer_days,
        calls_per_dialling_customer_per_day, n_calls_ended_in_ivr, n_escalated,
        ivr_to_agent_60min_rate, escalation_window_minutes``.
    """
    overview = contacts.aggregate(
        first_contact_date=contacts.started_at.min().date(),
        last_contact_date=contacts.started_at.max().date(),
        n_customers=contacts.customer_id.nunique(),
        cost_yuan=contacts.cost_per_contact_yuan.sum(),
    )
    repeats = repeat_summary(contacts, ()).mutate(
        repeat_window_hours=ibis.literal(float(settings.repeat_window_hours))
    )
    kpis = overview.cross_join(repeats)
    if calls is not None:
        escalation = escalation_summary(calls).mutate(
            escalation_window_minutes=ibis.literal(settings.escalation_window_minutes)
        )
        kpis = kpis.cross_join(dialling_summary(calls)).cross_join(escalation)
    return kpis
