"""Pipeline steps of the customer analytics: contacts per month, preference levels, the 360."""

from __future__ import annotations

import ibis

from touchpoint.config import Config
from touchpoint.customers._c360 import customer_360
from touchpoint.customers._contacts import customer_contacts_monthly
from touchpoint.customers._preference import channel_preference
from touchpoint.customers._settings import settings_from_config

CONTACTS_MART = "mart_customer_contacts_monthly"
PREFERENCE_MART = "mart_channel_preference"
C360_MART = "mart_customer_360"


def build_contacts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``customer_contacts``: ``mart_customer_contacts_monthly`` (one row per customer ×
    month × business × channel with a contact or payment)."""
    settings = settings_from_config(config)
    return {
        CONTACTS_MART: customer_contacts_monthly(
            tables.get("stg_contacts"), tables.get("stg_payments"), config, settings
        )
    }


def build_preference(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``channel_preference``: ``mart_channel_preference`` (one row per customer × month ×
    business × channel with an event in the trailing window)."""
    settings = settings_from_config(config)
    return {PREFERENCE_MART: channel_preference(tables[CONTACTS_MART], settings)}


def build_360(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``customers``: ``mart_customer_360`` (one row per customer × month in the network)."""
    settings = settings_from_config(config)
    return {
        C360_MART: customer_360(
            tables["stg_customers"],
            tables[CONTACTS_MART],
            config,
            settings,
            bills=tables.get("stg_bills"),
            orders=tables.get("stg_orders"),
            complaints=tables.get("stg_complaints"),
            surveys=tables.get("stg_surveys"),
            preference=tables.get(PREFERENCE_MART),
        )
    }


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """All customer tables as unevaluated expressions (the three steps chained).

    Parameters
    ----------
    tables
        ``stg_customers`` (required), ``stg_contacts``, ``stg_payments``, ``stg_bills``,
        ``stg_orders``, ``stg_complaints``, ``stg_surveys`` (optional).
    """
    out = build_contacts(tables, config)
    out |= build_preference({**tables, **out}, config)
    out |= build_360({**tables, **out}, config)
    return out
