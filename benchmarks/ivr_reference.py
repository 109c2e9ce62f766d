"""The IVR benchmark's reference versions: straightforward pandas and hand-written DuckDB SQL.

Both compute every column of Touchpoint's ``mart_ivr_node_stats`` and the figures of
``mart_ivr_containment``, by the definitions of docs/metrics.md: per node events, visits,
calls, distinct callers, loops, mean and median dwell, timeouts, invalid keys, back-key
presses, repeated prompts, back-track entries, wrong turns and exits by kind; plain and
verified containment and mean self-service seconds overall, by business and by region. A test
(tests/ivr/test_ivr_reference_agreement.py) checks that the three agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EXITS = {
    "self_service_complete": "self_service_complete",
    "hang_up": "hang_up",
    "transfer_agent": "transfer_agent",
    "timeout": "timeout",
    "invalid": "invalid",
}
WINDOW_HOURS = 24
BACK_KEY = "*"


def sql_statements() -> list[str]:
    """Two ``CREATE TABLE`` statements: ``sql_ivr_node_stats`` and ``sql_ivr_containment``."""
    exit_columns = ",\n".join(
        f"  count(*) FILTER (WHERE is_last AND event_type = '{t}') AS n_exits_{k}"
        for t, k in EXITS.items()
    )
    known = ", ".join(f"'{t}'" for t in EXITS)
    nodes = f"""
CREATE OR REPLACE TABLE sql_ivr_node_stats AS
WITH e AS (
  SELECT call_id, seq, customer_id, event_at, node_id, event_type, nullif(key, '') AS key,
         lag(node_id) OVER w AS prev_node_id,
         lag(event_type) OVER w AS prev_event_type,
         lag(nullif(key, '')) OVER w AS prev_key,
         lead(node_id) OVER w IS NULL AS is_last,
         max(event_at) OVER (PARTITION BY call_id) AS call_ended_at
  FROM stg_ivr_events
  WINDOW w AS (PARTITION BY call_id ORDER BY seq)
), v AS (
  SELECT node_id, call_id, customer_id, prev_key AS entry_key,
         lead(prev_key) OVER w AS exit_key,
         lead(prev_key, 2) OVER w AS next_exit_key,
         date_diff('microsecond', event_at,
                   coalesce(lead(event_at) OVER w, call_ended_at)) / 1e6 AS dwell_seconds
  FROM e WHERE prev_node_id IS DISTINCT FROM node_id
  WINDOW w AS (PARTITION BY call_id ORDER BY seq)
), visit_stats AS (
  SELECT node_id, count(*) AS n_visits, count(DISTINCT call_id) AS n_calls,
         count(DISTINCT customer_id) AS n_callers,
         count(*) FILTER (WHERE entry_key = '{BACK_KEY}') AS n_backtrack_entries,
         count(*) FILTER (WHERE exit_key IS DISTINCT FROM '{BACK_KEY}'
                            AND next_exit_key = '{BACK_KEY}') AS n_wrong_turns,
         avg(dwell_seconds) AS mean_dwell_seconds,
         median(dwell_seconds) AS median_dwell_seconds
  FROM v GROUP BY node_id
), event_stats AS (
  SELECT node_id, count(*) AS n_events,
  count(*) FILTER (WHERE event_type = 'timeout') AS n_timeouts,
  count(*) FILTER (WHERE event_type = 'invalid') AS n_invalid_keys,
  count(*) FILTER (WHERE event_type = 'key' AND key = '{BACK_KEY}') AS n_backtracks,
  count(*) FILTER (WHERE event_type = 'prompt' AND prev_node_id = node_id
                     AND prev_event_type <> 'call_start') AS n_repeated_prompts,
{exit_columns},
  count(*) FILTER (WHERE is_last AND event_type NOT IN ({known})) AS n_exits_other
  FROM e GROUP BY node_id
)
SELECT *, n_visits - n_calls AS n_loops FROM visit_stats FULL JOIN event_stats USING (node_id)
"""
    containment = f"""
CREATE OR REPLACE TABLE sql_ivr_containment AS
WITH j AS (
  SELECT call_id, min(event_at) AS first_at, max(event_at) AS last_at,
         arg_max(event_type, seq) AS last_type
  FROM stg_ivr_events GROUP BY call_id
), calls AS (
  SELECT c.contact_id, c.customer_id, c.business, c.ended_at, c.call_id,
         coalesce(nullif(c.region, ''), 'unknown') AS region, j.last_type,
         date_diff('microsecond', j.first_at, j.last_at) / 1e6 AS seconds
  FROM stg_contacts c JOIN j ON c.call_id = j.call_id
  WHERE c.channel = 'ivr'
), followed AS (
  SELECT DISTINCT d.contact_id
  FROM calls d JOIN stg_contacts o
    ON o.customer_id = d.customer_id AND o.business = d.business
   AND o.started_at > d.ended_at
   AND o.started_at <= d.ended_at + INTERVAL {WINDOW_HOURS} HOUR
  WHERE d.last_type = 'self_service_complete'
    AND nullif(o.call_id, '') IS DISTINCT FROM d.call_id
), f AS (
  SELECT calls.*, last_type <> 'transfer_agent' AS contained,
         last_type = 'self_service_complete' AS completed,
         last_type = 'self_service_complete' AND followed.contact_id IS NULL AS verified
  FROM calls LEFT JOIN followed USING (contact_id)
), grouped AS (
  SELECT CASE WHEN GROUPING(business) = 0 THEN 'business'
              WHEN GROUPING(region) = 0 THEN 'region' ELSE 'all' END AS dimension,
         coalesce(business, region, 'all') AS dimension_value,
         count(*) AS n_calls, count(*) FILTER (WHERE contained) AS n_contained,
         count(*) FILTER (WHERE verified) AS n_verified,
         avg(seconds) FILTER (WHERE completed) AS mean_self_service_seconds
  FROM f GROUP BY GROUPING SETS ((), (business), (region))
)
SELECT *, n_contained / n_calls AS ivr_containment_rate,
       n_verified / n_calls AS ivr_verified_containment_rate
FROM grouped
"""
    return [nodes, containment]


def pandas_ivr(data_dir: Path) -> dict[str, pd.DataFrame]:
    """The same two tables with pandas, from ``ivr_events.parquet`` and ``contacts.parquet``."""
    e = pd.read_parquet(
        data_dir / "ivr_events.parquet",
        columns=["call_id", "seq", "customer_id", "event_at", "node_id", "event_type", "key"],
    )
    e = e.sort_values(["call_id", "seq"], kind="stable").reset_index(drop=True)
    e["key"] = e["key"].replace("", np.nan)
    same_call_prev = e["call_id"].eq(e["call_id"].shift())
    same_call_next = e["call_id"].eq(e["call_id"].shift(-1))
    e["is_last"] = ~same_call_next
    e["call_ended_at"] = e.groupby("call_id", sort=False)["event_at"].transform("max")
    prev_key = e["key"].shift().where(same_call_prev)
    same_node = same_call_prev & e["node_id"].eq(e["node_id"].shift())
    v = e.loc[~same_node, ["call_id", "customer_id", "node_id", "event_at", "call_ended_at"]]
    v = v.assign(entry_key=prev_key[~same_node])
    same_call_next_visit = v["call_id"].eq(v["call_id"].shift(-1))
    next_at = v["event_at"].shift(-1).where(same_call_next_visit)
    exit_key = v["entry_key"].shift(-1).where(same_call_next_visit)
    next_exit_key = v["entry_key"].shift(-2).where(v["call_id"].eq(v["call_id"].shift(-2)))
    v = v.assign(
        dwell_seconds=(next_at.fillna(v["call_ended_at"]) - v["event_at"]).dt.total_seconds(),
        is_backtrack_entry=v["entry_key"].eq(BACK_KEY),
        leads_to_wrong_turn=~exit_key.eq(BACK_KEY) & next_exit_key.eq(BACK_KEY),
    )
    visit_stats = v.groupby("node_id").agg(
        n_visits=("call_id", "size"),
        n_calls=("call_id", "nunique"),
        n_callers=("customer_id", "nunique"),
        n_backtrack_entries=("is_backtrack_entry", "sum"),
        n_wrong_turns=("leads_to_wrong_turn", "sum"),
        mean_dwell_seconds=("dwell_seconds", "mean"),
        median_dwell_seconds=("dwell_seconds", "median"),
    )
    visit_stats["n_loops"] = visit_stats["n_visits"] - visit_stats["n_calls"]
    prev_type = e["event_type"].shift().where(same_call_prev)
    flags = pd.DataFrame(
        {
            "node_id": e["node_id"],
            "n_events": 1,
            "n_timeouts": e["event_type"].eq("timeout"),
            "n_invalid_keys": e["event_type"].eq("invalid"),
            "n_backtracks": e["event_type"].eq("key") & e["key"].eq(BACK_KEY),
            "n_repeated_prompts": e["event_type"].eq("prompt")
            & same_node
            & prev_type.ne("call_start"),
            **{f"n_exits_{k}": e["is_last"] & e["event_type"].eq(t) for t, k in EXITS.items()},
            "n_exits_other": e["is_last"] & ~e["event_type"].isin(list(EXITS)),
        }
    )
    event_stats = flags.groupby("node_id").sum()
    nodes = visit_stats.join(event_stats, how="outer").reset_index()

    last = e[e["is_last"]].set_index("call_id")["event_type"]
    first_at = e.groupby("call_id", sort=False)["event_at"].min()
    c = pd.read_parquet(data_dir / "contacts.parquet")
    c["call_id"] = c["call_id"].replace("", np.nan)
    calls = c[c["channel"].eq("ivr") & c["call_id"].notna()].copy()
    calls["last_type"] = calls["call_id"].map(last)
    calls = calls[calls["last_type"].notna()]
    calls["seconds"] = (
        calls["call_id"].map(e[e["is_last"]].set_index("call_id")["event_at"])
        - calls["call_id"].map(first_at)
    ).dt.total_seconds()
    calls["region"] = calls["region"].replace("", np.nan).fillna("unknown")
    calls["contained"] = calls["last_type"].ne("transfer_agent")
    calls["completed"] = calls["last_type"].eq("self_service_complete")
    done = calls.loc[
        calls["completed"], ["contact_id", "customer_id", "business", "ended_at", "call_id"]
    ]
    pairs = done.merge(
        c[["customer_id", "business", "started_at", "call_id"]],
        on=["customer_id", "business"],
        suffixes=("", "_other"),
    )
    hit = (
        (pairs["started_at"] > pairs["ended_at"])
        & (pairs["started_at"] <= pairs["ended_at"] + pd.Timedelta(hours=WINDOW_HOURS))
        & pairs["call_id_other"].ne(pairs["call_id"])
    )
    followed = set(pairs.loc[hit, "contact_id"])
    calls["verified"] = calls["completed"] & ~calls["contact_id"].isin(followed)

    def summary(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "n_calls": len(frame),
                "n_contained": int(frame["contained"].sum()),
                "n_verified": int(frame["verified"].sum()),
                "mean_self_service_seconds": frame.loc[frame["completed"], "seconds"].mean(),
            }
        )

    parts = [summary(calls).to_frame().T.assign(dimension="all", dimension_value="all")]
    for by in ("business", "region"):
        grouped = calls.groupby(by)[["contained", "verified", "completed", "seconds"]]
        part = grouped.apply(summary).reset_index().rename(columns={by: "dimension_value"})
        parts.append(part.assign(dimension=by))
    containment = pd.concat(parts, ignore_index=True)
    containment["ivr_containment_rate"] = containment["n_contained"] / containment["n_calls"]
    containment["ivr_verified_containment_rate"] = (
        containment["n_verified"] / containment["n_calls"]
    )
    return {"node_stats": nodes, "containment": containment}
