"""The frontline customer card: one customer's rows from the customer marts, as expressions."""

from __future__ import annotations

import ibis

from touchpoint.errors import TouchpointError


class UnknownCustomerError(TouchpointError, LookupError):
    """No customer with the id (or phone number) asked for."""


def card_history(c360: ibis.Table, customer_id: str, months: int = 6) -> ibis.Table:
    """The customer's last ``months`` rows of the 360, newest first.

    Returns
    -------
    ibis.Table
        One row per month (at most ``months``): every column of ``mart_customer_360``.
    """
    rows = c360.filter(c360.customer_id == customer_id)
    return rows.order_by(ibis.desc("month")).limit(months)


def card_preferences(preference: ibis.Table, customer_id: str, month: object) -> ibis.Table:
    """The customer's preference levels of ``month``, strongest first.

    Returns
    -------
    ibis.Table
        One row per business × channel with an event in the window: ``business, channel,
        n_contacts_window, share_window, level``.
    """
    rows = preference.filter(
        (preference.customer_id == customer_id) & (preference.month == ibis.literal(month, "date"))
    )
    return rows.select(
        "business", "channel", "n_contacts_window", "share_window", "level"
    ).order_by([ibis.desc("level"), ibis.desc("n_contacts_window"), "business", "channel"])


def card_recent_contacts(contacts: ibis.Table, customer_id: str, n: int = 10) -> ibis.Table:
    """The customer's ``n`` latest contacts, newest first.

    Returns
    -------
    ibis.Table
        One row per contact: ``started_at, channel, business, outcome``.
    """
    rows = contacts.filter(contacts.customer_id == customer_id)
    return (
        rows.select("started_at", "channel", "business", "outcome")
        .order_by(ibis.desc("started_at"))
        .limit(n)
    )
