"""Pipeline steps of the channel analytics: two cubes first, then the marts read from them.

The cubes (daily volume per channel and dimension, daily calls per region, business and last
IVR node) hold every additive figure, so the expensive searches for repeats and escalations
run once. They are small (one row per day and combination, not per contact), which matters:
writing a per-contact table of 18 M rows costs DuckDB half a minute. Distinct-customer counts
do not add up and are counted from ``stg_contacts`` in the second step.
"""

from __future__ import annotations

import ibis

from touchpoint.channels._calls import call_volume, hotline_call_facts
from touchpoint.channels._contacts import clean_contacts, contact_facts, contact_volume
from touchpoint.channels._kpis import channel_kpis_all_dimensions, channel_totals
from touchpoint.channels._settings import settings_from_config
from touchpoint.channels._summary import escalation_summary, headline_kpis, repeat_summary
from touchpoint.config import Config

VOLUME_CUBE = "mart_channels_volume_daily"
CALLS_CUBE = "mart_channels_calls_daily"
KPIS_MART = "mart_channels_kpis"
KPI_MARTS = {
    "day": "mart_channels_kpis_daily",
    "week": "mart_channels_kpis_weekly",
    "month": "mart_channels_kpis_monthly",
}
TOTALS_MART = "mart_channels_totals"
REPEATS_MART = "mart_channels_repeats"
ESCALATION_MARTS = {
    "region": "mart_channels_escalation_by_region",
    "business": "mart_channels_escalation_by_business",
    "last_node_id": "mart_channels_escalation_by_node",
}


def build_volume_cube(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels_cubes``: ``mart_channels_volume_daily``, one row per day × channel ×
    region × brand × value tier × business, from ``stg_contacts`` (and ``stg_customers`` for the
    customer's brand and tier when it exists)."""
    settings = settings_from_config(config)
    facts = contact_facts(tables["stg_contacts"], tables.get("stg_customers"), config, settings)
    return {VOLUME_CUBE: contact_volume(facts)}


def build_calls_cube(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels_calls_cube``: ``mart_channels_calls_daily``, one row per day × region ×
    business × last IVR node × ended in the IVR or not, from ``stg_contacts`` and
    ``stg_ivr_events``."""
    settings = settings_from_config(config)
    calls = hotline_call_facts(
        clean_contacts(tables["stg_contacts"], settings), tables["stg_ivr_events"], settings
    )
    return {CALLS_CUBE: call_volume(calls)}


def build_kpi_marts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels``: the KPI marts from the volume cube and ``stg_contacts``.

    Returns
    -------
    dict
        ``mart_channels_kpis_{daily,weekly,monthly}`` (one row per period × dimension ×
        dimension value × channel, for the dimensions of ``mart_dimensions`` in the
        settings; see :func:`kpis_for` for the others), ``mart_channels_totals`` (one row per
        channel), ``mart_channels_repeats`` (one row per channel × business) and
        ``mart_channels_kpis`` (one row; its escalation figures need the call cube).
    """
    settings = settings_from_config(config)
    volume = tables[VOLUME_CUBE]
    contacts = clean_contacts(tables["stg_contacts"], settings)
    customers = tables.get("stg_customers")
    channel_ids = config.ids("channel")
    marts = {
        name: channel_kpis_all_dimensions(
            volume,
            contacts,
            customers,
            channel_ids,
            settings,
            period,
            (None, *settings.mart_dimensions.get(period, ())),
        )
        for period, name in KPI_MARTS.items()
    }
    marts[TOTALS_MART] = channel_totals(volume, contacts, channel_ids, settings)
    marts[REPEATS_MART] = repeat_summary(volume, ("channel", "business"))
    marts[KPIS_MART] = headline_kpis(volume, contacts, tables.get(CALLS_CUBE), settings)
    return marts


def build_escalation(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels_escalation``: ``mart_channels_escalation_by_{region,business,node}``
    (one row per region / business / last IVR node) from the call cube."""
    calls = tables[CALLS_CUBE]
    return {name: escalation_summary(calls, (column,)) for column, name in ESCALATION_MARTS.items()}


def build_cubes(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """The volume cube and, with ``stg_ivr_events``, the call cube (steps ``channels_cubes``
    and ``channels_calls_cube`` together)."""
    out = build_volume_cube(tables, config)
    if "stg_ivr_events" in tables:
        out |= build_calls_cube(tables, config)
    return out


def build_marts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """The channel marts from the cubes and ``stg_contacts``: those of :func:`build_kpi_marts`
    and, with the call cube, those of :func:`build_escalation`."""
    marts = build_kpi_marts(tables, config)
    if CALLS_CUBE in tables:
        marts |= build_escalation(tables, config)
    return marts


def kpis_for(
    tables: dict[str, ibis.Table], config: Config, period: str, by: str | None
) -> ibis.Table:
    """Channel KPIs for one period and dimension, from the volume cube and ``stg_contacts``.

    The same rows as the KPI marts hold for that combination; for the combinations the marts
    leave out (see ``mart_dimensions``), computed when asked.

    Parameters
    ----------
    tables
        ``mart_channels_volume_daily`` and ``stg_contacts`` (required), ``stg_customers``.

    Returns
    -------
    ibis.Table
        One row per period × dimension value × channel, as
        :func:`touchpoint.channels.channel_kpis`.
    """
    settings = settings_from_config(config)
    contacts = clean_contacts(tables["stg_contacts"], settings)
    return channel_kpis_all_dimensions(
        tables[VOLUME_CUBE],
        contacts,
        tables.get("stg_customers"),
        config.ids("channel"),
        settings,
        period,
        (by,),
    )


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """All channel tables in one go, as unevaluated expressions (cubes, then marts on them).

    Parameters
    ----------
    tables
        ``stg_contacts`` (required), ``stg_customers`` and ``stg_ivr_events`` (optional).

    Returns
    -------
    dict
        Table name -> expression: the cubes of :func:`build_cubes` and the marts of
        :func:`build_marts`.
    """
    out = build_cubes(tables, config)
    out |= build_marts({**tables, **out}, config)
    return out
