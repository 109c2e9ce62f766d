"""Contact-level facts: each contact with its dimensions, configured cost and repeat flags,
and the daily volume cube the channel marts are built from."""

from __future__ import annotations

import ibis

from touchpoint.channels._settings import ChannelsSettings
from touchpoint.config import Config
from touchpoint.contract.columns import require_columns

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
#: Dimensions that belong to the contact; the others come from the customer's profile.
CONTACT_DIMENSIONS: tuple[str, ...] = ("region", "business")


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


def _empty_to_null(column: ibis.Value) -> ibis.Value:
    # Ingest strips cells, so a blank arrives as '' or null; no trim here, because trimming
    # 10^8 values costs more than the rest of the query.
    return column.nullif("")


def clean_contacts(contacts: ibis.Table, settings: ChannelsSettings) -> ibis.Table:
    """The ``stg_contacts`` columns the analytics read, with blanks made explicit.

    ``region`` is where the contact was served (``stg_contacts.region``, as docs/metrics.md
    groups escalation); missing, it becomes ``settings.unknown_label`` so the contact still
    counts. ``call_key`` is ``call_id`` with an empty id as null (it links nothing).

    Returns
    -------
    ibis.Table
        One row per contact: ``contact_id, customer_id, started_at, ended_at, channel,
        business, outcome, call_key, region``.
    """
    require_columns(contacts, "contacts", CONTACT_COLUMNS)
    return contacts.select(
        "contact_id",
        "customer_id",
        "started_at",
        "ended_at",
        "channel",
        "business",
        "outcome",
        call_key=_empty_to_null(contacts.call_id),
        region=ibis.coalesce(_empty_to_null(contacts.region), ibis.literal(settings.unknown_label)),
    )


def customer_profiles(
    customers: ibis.Table | None, settings: ChannelsSettings
) -> ibis.Table | None:
    """``customer_id, brand, value_tier`` of ``stg_customers`` (``None`` passes through)."""
    if customers is None:
        return None
    require_columns(customers, "customers", ("customer_id", "brand", "value_tier"))
    return customers.select("customer_id", "brand", "value_tier")


def with_profile(
    table: ibis.Table, customers: ibis.Table | None, settings: ChannelsSettings
) -> ibis.Table:
    """``table`` (with ``customer_id``) plus the customer's ``brand`` and ``value_tier``.

    A customer missing from ``stg_customers`` (or no ``stg_customers`` at all) gets
    ``settings.unknown_label`` in both, so every row keeps counting.
    """
    unknown = ibis.literal(settings.unknown_label)
    profiles = customer_profiles(customers, settings)
    if profiles is None:
        return table.mutate(brand=unknown, value_tier=unknown)
    profiles = profiles.rename(profile_customer_id="customer_id")
    joined = table.left_join(profiles, table.customer_id == profiles.profile_customer_id)
    return joined.select(
        *table.columns,
        brand=ibis.coalesce(joined.brand, unknown),
        value_tier=ibis.coalesce(joined.value_tier, unknown),
    )


def enrich_contacts(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    config: Config,
    settings: ChannelsSettings,
) -> ibis.Table:
    """Contacts with their grouping dimensions and configured cost.

    See :func:`clean_contacts` for ``region`` and ``call_key`` and :func:`with_profile` for
    ``brand`` and ``value_tier``. A channel missing from the configuration has no cost (null)
    and is not self service.

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
    return with_profile_and_cost(clean_contacts(contacts, settings), customers, config, settings)


def with_profile_and_cost(
    base: ibis.Table, customers: ibis.Table | None, config: Config, settings: ChannelsSettings
) -> ibis.Table:
    """``base`` (contacts with ``customer_id`` and ``channel``) plus ``brand, value_tier,
    cost_per_contact_yuan, is_self_service`` (see :func:`enrich_contacts`)."""
    base = with_profile(base, customers, settings)
    costs = channel_costs(config).rename(cost_channel="channel")
    joined = base.left_join(costs, base.channel == costs.cost_channel)
    return joined.select(
        *base.columns,
        cost_per_contact_yuan=joined.cost_per_contact_yuan,
        is_self_service=joined.is_self_service.fill_null(False),
    )


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
        ended_at, channel, outcome, call_key`` (see :func:`clean_contacts`).

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
    joined = contacts.left_join(repeats, contacts.contact_id == repeats.repeat_contact_id)
    has_repeat = joined.first_repeat_started_at.notnull()
    return joined.select(
        *contacts.columns,
        first_repeat_started_at=joined.first_repeat_started_at,
        first_repeat_channel=joined.first_repeat_channel,
        has_repeat=has_repeat,
        is_first_contact_resolved=(joined.outcome == settings.resolved_outcome) & ~has_repeat,
    )


def contact_facts(
    contacts: ibis.Table,
    customers: ibis.Table | None,
    config: Config,
    settings: ChannelsSettings,
) -> ibis.Table:
    """Every contact with dimensions, cost and repeat flags (:func:`flag_repeats` on the
    cleaned contacts, then the profile and cost of :func:`enrich_contacts`).

    The repeat search runs on the narrow cleaned contacts: the self-join is the most
    expensive step, and carrying the profile through it would only make it slower.

    Returns
    -------
    ibis.Table
        One row per contact: the columns of :func:`enrich_contacts` and of
        :func:`flag_repeats`.
    """
    flagged = flag_repeats(clean_contacts(contacts, settings), settings)
    return with_profile_and_cost(flagged, customers, config, settings)


#: Grouping columns of the daily volume cube (``mart_channels_volume_daily``).
VOLUME_KEYS: tuple[str, ...] = ("contact_date", "channel", *DIMENSIONS)


def contact_volume(facts: ibis.Table) -> ibis.Table:
    """The daily volume cube: additive contact counts and cost at the finest reported grain.

    Every channel KPI that adds up (contacts, cost, repeats, first-contact resolutions) is a
    sum over this cube, so the expensive repeat search runs once. Distinct customers do not
    add up and are counted from the contacts (see :func:`touchpoint.channels.channel_reach`).

    Parameters
    ----------
    facts
        Contact facts (:func:`contact_facts`).

    Returns
    -------
    ibis.Table
        One row per contact date × channel × region × brand × value tier × business with
        contacts: ``n_contacts, cost_yuan, n_repeated_contacts, n_first_contact_resolved,
        is_self_service``.
    """
    dated = facts.mutate(contact_date=facts.started_at.date())
    return dated.group_by(list(VOLUME_KEYS)).agg(
        is_self_service=dated.is_self_service.any(),
        n_contacts=dated.count(),
        cost_yuan=dated.cost_per_contact_yuan.sum(),
        n_repeated_contacts=dated.has_repeat.sum(),
        n_first_contact_resolved=dated.is_first_contact_resolved.sum(),
    )
