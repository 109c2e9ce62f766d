"""Contact-level facts: each contact with its dimensions, configured cost and repeat flags."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from touchpoint.channels._settings import ChannelsSettings
from touchpoint.config import Config
from touchpoint.contract import ENTITIES
from touchpoint.errors import SchemaError

#: Columns of ``stg_contacts`` the channel analytics read.
CONTACT_COLUMNS = (
    "contact_id",
    "customer_id",
    "started_at",
    "ended_at",
    "channel",
    "business",
    "outcome",
    "region",
    "call_id",
)
#: Dimensions a contact can be grouped by, beside its channel and period.
DIMENSIONS: tuple[str, ...] = ("region", "brand", "value_tier", "business")


def channel_costs(config: Config) -> ibis.Table:
    """The configured channels as a table.

    Returns
    -------
    ibis.Table
        One row per configured channel: ``channel``, ``cost_per_contact_yuan``,
        ``is_self_service``.
    """
    return ibis.memtable(
        {
            "channel": [c.id for c in config.channels],
            "cost_per_contact_yuan": [float(c.cost_per_contact_yuan) for c in config.channels],
            "is_self_service": [bool(c.is_self_service) for c in config.channels],
        },
        schema={
            "channel": "string",
            "cost_per_contact_yuan": "float64",
            "is_self_service": "boolean",
        },
    )


def require_columns(table: ibis.Table, entity: str, columns: tuple[str, ...]) -> None:
    """Refuse a table that lacks some of ``columns``, naming every missing one."""
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise SchemaError(
            f"{ENTITIES[entity].table}: missing column(s) {', '.join(missing)}; expected the "
            f"columns of touchpoint.contract.ENTITIES[{entity!r}] (load it with `touchpoint ingest`)"
        )


def _blank_to_null(column: ibis.Value) -> ibis.Value:
    stripped = column.strip()
    return ibis.ifelse(stripped == "", ibis.null(dt.string), stripped)


def enrich_contacts(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    config: Config,
    settings: ChannelsSettings,
) -> ibis.Table:
    """Contacts with their grouping dimensions and configured cost.

    ``region`` is where the contact was served (``stg_contacts.region``, as docs/metrics.md
    groups escalation); ``brand`` and ``value_tier`` come from the customer's profile
    (``stg_customers``). A missing value becomes ``settings.unknown_label`` so it still counts.
    ``call_key`` is ``call_id`` with blanks as null (a blank call id links nothing).

    Parameters
    ----------
    contacts
        ``stg_contacts`` (lineage columns are ignored).
    customers
        ``stg_customers``, or ``None`` when it has not been loaded (brand and tier unknown).

    Returns
    -------
    ibis.Table
        One row per contact: ``contact_id, customer_id, started_at, ended_at, channel,
        business, outcome, call_key, region, brand, value_tier, cost_per_contact_yuan,
        is_self_service``.
    """
    require_columns(contacts, "contacts", CONTACT_COLUMNS)
    unknown = ibis.literal(settings.unknown_label)
    base = contacts.select(
        "contact_id",
        "customer_id",
        "started_at",
        "ended_at",
        "channel",
        "business",
        "outcome",
        call_key=_blank_to_null(contacts.call_id),
        region=ibis.coalesce(_blank_to_null(contacts.region), unknown),
    )
    if customers is None:
        base = base.mutate(brand=unknown, value_tier=unknown)
    else:
        require_columns(customers, "customers", ("customer_id", "brand", "value_tier"))
        profile = customers.select(
            "customer_id", customer_brand="brand", customer_value_tier="value_tier"
        )
        base = base.left_join(profile, "customer_id")
        base = base.mutate(
            brand=ibis.coalesce(base.customer_brand, unknown),
            value_tier=ibis.coalesce(base.customer_value_tier, unknown),
        ).drop("customer_brand", "customer_value_tier")
    base = base.left_join(channel_costs(config), "channel")
    # A channel missing from the configuration has no cost (null) and is not self service.
    return base.mutate(is_self_service=base.is_self_service.fill_null(False))


def flag_repeats(contacts: ibis.Table, settings: ChannelsSettings) -> ibis.Table:
    """Mark each contact that has a repeat, as docs/metrics.md defines ``repeat_contact_rate``.

    A repeat of contact A is another contact B of the same customer about the same business,
    in any channel, with ``A.started_at < B.started_at <= A.ended_at + window``; B does not
    count when it shares A's non-blank call id (an IVR leg and its own agent transfer).
    First-contact resolution: A's outcome is the resolved outcome and A has no repeat.

    Parameters
    ----------
    contacts
        One row per contact with at least ``contact_id, customer_id, business, started_at,
        ended_at, channel, outcome, call_key`` (see :func:`enrich_contacts`).

    Returns
    -------
    ibis.Table
        One row per contact: the input columns plus ``has_repeat``,
        ``first_repeat_started_at`` (start of the earliest repeat, null without one),
        ``first_repeat_channel`` and ``is_first_contact_resolved``.
    """
    window = ibis.interval(seconds=settings.repeat_window_seconds)
    first = contacts.select(
        "contact_id", "customer_id", "business", "started_at", "ended_at", "call_key"
    )
    later = contacts.select(
        later_customer_id="customer_id",
        later_business="business",
        later_started_at="started_at",
        later_channel="channel",
        later_call_key="call_key",
    )
    pairs = first.join(
        later,
        [
            first.customer_id == later.later_customer_id,
            first.business == later.later_business,
            later.later_started_at > first.started_at,
            later.later_started_at <= first.ended_at + window,
        ],
    )
    # Null call keys compare as null: only two equal non-blank call ids make "the same call".
    same_call = (pairs.call_key == pairs.later_call_key).fill_null(False)
    repeats = (
        pairs.filter(~same_call)
        .group_by(repeat_contact_id=pairs.contact_id)
        .agg(
            first_repeat_started_at=pairs.later_started_at.min(),
            first_repeat_channel=pairs.later_channel.argmin(pairs.later_started_at),
        )
    )
    flagged = contacts.left_join(repeats, contacts.contact_id == repeats.repeat_contact_id)
    flagged = flagged.drop("repeat_contact_id")
    has_repeat = flagged.first_repeat_started_at.notnull()
    return flagged.mutate(
        has_repeat=has_repeat,
        is_first_contact_resolved=(flagged.outcome == settings.resolved_outcome) & ~has_repeat,
    )


def contact_facts(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    config: Config,
    settings: ChannelsSettings,
) -> ibis.Table:
    """``fct_channels_contacts``: :func:`enrich_contacts` then :func:`flag_repeats`.

    Returns
    -------
    ibis.Table
        One row per contact, with dimensions, cost and repeat flags.
    """
    return flag_repeats(enrich_contacts(contacts, customers, config, settings), settings)
