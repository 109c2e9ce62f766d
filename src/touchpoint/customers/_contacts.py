"""Contacts per customer, month, business and channel: counts, payments and cost to serve."""

from __future__ import annotations

import ibis

from touchpoint.config import Config
from touchpoint.customers._months import month_of
from touchpoint.customers._settings import CustomersSettings

#: Columns of ``mart_customer_contacts_monthly``.
CONTACTS_MONTHLY_SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "month": "date",
        "business": "string",
        "channel": "string",
        "n_contacts": "int64",
        "n_payments": "int64",
        "n_preference_events": "int64",
        "cost_yuan": "float64",
    }
)


def channel_cost(channel: ibis.Value, config: Config) -> ibis.Value:
    """The configured cost per contact of ``channel`` (0 for a channel the configuration lacks)."""
    cases = [(channel == c.id, float(c.cost_per_contact_yuan)) for c in config.channels]
    return ibis.cases(*cases, else_=0.0).cast("float64")


def customer_contacts_monthly(
    contacts: ibis.Table | None,
    payments: ibis.Table | None,
    config: Config,
    settings: CustomersSettings,
) -> ibis.Table:
    """Contacts and payments per customer, month, business and channel.

    ``n_contacts`` counts ``stg_contacts`` rows (a transferred hotline call is two: its IVR
    and its agent leg); ``n_payments`` counts ``stg_payments`` rows, filed under the business
    ``settings.payment_business``; ``cost_yuan`` is ``n_contacts`` times the channel's
    configured cost per contact (payments cost nothing here, as the data contract's
    ``cost_to_serve_yuan`` counts contacts). ``n_preference_events`` is what the preference
    levels count: contacts plus payments, where an IVR leg that went on to an agent is
    not counted when ``settings.collapse_transferred_calls`` (an agent contact with a
    call id is the transfer of an IVR call of the same customer and business, so the IVR
    count of that customer, month and business drops by the number of such agent legs).

    Parameters
    ----------
    contacts, payments
        ``stg_contacts`` and ``stg_payments``; either may be ``None``.

    Returns
    -------
    ibis.Table
        One row per customer × month × business × channel with a contact or payment:
        ``customer_id, month, business, channel, n_contacts, n_payments,
        n_preference_events, cost_yuan``.
    """
    parts = []
    if contacts is not None:
        has_call = contacts.call_id.notnull() & (contacts.call_id != "")
        is_agent_leg = has_call & (contacts.channel == settings.agent_channel)
        parts.append(
            contacts.group_by(
                "customer_id",
                "business",
                "channel",
                month=month_of(contacts.started_at),
            ).agg(
                n_contacts=contacts.count(),
                n_payments=ibis.literal(0, "int64"),
                n_agent_legs=is_agent_leg.cast("int64").sum(),
            )
        )
    if payments is not None:
        parts.append(
            payments.group_by(
                "customer_id",
                "channel",
                month=month_of(payments.paid_at),
                business=ibis.literal(settings.payment_business, "string"),
            ).agg(
                n_contacts=ibis.literal(0, "int64"),
                n_payments=payments.count(),
                n_agent_legs=ibis.literal(0, "int64"),
            )
        )
    if not parts:
        return ibis.memtable(
            {name: [] for name in CONTACTS_MONTHLY_SCHEMA.names}, schema=CONTACTS_MONTHLY_SCHEMA
        )
    types = {
        "customer_id": "string",
        "month": "date",
        "business": "string",
        "channel": "string",
        "n_contacts": "int64",
        "n_payments": "int64",
        "n_agent_legs": "int64",
    }
    parts = [p.select(**{c: p[c].cast(t) for c, t in types.items()}) for p in parts]
    union = ibis.union(*parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        union = union.group_by("customer_id", "month", "business", "channel").agg(
            n_contacts=union.n_contacts.sum(),
            n_payments=union.n_payments.sum(),
            n_agent_legs=union.n_agent_legs.sum(),
        )
    legs = union.n_agent_legs.sum().over(group_by=["customer_id", "month", "business"])
    dropped = (
        ibis.ifelse(union.channel == settings.ivr_channel, ibis.least(legs, union.n_contacts), 0)
        if settings.collapse_transferred_calls
        else ibis.literal(0)
    )
    return union.select(
        "customer_id",
        "month",
        "business",
        "channel",
        n_contacts=union.n_contacts.cast("int64"),
        n_payments=union.n_payments.cast("int64"),
        n_preference_events=(union.n_contacts + union.n_payments - dropped).cast("int64"),
        cost_yuan=union.n_contacts * channel_cost(union.channel, config),
    )
