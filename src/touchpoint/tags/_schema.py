"""The columns of ``mart_customer_360`` that tag rules may use, as agreed with ``customers``.

The tags layer does not import :mod:`touchpoint.customers` (they are sibling layers); it
states the agreed column contract here so a catalogue can be checked before any 360 exists
(``touchpoint tags check FILE``). When a real 360 table is at hand its own schema is used.
"""

from __future__ import annotations

import ibis
import ibis.expr.schema as sch

from touchpoint.config import Config

CUSTOMER_360 = "mart_customer_360"

_FIXED: dict[str, str] = {
    "customer_id": "string",
    "month": "date",
    "brand": "string",
    "value_tier": "string",
    "region": "string",
    "plan_id": "string",
    "join_date": "date",
    "leave_date": "date",
    "tenure_months": "int64",
    "is_new_subscriber": "boolean",
    "has_left_in_month": "boolean",
    "age_years": "int64",
    "is_group_key_person": "boolean",
    "is_family_plan": "boolean",
    "arpu_yuan": "float64",
    "arpu_3m_avg_yuan": "float64",
    "arpu_trend_3m": "float64",
    "points": "int64",
    "arrears_yuan": "float64",
    "voice_minutes": "float64",
    "data_mb": "float64",
    "sms_count": "int64",
    "n_contacts": "int64",
    "n_payments": "int64",
    "n_orders_subscribe_3m": "int64",
    "n_family_or_group_orders_3m": "int64",
    "n_complaints": "int64",
    "n_complaints_3m": "int64",
    "n_surveys_replied_3m": "int64",
    "n_surveys_dissatisfied_3m": "int64",
    "satisfaction_score_3m": "float64",
    "cost_to_serve_yuan": "float64",
    "net_contribution_yuan": "float64",
    "contribution_tier": "int64",
    "is_identity_customer": "boolean",
}
_PER_CHANNEL = (
    "n_contacts_{}",
    "n_contacts_3m_{}",
    "n_payments_{}",
    "n_payments_3m_{}",
    "pref_level_{}",
    "pref_level_payment_{}",
)


def customer_360_schema(config: Config) -> sch.Schema:
    """The contract schema of ``mart_customer_360`` for the channels of ``config``.

    >>> from touchpoint.config import load_config
    >>> schema = customer_360_schema(load_config())
    >>> str(schema["pref_level_payment_store"]), str(schema["is_new_subscriber"])
    ('int64', 'boolean')
    """
    columns = dict(_FIXED)
    for pattern in _PER_CHANNEL:
        for channel in config.ids("channel"):
            columns[pattern.format(channel)] = "int64"
    return ibis.schema(columns)
