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
    # One aggregation over the stacked rows of both tables (contacts, payments and, to
    # collapse transferred calls, each agent leg once more as a ``_leg`` of the IVR channel of
    # its customer, month and business), instead of a group-by per table, a second one over
    # their union and a window for the legs.
    parts = []
    if contacts is not None:
        month = month_of(contacts.started_at)
        parts.append(
            contacts.select(
                "customer_id",
                "business",
                "channel",
                month=month,
                _contact=ibis.literal(1, "int64"),
                _payment=ibis.literal(0, "int64"),
                _leg=ibis.literal(0, "int64"),
            )  # fmt: skip
        )
        if settings.collapse_transferred_calls:
            has_call = contacts.call_id.notnull() & (contacts.call_id != "")
            legs = contacts.filter(has_call & (contacts.channel == settings.agent_channel))
            parts.append(
                legs.select(
                    "customer_id",
                    "business",
                    channel=ibis.literal(settings.ivr_channel, "string"),
                    month=month_of(legs.started_at),
                    _contact=ibis.literal(0, "int64"),
                    _payment=ibis.literal(0, "int64"),
                    _leg=ibis.literal(1, "int64"),
                )  # fmt: skip
            )
    if payments is not None:
        parts.append(
            payments.select(
                "customer_id",
                business=ibis.literal(settings.payment_business, "string"),
                channel=payments.channel,
                month=month_of(payments.paid_at),
                _contact=ibis.literal(0, "int64"),
                _payment=ibis.literal(1, "int64"),
                _leg=ibis.literal(0, "int64"),
            )  # fmt: skip
        )
    if not parts:
        return ibis.memtable(
            {name: [] for name in CONTACTS_MONTHLY_SCHEMA.names}, schema=CONTACTS_MONTHLY_SCHEMA
        )
    types = {"customer_id": "string", "business": "string", "channel": "string", "month": "date"}
    parts = [p.mutate(**{c: p[c].cast(t) for c, t in types.items()}) for p in parts]
    rows = ibis.union(*parts) if len(parts) > 1 else parts[0]
    grouped = rows.group_by("customer_id", "month", "business", "channel").agg(
        n_contacts=rows._contact.sum(), n_payments=rows._payment.sum(), n_legs=rows._leg.sum()
    )
    # A group of legs alone (an agent leg without an IVR contact that month) is no row.
    grouped = grouped.filter((grouped.n_contacts + grouped.n_payments) > 0)
    dropped = ibis.ifelse(
        grouped.channel == settings.ivr_channel, ibis.least(grouped.n_legs, grouped.n_contacts), 0
    )
    return grouped.select(
        "customer_id",
        "month",
        "business",
        "channel",
        n_contacts=grouped.n_contacts.cast("int64"),
        n_payments=grouped.n_payments.cast("int64"),
        n_preference_events=(grouped.n_contacts + grouped.n_payments - dropped).cast("int64"),
        cost_yuan=grouped.n_contacts * channel_cost(grouped.channel, config),
    )
