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
PERIOD_STEP = {"day": "1 day", "week": "7 days"}
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

_DIMENSION_OF = (
    "CASE WHEN GROUPING(region) = 0 THEN 'region' WHEN GROUPING(brand) = 0 THEN 'brand' "
    "WHEN GROUPING(value_tier) = 0 THEN 'value_tier' WHEN GROUPING(business) = 0 THEN 'business' "
    "ELSE 'all' END"
)
_VALUE_OF = "COALESCE(region, brand, value_tier, business, 'all')"


def _sets(*leading: str) -> str:
    keys = ", ".join(leading)
    return ", ".join(
        f"({keys}{', ' + d if d else ''})"
        for d in ("", "region", "brand", "value_tier", "business")
    )


def _sql_kpis(period: str, unknown: str) -> str:
    trunc = f"CAST(date_trunc('{period}', {{}}) AS DATE)"
    step = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH"}[period]
    return f"""
    WITH activity AS (
        SELECT {trunc.format("k.started_at")} AS p, k.customer_id, k.channel, k.business,
               COALESCE(NULLIF(k.region, ''), '{unknown}') AS region,
               COALESCE(u.brand, '{unknown}') AS brand,
               COALESCE(u.value_tier, '{unknown}') AS value_tier
        FROM stg_contacts k LEFT JOIN stg_customers u USING (customer_id)
    ),
    vol AS (
        SELECT p, channel, {_DIMENSION_OF} AS dimension, {_VALUE_OF} AS dimension_value,
               bool_or(is_self_service) AS is_self_service, SUM(n_contacts) AS n_contacts,
               SUM(cost_yuan) AS cost_yuan, SUM(n_repeated_contacts) AS n_repeated_contacts,
               SUM(n_first_contact_resolved) AS n_first_contact_resolved
        FROM (SELECT *, {trunc.format("contact_date")} AS p FROM sql_volume_daily)
        GROUP BY GROUPING SETS ({_sets("p", "channel")})
    ),
    customers AS (
        SELECT p, channel, {_DIMENSION_OF} AS dimension, {_VALUE_OF} AS dimension_value,
               COUNT(DISTINCT customer_id) AS n_customers
        FROM activity GROUP BY GROUPING SETS ({_sets("p", "channel")})
    ),
    reach AS (
        SELECT p, {_DIMENSION_OF} AS dimension, {_VALUE_OF} AS dimension_value,
               COUNT(DISTINCT customer_id) AS group_n_customers
        FROM activity GROUP BY GROUPING SETS ({_sets("p")})
    ),
    k AS (
        SELECT vol.*, customers.n_customers, reach.group_n_customers,
               lag(p) OVER h + {step} = p AS is_adjacent,
               lag(n_contacts) OVER h AS prev_contacts,
               lag(n_customers) OVER h AS prev_customers, lag(cost_yuan) OVER h AS prev_cost
        FROM vol
        JOIN customers USING (p, channel, dimension, dimension_value)
        JOIN reach USING (p, dimension, dimension_value)
        WINDOW h AS (PARTITION BY dimension, dimension_value, channel ORDER BY p)
    )
    SELECT '{period}' AS period, p AS period_start, dimension, dimension_value, channel,
           is_self_service, n_contacts, n_customers,
           n_contacts / n_customers AS contacts_per_customer,
           n_contacts / SUM(n_contacts) OVER g AS contact_share,
           n_customers / group_n_customers AS customer_share, cost_yuan,
           SUM(CASE WHEN is_self_service THEN n_contacts ELSE 0 END) OVER g
             / SUM(n_contacts) OVER g AS self_service_share,
           n_repeated_contacts, n_repeated_contacts / n_contacts AS repeat_contact_rate,
           n_first_contact_resolved, n_first_contact_resolved / n_contacts
             AS first_contact_resolution_rate,
           CASE WHEN is_adjacent THEN prev_contacts END AS n_contacts_previous,
           CASE WHEN is_adjacent THEN n_contacts / prev_contacts - 1 END AS n_contacts_change_rate,
           CASE WHEN is_adjacent THEN n_customers / prev_customers - 1 END
             AS n_customers_change_rate,
           CASE WHEN is_adjacent THEN cost_yuan / prev_cost - 1 END AS cost_change_rate
    FROM k
    WINDOW g AS (PARTITION BY p, dimension, dimension_value)
    """


def sql_statements(config: Config, settings: ChannelsSettings | None = None) -> list[str]:
    """The hand-written DuckDB SQL: ``sql_*`` tables from the ``stg_*`` tables.

    The same plan a SQL writer would choose for this size: two small daily cubes hold the
    additive figures (so the repeat and escalation joins run once), GROUPING SETS and
    COUNT(DISTINCT) give the KPI tables.
    """
    s = settings or ChannelsSettings()
    costs = ", ".join(
        f"('{ch.id}', {ch.cost_per_contact_yuan}, {str(ch.is_self_service).lower()})"
        for ch in config.channels
    )
    statements = [
        f"""
        CREATE OR REPLACE TABLE sql_volume_daily AS
        WITH costs(channel, cost_per_contact_yuan, is_self_service) AS (VALUES {costs}),
        rep AS (
            SELECT a.contact_id
            FROM stg_contacts a JOIN stg_contacts b
              ON a.customer_id = b.customer_id AND a.business = b.business
             AND b.started_at > a.started_at
             AND b.started_at <= a.ended_at + INTERVAL {s.repeat_window_seconds} SECOND
            WHERE NOT COALESCE(NULLIF(a.call_id, '') = NULLIF(b.call_id, ''), false)
            GROUP BY a.contact_id
        ),
        c AS (
            SELECT CAST(k.started_at AS DATE) AS contact_date, k.channel, k.business,
                   COALESCE(NULLIF(k.region, ''), '{s.unknown_label}') AS region,
                   COALESCE(u.brand, '{s.unknown_label}') AS brand,
                   COALESCE(u.value_tier, '{s.unknown_label}') AS value_tier,
                   costs.cost_per_contact_yuan,
                   COALESCE(costs.is_self_service, false) AS is_self_service,
                   rep.contact_id IS NOT NULL AS has_repeat,
                   k.outcome = '{s.resolved_outcome}' AND rep.contact_id IS NULL
                     AS is_first_contact_resolved
            FROM stg_contacts k
            LEFT JOIN rep USING (contact_id)
            LEFT JOIN stg_customers u USING (customer_id)
            LEFT JOIN costs USING (channel)
        )
        SELECT contact_date, channel, region, brand, value_tier, business,
               bool_or(is_self_service) AS is_self_service, COUNT(*) AS n_contacts,
               SUM(cost_per_contact_yuan) AS cost_yuan,
               SUM(CAST(has_repeat AS INT)) AS n_repeated_contacts,
               SUM(CAST(is_first_contact_resolved AS INT)) AS n_first_contact_resolved
        FROM c GROUP BY ALL
        """,
        f"""
        CREATE OR REPLACE TABLE sql_calls_daily AS
        WITH last AS (
            SELECT call_id, arg_max(event_type, seq) AS last_event_type,
                   arg_max(node_id, seq) AS last_node_id
            FROM stg_ivr_events GROUP BY call_id
        ),
        calls AS (
            SELECT c.contact_id, c.customer_id, c.ended_at, CAST(c.started_at AS DATE) AS call_date,
                   COALESCE(NULLIF(c.region, ''), '{s.unknown_label}') AS region, c.business,
                   COALESCE(l.last_node_id, '{s.unknown_label}') AS last_node_id,
                   l.last_event_type <> '{s.transfer_event_type}' AS is_ended_in_ivr
            FROM stg_contacts c LEFT JOIN last l ON NULLIF(c.call_id, '') = l.call_id
            WHERE c.channel = '{s.ivr_channel}'
        ),
        esc AS (
            SELECT DISTINCT a.contact_id
            FROM calls a JOIN stg_contacts g
              ON g.customer_id = a.customer_id AND g.started_at > a.ended_at
             AND g.started_at <= a.ended_at + INTERVAL {s.escalation_window_minutes} MINUTE
            WHERE a.is_ended_in_ivr AND g.channel = '{s.agent_channel}'
        )
        SELECT call_date, region, business, last_node_id, is_ended_in_ivr, COUNT(*) AS n_calls,
               COUNT(esc.contact_id) AS n_escalated
        FROM calls LEFT JOIN esc USING (contact_id) GROUP BY ALL
        """,
    ]
    for period, name in KPI_TABLES.items():
        statements.append(
            f"CREATE OR REPLACE TABLE sql_{name} AS {_sql_kpis(period, s.unknown_label)}"
        )
    statements += [
        """
        CREATE OR REPLACE TABLE sql_totals AS
        SELECT channel, n_contacts, n_customers, cost_yuan,
               n_contacts / SUM(n_contacts) OVER () AS contact_share
        FROM (SELECT channel, SUM(n_contacts) AS n_contacts, SUM(cost_yuan) AS cost_yuan
              FROM sql_volume_daily GROUP BY channel)
        JOIN (SELECT channel, COUNT(DISTINCT customer_id) AS n_customers
              FROM stg_contacts GROUP BY channel) USING (channel)
        """,
        """
        CREATE OR REPLACE TABLE sql_repeats AS
        SELECT channel, business, SUM(n_contacts) AS n_contacts,
               SUM(n_repeated_contacts) AS n_repeated_contacts,
               SUM(n_first_contact_resolved) AS n_first_contact_resolved,
               SUM(n_repeated_contacts) / SUM(n_contacts) AS repeat_contact_rate
        FROM sql_volume_daily GROUP BY channel, business
        """,
    ]
    for by in ("region", "business", "last_node_id"):
        statements.append(
            f"""
            CREATE OR REPLACE TABLE sql_escalation_by_{by} AS
            SELECT {by}, SUM(n_calls) AS n_calls_ended_in_ivr, SUM(n_escalated) AS n_escalated,
                   SUM(n_escalated) / SUM(n_calls) AS ivr_to_agent_60min_rate
            FROM sql_calls_daily WHERE is_ended_in_ivr GROUP BY {by}
            """
        )
    statements.append(
        f"""
        CREATE OR REPLACE TABLE sql_kpis AS
        SELECT * FROM (
            SELECT SUM(n_contacts) AS n_contacts, SUM(cost_yuan) AS cost_yuan,
                   SUM(n_repeated_contacts) / SUM(n_contacts) AS repeat_contact_rate,
                   SUM(n_first_contact_resolved) / SUM(n_contacts)
                     AS first_contact_resolution_rate
            FROM sql_volume_daily
        ) CROSS JOIN (
            SELECT COUNT(DISTINCT customer_id) AS n_customers FROM stg_contacts
        ) CROSS JOIN (
            SELECT COUNT(*) AS n_hotline_calls,
                   COUNT(DISTINCT (customer_id, CAST(started_at AS DATE)))
                     AS n_dialling_customer_days,
                   COUNT(*) / COUNT(DISTINCT (customer_id, CAST(started_at AS DATE)))
                     AS calls_per_dialling_customer_per_day
            FROM stg_contacts WHERE channel = '{s.ivr_channel}'
        ) CROSS JOIN (
            SELECT SUM(n_calls) AS n_calls_ended_in_ivr, SUM(n_escalated) AS n_escalated,
                   SUM(n_escalated) / SUM(n_calls) AS ivr_to_agent_60min_rate
            FROM sql_calls_daily WHERE is_ended_in_ivr
        )
        """
    )
    return statements
