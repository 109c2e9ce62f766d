"""The frontline customer card: one customer's rows from the customer marts, as expressions."""

from __future__ import annotations

import ibis

from touchpoint.errors import TouchpointError


class UnknownCustomerError(TouchpointError, LookupError):
    """No customer with the id (or phone number) asked for."""


#: The months of the 360 a card shows.
CARD_MONTHS = 6
#: The columns of a preference level on the card.
PREFERENCE_COLUMNS = ("business", "channel", "n_contacts_window", "share_window", "level")


def card_history(c360: ibis.Table, customer_id: str, months: int = CARD_MONTHS) -> ibis.Table:
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
    return rows.select(*PREFERENCE_COLUMNS).order_by(
        [ibis.desc("level"), ibis.desc("n_contacts_window"), "business", "channel"]
    )


def card_recent_contacts(contacts: ibis.Table, customer_id: str, n: int = 10) -> ibis.Table:
    """The customer's ``n`` latest contacts, newest first.

    Returns
    -------
    ibis.Table
        One row per contact: ``started_at, channel, business, outcome``.
    """
    rows = contacts.filter(contacts.customer_id == customer_id)
    return rows.select(*CONTACT_COLUMNS).order_by(contact_order(rows)).limit(n)


#: The columns of a recent contact on the card.
CONTACT_COLUMNS = ("started_at", "channel", "business", "outcome")


def contact_order(t: ibis.Table) -> list:
    """Newest first; contacts of one instant in a fixed order (channel, business, outcome), so
    every way of reading a card (these expressions, the platform's card store) agrees."""
    return [ibis.desc(t.started_at), t.channel, t.business, t.outcome]
