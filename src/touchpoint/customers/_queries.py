"""What people see of the customer marts: the frontline card and the report's overview.

Query functions: each takes an open Ibis backend and returns a JSON-ready result (ids, not
display names: the renderer looks labels up in :mod:`touchpoint.labels` and the
configuration). The table-to-table parts stay pure functions (:func:`contribution_tiers`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.config import Config
from touchpoint.customers._build import C360_MART, PREFERENCE_MART
from touchpoint.customers._card import (
    CARD_MONTHS,
    CONTACT_COLUMNS,
    PREFERENCE_COLUMNS,
    UnknownCustomerError,
    card_history,
    card_preferences,
    card_recent_contacts,
)
from touchpoint.labels import is_invalid, jsonable, to_frame, to_rows
from touchpoint.query import optional_table, require_table

#: The card's flags, in the order it lists them.
CARD_FLAGS = (
    "is_group_key_person",
    "is_family_plan",
    "is_new_subscriber",
    "is_identity_customer",
    "has_left_in_month",
)
PROFILE_KEYS = (
    "brand",
    "value_tier",
    "region",
    "plan_id",
    "join_date",
    "leave_date",
    "tenure_months",
    "age_years",
)
VALUE_KEYS = (
    "arpu_yuan",
    "arpu_3m_avg_yuan",
    "arpu_trend_3m",
    "points",
    "arrears_yuan",
    "cost_to_serve_yuan",
    "net_contribution_yuan",
    "contribution_tier",
)
VALUE_HISTORY_KEYS = (
    "arpu_yuan",
    "n_contacts",
    "cost_to_serve_yuan",
    "net_contribution_yuan",
    "contribution_tier",
)
SATISFACTION_KEYS = (
    "n_complaints_3m",
    "n_surveys_replied_3m",
    "n_surveys_dissatisfied_3m",
    "satisfaction_score_3m",
)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in row.items()}


def card_months(con: ibis.BaseBackend, customer_id: str) -> list[dict[str, Any]]:
    """The customer's latest months of ``mart_customer_360``, newest first (raw rows).

    Raises :class:`~touchpoint.errors.WarehouseError` when the mart has not been built and
    :class:`UnknownCustomerError` when the customer is not in it.
    """
    c360 = require_table(con, C360_MART)
    rows = to_rows(card_history(c360, customer_id).to_pyarrow())
    if not rows:
        raise UnknownCustomerError(
            f"no customer {customer_id!r} in {C360_MART}; check the id (ids are case-sensitive)"
        )
    return rows


def card_profile(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Profile: the latest month, brand, tier, region, plan, dates, tenure, age and flags."""
    latest = months[0]
    data = {key: jsonable(latest[key]) for key in ("month", *PROFILE_KEYS)}
    data["flags"] = [flag for flag in CARD_FLAGS if latest.get(flag) is True]
    return data


def card_value(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Value: the latest month's ARPU, cost and contribution, and their history."""
    return {
        "latest": {key: jsonable(months[0][key]) for key in VALUE_KEYS},
        "history": [
            {"month": jsonable(r["month"]), **{k: jsonable(r[k]) for k in VALUE_HISTORY_KEYS}}
            for r in months
        ],
    }


def card_channels(months: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    """Each channel the customer used in the last 3 months: contacts, payments, level."""
    latest = months[0]
    out = []
    for channel in config.ids("channel"):
        item = {
            "channel": channel,
            "n_contacts": latest.get(f"n_contacts_{channel}", 0),
            "n_contacts_3m": latest.get(f"n_contacts_3m_{channel}", 0),
            "n_payments_3m": latest.get(f"n_payments_3m_{channel}", 0),
            "level": latest.get(f"pref_level_{channel}", 0),
            "payment_level": latest.get(f"pref_level_payment_{channel}", 0),
        }
        if item["n_contacts_3m"] or item["n_payments_3m"]:
            out.append(_clean(item))
    return out


def card_preference_levels(
    con: ibis.BaseBackend, customer_id: str, month: object
) -> list[dict[str, Any]] | None:
    """The customer's preference levels of ``month`` (``None`` without the preference mart)."""
    preference = optional_table(con, PREFERENCE_MART)
    if preference is None:
        return None
    rows = card_preferences(preference, customer_id, month)
    return [_clean(r) for r in to_rows(rows.to_pyarrow())]


def card_contacts(con: ibis.BaseBackend, customer_id: str, n: int) -> list[dict[str, Any]] | None:
    """The customer's ``n`` latest contacts (``None`` without ``stg_contacts``)."""
    contacts = optional_table(con, "stg_contacts")
    if contacts is None:
        return None
    rows = card_recent_contacts(contacts, customer_id, n)
    return [_clean(r) for r in to_rows(rows.to_pyarrow())]


def card_satisfaction(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Complaints and survey replies of the last 3 months."""
    return {key: jsonable(months[0][key]) for key in SATISFACTION_KEYS}


def card(
    con: ibis.BaseBackend, config: Config, customer_id: str, *, recent: int = 10
) -> dict[str, Any]:
    """The frontline card of one customer: ``{section: JSON-ready data}``, in the card's order.

    Sections: ``profile``, ``value``, ``channels``, ``preferences``, ``recent_contacts``,
    ``satisfaction``; one whose table is missing is left out. A value that cannot be shown
    (a date in year 0, NaN) is :data:`~touchpoint.labels.INVALID`, written as null in JSON.
    """
    months = card_months(con, customer_id)
    return card_sections(
        config,
        months,
        card_preference_levels(con, customer_id, months[0]["month"]),
        card_contacts(con, customer_id, recent),
    )


def card_sections(
    config: Config,
    months: list[dict[str, Any]],
    preferences: list[dict[str, Any]] | None,
    contacts: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The card's sections from one customer's rows, read by :func:`card` or
    :func:`card_from_rows` (``None``: the section's table is missing)."""
    sections: dict[str, Any] = {
        "profile": card_profile(months),
        "value": card_value(months),
        "channels": card_channels(months, config),
        "preferences": preferences,
        "recent_contacts": contacts,
        "satisfaction": card_satisfaction(months),
    }
    return {key: data for key, data in sections.items() if data is not None}


def card_from_rows(
    config: Config,
    customer_id: str,
    c360: pa.Table,
    preference: pa.Table | None,
    contacts: pa.Table | None,
    *,
    recent: int = 10,
) -> dict[str, Any]:
    """:func:`card` from the customer's own rows, already read (all of them, any order).

    ``c360``, ``preference`` and ``contacts``: every row of ``customer_id`` in
    ``mart_customer_360``, the preference mart and ``stg_contacts`` (``None``: the table is
    missing), with the columns and types Ibis reads them with. The card's choices are those of
    :func:`card_history`, :func:`card_preferences` and :func:`card_recent_contacts`, made on a
    handful of rows in Arrow: for the platform's card store, which keeps each customer's rows
    together so a card is read without a query (tests check both give the same card).
    """
    if c360.num_rows == 0:
        raise UnknownCustomerError(
            f"no customer {customer_id!r} in {C360_MART}; check the id (ids are case-sensitive)"
        )
    months = to_rows(c360.sort_by([("month", "descending")]).slice(0, CARD_MONTHS))
    levels = None
    if preference is not None:
        month = pa.scalar(months[0]["month"], preference.schema.field("month").type)
        mine = preference.filter(pc.equal(preference["month"], month))
        mine = mine.select(list(PREFERENCE_COLUMNS)).sort_by(
            [
                ("level", "descending"),
                ("n_contacts_window", "descending"),
                ("business", "ascending"),
                ("channel", "ascending"),
            ]
        )
        levels = [_clean(r) for r in to_rows(mine)]
    latest = None
    if contacts is not None:
        order = [("started_at", "descending")] + [(c, "ascending") for c in CONTACT_COLUMNS[1:]]
        rows = contacts.select(list(CONTACT_COLUMNS)).sort_by(order).slice(0, recent)
        latest = [_clean(r) for r in to_rows(rows)]
    return card_sections(config, months, levels, latest)


# ---- the report's overview ------------------------------------------------------------------
def latest_month(table: ibis.Table) -> ibis.Table:
    """The rows of the table's latest ``month``."""
    return table.filter(table.month == table.month.max().as_scalar())


def contribution_tiers(c360: ibis.Table, channels: list[str]) -> ibis.Table:
    """Customers, contribution, ARPU, cost to serve and contacts per channel by tier.

    Returns
    -------
    ibis.Table
        One row per ``contribution_tier`` (null: no bill): ``n_customers,
        net_contribution_yuan, arpu_yuan`` (mean), ``cost_to_serve_yuan`` and ``n_<channel>``
        (contacts), ordered by tier.
    """
    agg = c360.group_by("contribution_tier").agg(
        n_customers=c360.count(),
        net_contribution_yuan=c360.net_contribution_yuan.sum(),
        arpu_yuan=c360.arpu_yuan.mean(),
        cost_to_serve_yuan=c360.cost_to_serve_yuan.sum(),
        **{f"n_{c}": c360[f"n_contacts_{c}"].sum() for c in channels},
    )
    return agg.order_by("contribution_tier")


def levels_by_channel(c360: ibis.Table, channels: list[str]) -> ibis.Table:
    """Customers at each preference level 1..5 per channel (all businesses).

    One row per ``channel, level`` with ``n_customers``.
    """
    long = c360.select(*[c360[f"pref_level_{c}"].name(c) for c in channels]).pivot_longer(
        ibis.selectors.all(), names_to="channel", values_to="level"
    )
    used = long.filter(long.level > 0)
    return used.group_by("channel", "level").agg(n_customers=used.count())


def levels_by_business(preference: ibis.Table) -> ibis.Table:
    """Per business × channel, the business's customers at level 3 or more, latest month.

    One row per ``business, channel`` with ``n_strong`` and ``n_users`` (the business's
    customers with any level).
    """
    latest = latest_month(preference)
    users = latest.group_by("business").agg(n_users=latest.customer_id.nunique())
    high = latest.filter(latest.level >= 3)
    strong = high.group_by("business", "channel").agg(n_strong=high.count())
    return strong.join(users, "business")


@dataclass
class CustomersOverview:
    """The customers of the latest month, as the report shows them.

    ``n_customers == 0`` means the 360 is empty (every other field is then empty too).
    ``tiers`` rows: ``contribution_tier`` (``None``: no bill), ``n_customers``, ``share``,
    ``net_contribution_yuan``, ``arpu_yuan``, ``cost_to_serve_yuan``, ``cost_per_customer``;
    ``cost_by_tier`` rows: ``contribution_tier, channel, cost_yuan`` (contacts × the channel's
    cost per contact, where positive).
    """

    month: str | None = None
    n_customers: int = 0
    n_negative: int = 0
    negative_yuan: float | None = None
    cost_yuan: float | None = None
    arpu_yuan: float | None = None
    levels_by_channel: list[dict[str, Any]] = field(default_factory=list)
    levels_by_business: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    cost_by_tier: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overview(con: ibis.BaseBackend, config: Config) -> CustomersOverview:
    """The latest month's customers: counts, value, preference levels and tiers."""
    channels = config.ids("channel")
    c360 = latest_month(require_table(con, C360_MART))
    stats = to_rows(
        c360.aggregate(
            month=c360.month.max(),
            n=c360.count(),
            n_negative=(c360.net_contribution_yuan < 0).fill_null(False).cast("int64").sum(),
            negative_yuan=ibis.ifelse(
                c360.net_contribution_yuan < 0, c360.net_contribution_yuan, 0.0
            ).sum(),
            cost=c360.cost_to_serve_yuan.sum(),
            arpu=c360.arpu_yuan.mean(),
        ).to_pyarrow()
    )[0]
    n = int(stats["n"])
    if n == 0:
        return CustomersOverview()
    result = CustomersOverview(
        month=str(stats["month"])[:7],
        n_customers=n,
        n_negative=int(stats["n_negative"] or 0),
        negative_yuan=stats["negative_yuan"],
        cost_yuan=stats["cost"],
        arpu_yuan=stats["arpu"],
    )
    result.levels_by_channel = to_rows(
        levels_by_channel(c360, channels).order_by(["channel", "level"]).to_pyarrow()
    )
    preference = optional_table(con, PREFERENCE_MART)
    if preference is not None:
        by_business = to_rows(levels_by_business(preference).to_pyarrow())
        for row in by_business:
            row["share"] = row["n_strong"] / row["n_users"]
        result.levels_by_business = by_business
    tiers = to_frame(contribution_tiers(c360, channels).to_pyarrow())
    for row in tiers.to_dict("records"):
        tier = row["contribution_tier"]
        tier = None if tier is None or tier != tier else int(tier)
        n_tier = row["n_customers"]
        result.tiers.append(
            {
                "contribution_tier": tier,
                "n_customers": n_tier,
                "share": n_tier / n,
                "net_contribution_yuan": row["net_contribution_yuan"],
                "arpu_yuan": row["arpu_yuan"],
                "cost_to_serve_yuan": row["cost_to_serve_yuan"],
                "cost_per_customer": row["cost_to_serve_yuan"] / n_tier,
            }
        )
        for channel in channels:
            contacts = row[f"n_{channel}"]
            contacts = 0 if contacts is None or contacts != contacts else contacts
            cost = float(contacts) * config.channel(channel).cost_per_contact_yuan
            if cost > 0 and not is_invalid(cost):
                result.cost_by_tier.append(
                    {"contribution_tier": tier, "channel": channel, "cost_yuan": cost}
                )
    return result
