"""Pipeline steps of the channel analytics: facts first, then the marts read from them.

The facts are materialised so the expensive self-joins (repeats, escalation) run once and
every mart is a cheap aggregation over them.
"""

from __future__ import annotations

import ibis

from touchpoint.channels._calls import hotline_call_facts
from touchpoint.channels._contacts import contact_facts
from touchpoint.channels._kpis import channel_kpis_all_dimensions, channel_totals
from touchpoint.channels._settings import settings_from_config
from touchpoint.channels._summary import escalation_summary, headline_kpis, repeat_summary
from touchpoint.config import Config

CONTACTS_FACT = "fct_channels_contacts"
CALLS_FACT = "fct_channels_hotline_calls"
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


def build_contact_facts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels_contacts``: ``stg_contacts`` (+ optional ``stg_customers``) -> contact facts.

    Returns
    -------
    dict
        ``{"fct_channels_contacts": one row per contact}``.
    """
    settings = settings_from_config(config)
    facts = contact_facts(tables["stg_contacts"], tables.get("stg_customers"), config, settings)
    return {CONTACTS_FACT: facts}


def build_call_facts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels_calls``: contact facts + ``stg_ivr_events`` -> hotline-call facts.

    Returns
    -------
    dict
        ``{"fct_channels_hotline_calls": one row per hotline call}``.
    """
    settings = settings_from_config(config)
    calls = hotline_call_facts(tables[CONTACTS_FACT], tables["stg_ivr_events"], settings)
    return {CALLS_FACT: calls}


def build_marts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channels``: the channel marts from the facts (call facts optional).

    Returns
    -------
    dict
        ``mart_channels_kpis_{daily,weekly,monthly}`` (one row per period × dimension ×
        dimension value × channel), ``mart_channels_totals`` (one row per channel),
        ``mart_channels_repeats`` (one row per channel × business), ``mart_channels_kpis``
        (one row) and, with call facts, ``mart_channels_escalation_by_{region,business,node}``
        (one row per region / business / last IVR node).
    """
    settings = settings_from_config(config)
    contacts = tables[CONTACTS_FACT]
    calls = tables.get(CALLS_FACT)
    marts = {
        name: channel_kpis_all_dimensions(contacts, period) for period, name in KPI_MARTS.items()
    }
    marts[TOTALS_MART] = channel_totals(contacts)
    marts[REPEATS_MART] = repeat_summary(contacts, ("channel", "business"))
    marts[KPIS_MART] = headline_kpis(contacts, calls, settings)
    if calls is not None:
        for column, name in ESCALATION_MARTS.items():
            marts[name] = escalation_summary(calls.filter(calls.is_ended_in_ivr), (column,))
    return marts


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """All channel tables in one go, facts included, as unevaluated expressions.

    Parameters
    ----------
    tables
        ``stg_contacts`` (required), ``stg_customers`` and ``stg_ivr_events`` (optional).

    Returns
    -------
    dict
        Table name -> expression: the facts of :func:`build_contact_facts` and
        :func:`build_call_facts` (calls only with ``stg_ivr_events``) and the marts of
        :func:`build_marts`.
    """
    out = build_contact_facts(tables, config)
    if "stg_ivr_events" in tables:
        out |= build_call_facts({**tables, **out}, config)
    out |= build_marts({**tables, **out}, config)
    return out
