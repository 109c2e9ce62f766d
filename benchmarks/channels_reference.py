"""Two independent versions of the channel analytics, for the benchmark and as a cross-check.

``pandas_channels`` is what an analyst would write in pandas; ``sql_channels`` is hand-written
DuckDB SQL. Both compute the same tables as ``touchpoint.channels.build`` (docs/metrics.md
definitions, default windows) so the three can be timed side by side and compared row by row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from touchpoint.channels import DIMENSIONS, ChannelsSettings
from touchpoint.config import Config

PERIOD_FREQ = {"day": "D", "week": "W-SUN", "month": "M"}
PERIOD_STEP = {"day": "1 DAY", "week": "7 DAY", "month": "1 MONTH"}
KPI_TABLES = {"day": "kpis_daily", "week": "kpis_weekly", "month": "kpis_monthly"}


# ----------------------------------------------------------------------------- pandas


def _pandas_kpis(c: pd.DataFrame, period: str, dimension: str | None) -> pd.DataFrame:
    period_start = c.started_at.dt.to_period(PERIOD_FREQ[period]).dt.start_time.dt.date
    frame = c.assign(
        period_start=period_start,
        dimension_value=c[dimension] if dimension else "all",
    )
    keys = ["period_start", "dimension_value"]
    kpis = frame.groupby([*keys, "channel"], as_index=False).agg(
        is_self_service=("is_self_service", "any"),
        n_contacts=("contact_id", "size"),
        n_customers=("customer_id", "nunique"),
        cost_yuan=("cost_per_contact_yuan", "sum"),
        n_repeated_contacts=("has_repeat", "sum"),
        n_first_contact_resolved=("is_first_contact_resolved", "sum"),
    )
    reach = frame.groupby(keys, as_index=False).agg(group_n_customers=("customer_id", "nunique"))
    kpis = kpis.merge(reach, on=keys)
    group_contacts = kpis.groupby(keys).n_contacts.transform("sum")
    self_service = (
        kpis.n_contacts.where(kpis.is_self_service, 0)
        .groupby([kpis.period_start, kpis.dimension_value])
        .transform("sum")
    )
    kpis["contacts_per_customer"] = kpis.n_contacts / kpis.n_customers
    kpis["contact_share"] = kpis.n_contacts / group_contacts
    kpis["customer_share"] = kpis.n_customers / kpis.group_n_customers
    kpis["self_service_share"] = self_service / group_contacts
    kpis["repeat_contact_rate"] = kpis.n_repeated_contacts / kpis.n_contacts
    kpis["first_contact_resolution_rate"] = kpis.n_first_contact_resolved / kpis.n_contacts
    step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(PERIOD_STEP[period])
    previous = kpis[["period_start", "dimension_value", "channel", "n_contacts", "n_customers",
                     "cost_yuan"]].copy()  # fmt: skip
    previous["period_start"] = (pd.to_datetime(previous.period_start) + step).dt.date
    kpis = kpis.merge(
        previous, on=["period_start", "dimension_value", "channel"], how="left",
        suffixes=("", "_previous"),
    )  # fmt: skip
    kpis["n_contacts_change_rate"] = kpis.n_contacts / kpis.n_contacts_previous - 1
    kpis["n_customers_change_rate"] = kpis.n_customers / kpis.n_customers_previous - 1
    kpis["cost_change_rate"] = kpis.cost_yuan / kpis.cost_yuan_previous - 1
    kpis["period"] = period
    kpis["dimension"] = dimension or "all"
    return kpis.drop(columns=["group_n_customers", "n_customers_previous", "cost_yuan_previous"])


def _pandas_escalation(calls: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    ended = calls[calls.is_ended_in_ivr == True]  # noqa: E712  (nullable booleans)
    out = ended.groupby(by, as_index=False).agg(
        n_calls_ended_in_ivr=("contact_id", "size"), n_escalated=("is_escalated", "sum")
    )
    out["ivr_to_agent_60min_rate"] = out.n_escalated / out.n_calls_ended_in_ivr
    return out


def pandas_channels(
    data_dir: Path, config: Config, settings: ChannelsSettings | None = None
) -> dict[str, pd.DataFrame]:
    """The channel tables from the parquet files in ``data_dir``, in pandas."""
    s = settings or ChannelsSettings()
    contacts = pd.read_parquet(
        data_dir / "contacts.parquet",
        columns=["contact_id", "customer_id", "started_at", "ended_at", "channel", "business",
                 "outcome", "region", "call_id"],
    )  # fmt: skip
    customers = pd.read_parquet(
        data_dir / "customers.parquet", columns=["customer_id", "brand", "value_tier"]
    )
    events = pd.read_parquet(
        data_dir / "ivr_events.parquet", columns=["call_id", "seq", "node_id", "event_type"]
    )
    costs = pd.DataFrame(
        {
            "channel": [ch.id for ch in config.channels],
            "cost_per_contact_yuan": [ch.cost_per_contact_yuan for ch in config.channels],
            "is_self_service": [ch.is_self_service for ch in config.channels],
        }
    )
    c = contacts.merge(customers, on="customer_id", how="left").merge(
        costs, on="channel", how="left"
    )
    c["region"] = c.region.str.strip().replace("", None).fillna(s.unknown_label)
    c["brand"] = c.brand.fillna(s.unknown_label)
    c["value_tier"] = c.value_tier.fillna(s.unknown_label)
    c["is_self_service"] = c.is_self_service.fillna(False).astype(bool)
    c["call_key"] = c.call_id.str.strip().replace("", None)

    # Repeats: every later contact of the same customer and business, then the window.
    left = c[["contact_id", "customer_id", "business", "started_at", "ended_at", "call_key"]]
    right = c[["customer_id", "business", "started_at", "channel", "call_key"]].rename(
        columns={
            "started_at": "later_started_at",
            "channel": "later_channel",
            "call_key": "later_call_key",
        }  # fmt: skip
    )
    pairs = left.merge(right, on=["customer_id", "business"])
    window = pd.Timedelta(seconds=s.repeat_window_seconds)
    same_call = pairs.call_key.notna() & (pairs.call_key == pairs.later_call_key)
    pairs = pairs[
        (pairs.later_started_at > pairs.started_at)
        & (pairs.later_started_at <= pairs.ended_at + window)
        & ~same_call
    ]
    first = pairs.sort_values("later_started_at").groupby("contact_id").first()
    c = c.merge(
        first[["later_started_at", "later_channel"]].rename(
            columns={"later_started_at": "first_repeat_started_at",
                     "later_channel": "first_repeat_channel"}  # fmt: skip
        ),
        left_on="contact_id", right_index=True, how="left",
    )  # fmt: skip
    c["has_repeat"] = c.first_repeat_started_at.notna()
    c["is_first_contact_resolved"] = (c.outcome == s.resolved_outcome) & ~c.has_repeat

    # Hotline calls: the last IVR event, then an agent contact within the window.
    last = events.sort_values(["call_id", "seq"]).groupby("call_id").tail(1)
    last = last.rename(columns={"event_type": "last_event_type", "node_id": "last_node_id"})
    calls = c[c.channel == s.ivr_channel][
        ["contact_id", "call_key", "customer_id", "started_at", "ended_at", "region", "business",
         "brand", "value_tier"]
    ].merge(last[["call_id", "last_event_type", "last_node_id"]], left_on="call_key",
            right_on="call_id", how="left").drop(columns="call_id")  # fmt: skip
    calls["call_date"] = calls.started_at.dt.date
    calls["has_ivr_events"] = calls.last_event_type.notna()
    calls["is_ended_in_ivr"] = (calls.last_event_type != s.transfer_event_type).where(
        calls.has_ivr_events
    )
    calls["last_node_id"] = calls.last_node_id.fillna(s.unknown_label)
    ended = calls[calls.is_ended_in_ivr == True][["contact_id", "customer_id", "ended_at"]]  # noqa: E712
    agents = c[c.channel == s.agent_channel][["customer_id", "started_at"]]
    followed = ended.merge(agents, on="customer_id")
    followed = followed[
        (followed.started_at > followed.ended_at)
        & (followed.started_at
           <= followed.ended_at + pd.Timedelta(minutes=s.escalation_window_minutes))
    ]  # fmt: skip
    first_agent = followed.groupby("contact_id").started_at.min().rename("first_agent_started_at")
    calls = calls.merge(first_agent, left_on="contact_id", right_index=True, how="left")
    calls["is_escalated"] = (calls.is_ended_in_ivr == True) & calls.first_agent_started_at.notna()  # noqa: E712

    out: dict[str, pd.DataFrame] = {"contacts": c, "calls": calls}
    for period, name in KPI_TABLES.items():
        out[name] = pd.concat(
            [_pandas_kpis(c, period, d) for d in (None, *DIMENSIONS)], ignore_index=True
        )
    totals = c.groupby("channel", as_index=False).agg(
        n_contacts=("contact_id", "size"),
        n_customers=("customer_id", "nunique"),
        cost_yuan=("cost_per_contact_yuan", "sum"),
    )
    totals["contact_share"] = totals.n_contacts / totals.n_contacts.sum()
    out["totals"] = totals
    repeats = c.groupby(["channel", "business"], as_index=False).agg(
        n_contacts=("contact_id", "size"),
        n_repeated_contacts=("has_repeat", "sum"),
        n_first_contact_resolved=("is_first_contact_resolved", "sum"),
    )
    repeats["repeat_contact_rate"] = repeats.n_repeated_contacts / repeats.n_contacts
    out["repeats"] = repeats
    for by in ("region", "business", "last_node_id"):
        out[f"escalation_by_{by}"] = _pandas_escalation(calls, [by])
    ended_n = int((calls.is_ended_in_ivr == True).sum())  # noqa: E712
    out["kpis"] = pd.DataFrame(
        [
            {
                "n_contacts": len(c),
                "n_customers": c.customer_id.nunique(),
                "cost_yuan": c.cost_per_contact_yuan.sum(),
                "repeat_contact_rate": c.has_repeat.mean(),
                "first_contact_resolution_rate": c.is_first_contact_resolved.mean(),
                "n_hotline_calls": len(calls),
                "n_dialling_customer_days": len(
                    calls[["customer_id", "call_date"]].drop_duplicates()
                ),
                "calls_per_dialling_customer_per_day": len(calls)
                / len(calls[["customer_id", "call_date"]].drop_duplicates()),
                "n_calls_ended_in_ivr": ended_n,
                "n_escalated": int(calls.is_escalated.sum()),
                "ivr_to_agent_60min_rate": calls.is_escalated.sum() / ended_n,
            }
        ]
    )
    return out


# ----------------------------------------------------------------------------- SQL


def _sql_kpis(period: str, dimension: str | None) -> str:
    unit = {"day": "day", "week": "week", "month": "month"}[period]
    value = dimension or "'all'"
    return f"""
    SELECT '{period}' AS period, k.period_start, '{dimension or "all"}' AS dimension,
           k.dimension_value, k.channel, k.is_self_service, k.n_contacts, k.n_customers,
           k.n_contacts / k.n_customers AS contacts_per_customer,
           k.n_contacts / SUM(k.n_contacts) OVER g AS contact_share,
           k.n_customers / r.group_n_customers AS customer_share,
           k.cost_yuan,
           SUM(CASE WHEN k.is_self_service THEN k.n_contacts ELSE 0 END) OVER g
             / SUM(k.n_contacts) OVER g AS self_service_share,
           k.n_repeated_contacts, k.n_repeated_contacts / k.n_contacts AS repeat_contact_rate,
           k.n_first_contact_resolved,
           k.n_first_contact_resolved / k.n_contacts AS first_contact_resolution_rate,
           p.n_contacts AS n_contacts_previous,
           k.n_contacts / p.n_contacts - 1 AS n_contacts_change_rate,
           k.n_customers / p.n_customers - 1 AS n_customers_change_rate,
           k.cost_yuan / p.cost_yuan - 1 AS cost_change_rate
    FROM (
        SELECT CAST(date_trunc('{unit}', started_at) AS DATE) AS period_start,
               {value} AS dimension_value, channel, bool_or(is_self_service) AS is_self_service,
               COUNT(*) AS n_contacts, COUNT(DISTINCT customer_id) AS n_customers,
               SUM(cost_per_contact_yuan) AS cost_yuan,
               SUM(CAST(has_repeat AS INT)) AS n_repeated_contacts,
               SUM(CAST(is_first_contact_resolved AS INT)) AS n_first_contact_resolved
        FROM sql_contacts GROUP BY ALL
    ) k
    JOIN (
        SELECT CAST(date_trunc('{unit}', started_at) AS DATE) AS period_start,
               {value} AS dimension_value, COUNT(DISTINCT customer_id) AS group_n_customers
        FROM sql_contacts GROUP BY ALL
    ) r USING (period_start, dimension_value)
    LEFT JOIN (
        SELECT CAST(date_trunc('{unit}', started_at) AS DATE) + INTERVAL {PERIOD_STEP[period]}
                 AS next_start,
               {value} AS dimension_value, channel, COUNT(*) AS n_contacts,
               COUNT(DISTINCT customer_id) AS n_customers, SUM(cost_per_contact_yuan) AS cost_yuan
        FROM sql_contacts GROUP BY ALL
    ) p ON p.next_start = k.period_start AND p.dimension_value = k.dimension_value
       AND p.channel = k.channel
    WINDOW g AS (PARTITION BY k.period_start, k.dimension_value)
    """


def sql_statements(config: Config, settings: ChannelsSettings | None = None) -> list[str]:
    """The hand-written DuckDB SQL: ``sql_*`` tables from the ``stg_*`` tables."""
    s = settings or ChannelsSettings()
    costs = ", ".join(
        f"('{ch.id}', {ch.cost_per_contact_yuan}, {str(ch.is_self_service).lower()})"
        for ch in config.channels
    )
    statements = [
        f"""
        CREATE OR REPLACE TABLE sql_contacts AS
        WITH costs(channel, cost_per_contact_yuan, is_self_service) AS (VALUES {costs}),
        c AS (
            SELECT k.contact_id, k.customer_id, k.started_at, k.ended_at, k.channel, k.business,
                   k.outcome, NULLIF(TRIM(k.call_id), '') AS call_key,
                   COALESCE(NULLIF(TRIM(k.region), ''), '{s.unknown_label}') AS region,
                   COALESCE(u.brand, '{s.unknown_label}') AS brand,
                   COALESCE(u.value_tier, '{s.unknown_label}') AS value_tier,
                   costs.cost_per_contact_yuan,
                   COALESCE(costs.is_self_service, false) AS is_self_service
            FROM stg_contacts k
            LEFT JOIN stg_customers u USING (customer_id)
            LEFT JOIN costs USING (channel)
        ),
        rep AS (
            SELECT a.contact_id, MIN(b.started_at) AS first_repeat_started_at,
                   arg_min(b.channel, b.started_at) AS first_repeat_channel
            FROM c a JOIN c b
              ON a.customer_id = b.customer_id AND a.business = b.business
             AND b.started_at > a.started_at
             AND b.started_at <= a.ended_at + INTERVAL {s.repeat_window_seconds} SECOND
            WHERE NOT COALESCE(a.call_key = b.call_key, false)
            GROUP BY a.contact_id
        )
        SELECT c.*, rep.first_repeat_started_at, rep.first_repeat_channel,
               rep.contact_id IS NOT NULL AS has_repeat,
               c.outcome = '{s.resolved_outcome}' AND rep.contact_id IS NULL
                 AS is_first_contact_resolved
        FROM c LEFT JOIN rep USING (contact_id)
        """,
        f"""
        CREATE OR REPLACE TABLE sql_calls AS
        WITH last AS (
            SELECT call_id, arg_max(event_type, seq) AS last_event_type,
                   arg_max(node_id, seq) AS last_node_id
            FROM stg_ivr_events GROUP BY call_id
        ),
        calls AS (
            SELECT c.contact_id, c.call_key, c.customer_id, c.started_at, c.ended_at,
                   CAST(c.started_at AS DATE) AS call_date, c.region, c.business, c.brand,
                   c.value_tier, l.last_event_type IS NOT NULL AS has_ivr_events,
                   l.last_event_type, COALESCE(l.last_node_id, '{s.unknown_label}') AS last_node_id,
                   l.last_event_type <> '{s.transfer_event_type}' AS is_ended_in_ivr
            FROM sql_contacts c LEFT JOIN last l ON c.call_key = l.call_id
            WHERE c.channel = '{s.ivr_channel}'
        ),
        esc AS (
            SELECT a.contact_id, MIN(g.started_at) AS first_agent_started_at
            FROM calls a JOIN sql_contacts g
              ON g.customer_id = a.customer_id AND g.started_at > a.ended_at
             AND g.started_at <= a.ended_at + INTERVAL {s.escalation_window_minutes} MINUTE
            WHERE a.is_ended_in_ivr AND g.channel = '{s.agent_channel}'
            GROUP BY a.contact_id
        )
        SELECT calls.*, esc.first_agent_started_at,
               calls.is_ended_in_ivr AND esc.contact_id IS NOT NULL AS is_escalated
        FROM calls LEFT JOIN esc USING (contact_id)
        """,
    ]
    for period, name in KPI_TABLES.items():
        union = " UNION ALL ".join(
            f"SELECT * FROM ({_sql_kpis(period, d)})" for d in (None, *DIMENSIONS)
        )
        statements.append(f"CREATE OR REPLACE TABLE sql_{name} AS {union}")
    statements += [
        """
        CREATE OR REPLACE TABLE sql_totals AS
        SELECT channel, COUNT(*) AS n_contacts, COUNT(DISTINCT customer_id) AS n_customers,
               SUM(cost_per_contact_yuan) AS cost_yuan,
               COUNT(*) / SUM(COUNT(*)) OVER () AS contact_share
        FROM sql_contacts GROUP BY channel
        """,
        """
        CREATE OR REPLACE TABLE sql_repeats AS
        SELECT channel, business, COUNT(*) AS n_contacts,
               SUM(CAST(has_repeat AS INT)) AS n_repeated_contacts,
               SUM(CAST(is_first_contact_resolved AS INT)) AS n_first_contact_resolved,
               AVG(CAST(has_repeat AS DOUBLE)) AS repeat_contact_rate
        FROM sql_contacts GROUP BY channel, business
        """,
    ]
    for by in ("region", "business", "last_node_id"):
        statements.append(
            f"""
            CREATE OR REPLACE TABLE sql_escalation_by_{by} AS
            SELECT {by}, COUNT(*) AS n_calls_ended_in_ivr,
                   SUM(CAST(is_escalated AS INT)) AS n_escalated,
                   AVG(CAST(is_escalated AS DOUBLE)) AS ivr_to_agent_60min_rate
            FROM sql_calls WHERE is_ended_in_ivr GROUP BY {by}
            """
        )
    statements.append(
        """
        CREATE OR REPLACE TABLE sql_kpis AS
        SELECT * FROM (
            SELECT COUNT(*) AS n_contacts, COUNT(DISTINCT customer_id) AS n_customers,
                   SUM(cost_per_contact_yuan) AS cost_yuan,
                   AVG(CAST(has_repeat AS DOUBLE)) AS repeat_contact_rate,
                   AVG(CAST(is_first_contact_resolved AS DOUBLE)) AS first_contact_resolution_rate
            FROM sql_contacts
        ) CROSS JOIN (
            SELECT COUNT(*) AS n_hotline_calls,
                   COUNT(DISTINCT (customer_id, call_date)) AS n_dialling_customer_days,
                   COUNT(*) / COUNT(DISTINCT (customer_id, call_date))
                     AS calls_per_dialling_customer_per_day,
                   SUM(CAST(is_ended_in_ivr AS INT)) AS n_calls_ended_in_ivr,
                   SUM(CAST(is_escalated AS INT)) AS n_escalated,
                   SUM(CAST(is_escalated AS INT)) / SUM(CAST(is_ended_in_ivr AS INT))
                     AS ivr_to_agent_60min_rate
            FROM sql_calls
        )
        """
    )
    return statements
