"""Customer analytics: the customer 360, channel preference levels and contribution tiers.

Pure Ibis functions over the warehouse tables ``stg_customers``, ``stg_contacts``,
``stg_payments``, ``stg_bills``, ``stg_orders``, ``stg_complaints`` and ``stg_surveys``;
the pipeline writes ``mart_customer_contacts_monthly``, ``mart_channel_preference`` and
``mart_customer_360`` (docs/customers.md describes each column and the method).

>>> import ibis, datetime as dt
>>> from touchpoint.config import load_config
>>> from touchpoint.customers import customer_contacts_monthly, channel_preference
>>> from touchpoint.customers import load_customers_settings
>>> t = dt.datetime(2026, 3, 2, 9)
>>> contacts = ibis.memtable({
...     "customer_id": ["u1"] * 3, "started_at": [t] * 3, "channel": ["store", "store", "web"],
...     "business": ["payment"] * 3, "call_id": [None] * 3})
>>> settings = load_customers_settings()
>>> monthly = customer_contacts_monthly(contacts, None, load_config(), settings)
>>> levels = channel_preference(monthly, settings).order_by("channel").to_pyarrow()
>>> levels["level"].to_pylist()  # store: 2 of 3 (share 0.67) -> 2; web: 1 of 3 -> 1
[2, 1]
"""

from touchpoint.capability import Step
from touchpoint.customers._build import (
    C360_MART,
    CONTACTS_MART,
    PREFERENCE_MART,
    build,
    build_360,
    build_contacts,
    build_preference,
)
from touchpoint.customers._c360 import (
    customer_360,
    month_spine,
    with_contribution_tier,
    with_identity_flag,
)
from touchpoint.customers._card import (
    CONTACT_COLUMNS,
    UnknownCustomerError,
    card_history,
    card_preferences,
    card_recent_contacts,
)
from touchpoint.customers._contacts import channel_cost, customer_contacts_monthly
from touchpoint.customers._preference import (
    channel_preference,
    channel_preference_overall,
    preference_level,
)
from touchpoint.customers._queries import (
    PROFILE_KEYS,
    CustomersOverview,
    card,
    card_from_rows,
    card_sections,
    contribution_tiers,
    levels_by_business,
    levels_by_channel,
    overview,
)
from touchpoint.customers._settings import (
    CustomersSettings,
    load_customers_settings,
    settings_from_config,
)
from touchpoint.customers._surveys import (
    class_score,
    classified_surveys,
    classify_reply,
    normalise_reply,
    surveys_monthly,
)

__all__ = [
    "C360_MART",
    "CONTACTS_MART",
    "PREFERENCE_MART",
    "PROFILE_KEYS",
    "STEPS",
    "CustomersOverview",
    "CustomersSettings",
    "UnknownCustomerError",
    "build",
    "build_360",
    "build_contacts",
    "build_preference",
    "CONTACT_COLUMNS",
    "card",
    "card_from_rows",
    "card_sections",
    "card_history",
    "card_preferences",
    "card_recent_contacts",
    "channel_cost",
    "channel_preference",
    "channel_preference_overall",
    "class_score",
    "contribution_tiers",
    "classified_surveys",
    "classify_reply",
    "customer_360",
    "customer_contacts_monthly",
    "levels_by_business",
    "levels_by_channel",
    "load_customers_settings",
    "month_spine",
    "normalise_reply",
    "overview",
    "preference_level",
    "settings_from_config",
    "surveys_monthly",
    "with_contribution_tier",
    "with_identity_flag",
]

#: The pipeline steps of the customer analytics (``touchpoint.pipeline`` orders and runs them).
STEPS = (
    Step(
        "customer_contacts",
        inputs=("stg_customers",),
        optional=("stg_contacts", "stg_payments"),
        outputs=(CONTACTS_MART,),
        build=build_contacts,
        description="contacts and payments per customer, month, business and channel; cost",
    ),
    Step(
        "channel_preference",
        inputs=(CONTACTS_MART,),
        outputs=(PREFERENCE_MART,),
        build=build_preference,
        description="channel preference levels per customer, business and channel",
    ),
    Step(
        "customers",
        inputs=("stg_customers", CONTACTS_MART),
        optional=(PREFERENCE_MART, "stg_bills", "stg_orders", "stg_complaints", "stg_surveys"),
        outputs=(C360_MART,),
        build=build_360,
        description="customer 360: profile, value, contacts, cost, satisfaction, levels, tiers",
    ),
)
