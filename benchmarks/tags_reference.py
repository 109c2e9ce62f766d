"""The default tag catalogue written by hand twice, in DuckDB SQL and in pandas.

Both compute what ``touchpoint.tags.build`` computes from ``mart_customer_360``: membership
with ``since``, members / entered / left per tag and month, and the counts behind the churn and
complaint lifts. The rules are transcribed by hand from ``catalogue.yaml`` (its parameters
substituted), so the comparison checks the rule compiler as well as the speed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# tag id -> SQL condition over mart_customer_360 (default catalogue, parameters substituted).
RULES_SQL = {
    "vip_diamond": "value_tier = 'diamond'",
    "vip_gold": "value_tier = 'gold'",
    "vip_silver": "value_tier = 'silver'",
    "group_key_person": "is_group_key_person",
    "sensitive_customer": "n_complaints_3m >= 2",
    "suggestion_customer": "n_surveys_dissatisfied_3m >= 2 AND n_surveys_dissatisfied_3m >= 0.5 * n_surveys_replied_3m",
    "new_business_lover": "n_orders_subscribe_3m >= 2",
    "family_business_customer": "is_family_plan OR n_family_or_group_orders_3m > 0",
    "e_channel_preference": "n_contacts_3m_web + n_contacts_3m_kiosk + n_contacts_3m_app >= 1",
    "negative_value_customer": "net_contribution_yuan < 0",
    "identity_customer": "is_identity_customer",
    "store_payment_lover": "pref_level_payment_store >= 3",
    "hotline_agent_lover": "pref_level_agent >= 3",
    "new_subscriber": "is_new_subscriber",
}


def sql_statements() -> list[str]:
    """Statements creating sql_tag_membership, sql_tag_changes and sql_tag_lift_counts."""
    flags = ",\n".join(f'  coalesce({rule}, false) AS "{tag}"' for tag, rule in RULES_SQL.items())
    unpivot = "\nUNION ALL\n".join(
        f"SELECT customer_id, month, '{tag}' AS tag_id FROM sql_tag_flags WHERE \"{tag}\""
        for tag in RULES_SQL
    )
    tags = ", ".join(f"('{tag}')" for tag in RULES_SQL)
    outcome_union = " UNION ALL ".join(
        f"SELECT '{tag}' AS tag_id, customer_id, \"{tag}\" AS member, churn_next_month, "
        "complaint_next_month "
        "FROM o"
        for tag in RULES_SQL
    )
    return [
        f"CREATE OR REPLACE TABLE sql_tag_flags AS SELECT customer_id, month, leave_date,\n{flags}\n"
        "FROM mart_customer_360",
        f"""CREATE OR REPLACE TABLE sql_tag_membership AS
WITH long AS ({unpivot}),
runs AS (
  SELECT *, (year(month) * 12 + month(month))
            - row_number() OVER (PARTITION BY customer_id, tag_id ORDER BY month) AS run
  FROM long)
SELECT customer_id, tag_id, 1::BIGINT AS version, month,
       min(month) OVER (PARTITION BY customer_id, tag_id, run) AS since
FROM runs""",
        f"""CREATE OR REPLACE TABLE sql_tag_changes AS
WITH months AS (SELECT DISTINCT month FROM mart_customer_360),
tags(tag_id) AS (VALUES {tags}),
counted AS (
  SELECT tag_id, month, count(*) AS n_members, count(*) FILTER (WHERE since = month) AS n_entered
  FROM sql_tag_membership GROUP BY ALL),
dense AS (
  SELECT t.tag_id, m.month, coalesce(c.n_members, 0) AS n_members,
         coalesce(c.n_entered, 0) AS n_entered
  FROM months m CROSS JOIN tags t LEFT JOIN counted c USING (tag_id, month)),
lagged AS (
  SELECT *, lag(n_members) OVER (PARTITION BY tag_id ORDER BY month) AS previous FROM dense)
SELECT tag_id, 1::BIGINT AS version, month, n_members,
       CASE WHEN previous IS NULL THEN NULL ELSE n_entered END AS n_entered,
       previous - n_members + n_entered AS n_left
FROM lagged""",
        f"""CREATE OR REPLACE TABLE sql_tag_lift_counts AS
WITH last AS (SELECT max(month) AS last_month FROM mart_customer_360),
nxt AS (SELECT customer_id, (month - INTERVAL 1 MONTH)::DATE AS month, n_complaints
        FROM mart_customer_360),
o AS (
  SELECT f.*,
    CASE WHEN f.month < l.last_month THEN coalesce(f.leave_date >= f.month + INTERVAL 1 MONTH
         AND f.leave_date < f.month + INTERVAL 2 MONTH, false) END AS churn_next_month,
    CASE WHEN f.month < l.last_month THEN coalesce(n.n_complaints, 0) > 0 END AS complaint_next_month
  FROM sql_tag_flags f CROSS JOIN last l LEFT JOIN nxt n USING (customer_id, month)),
long AS ({outcome_union}),
per_customer AS (
  SELECT tag_id, outcome, customer_id, member, count(*) AS m, count(*) FILTER (WHERE value) AS e
  FROM (UNPIVOT long ON churn_next_month, complaint_next_month INTO NAME outcome VALUE value)
  GROUP BY ALL)
SELECT tag_id, outcome,
  coalesce(sum(m) FILTER (WHERE member), 0) AS n_members,
  coalesce(sum(e) FILTER (WHERE member), 0) AS n_member_events,
  coalesce(sum(m) FILTER (WHERE NOT member), 0) AS n_nonmembers,
  coalesce(sum(e) FILTER (WHERE NOT member), 0) AS n_nonmember_events,
  count(*) FILTER (WHERE member) AS member_n_customers,
  coalesce(sum(e * e) FILTER (WHERE member), 0) AS member_events_sq,
  coalesce(sum(e * m) FILTER (WHERE member), 0) AS member_events_x_months,
  coalesce(sum(m * m) FILTER (WHERE member), 0) AS member_months_sq,
  count(*) FILTER (WHERE NOT member) AS nonmember_n_customers,
  coalesce(sum(e * e) FILTER (WHERE NOT member), 0) AS nonmember_events_sq,
  coalesce(sum(e * m) FILTER (WHERE NOT member), 0) AS nonmember_events_x_months,
  coalesce(sum(m * m) FILTER (WHERE NOT member), 0) AS nonmember_months_sq
FROM per_customer
GROUP BY ALL""",
    ]


def pandas_masks(df: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "vip_diamond": df.value_tier == "diamond",
        "vip_gold": df.value_tier == "gold",
        "vip_silver": df.value_tier == "silver",
        "group_key_person": df.is_group_key_person.fillna(False).astype(bool),
        "sensitive_customer": df.n_complaints_3m >= 2,
        "suggestion_customer": (df.n_surveys_dissatisfied_3m >= 2)
        & (df.n_surveys_dissatisfied_3m >= 0.5 * df.n_surveys_replied_3m),
        "new_business_lover": df.n_orders_subscribe_3m >= 2,
        "family_business_customer": df.is_family_plan.fillna(False).astype(bool)
        | (df.n_family_or_group_orders_3m > 0),
        "e_channel_preference": df.n_contacts_3m_web + df.n_contacts_3m_kiosk + df.n_contacts_3m_app
        >= 1,
        "negative_value_customer": df.net_contribution_yuan < 0,
        "identity_customer": df.is_identity_customer.fillna(False).astype(bool),
        "store_payment_lover": df.pref_level_payment_store >= 3,
        "hotline_agent_lover": df.pref_level_agent >= 3,
        "new_subscriber": df.is_new_subscriber.fillna(False).astype(bool),
    }


def pandas_tags(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Membership (with since), changes and lift counts of the default catalogue in pandas."""
    masks = pandas_masks(df)
    month_index = df.month.dt.year * 12 + df.month.dt.month
    parts = []
    for tag, mask in masks.items():
        part = df.loc[mask, ["customer_id", "month"]].copy()
        part["tag_id"] = tag
        part["_mi"] = month_index[mask]
        parts.append(part)
    m = pd.concat(parts, ignore_index=True).sort_values(["customer_id", "tag_id", "month"])
    m["_run"] = m._mi - m.groupby(["customer_id", "tag_id"]).cumcount()
    m["since"] = m.groupby(["customer_id", "tag_id", "_run"]).month.transform("min")
    membership = m.drop(columns=["_mi", "_run"]).assign(version=1)

    months = np.sort(df.month.unique())
    counted = (
        membership.assign(entered=membership.since == membership.month)
        .groupby(["tag_id", "month"])
        .agg(n_members=("customer_id", "size"), n_entered=("entered", "sum"))
    )
    index = pd.MultiIndex.from_product([list(masks), months], names=["tag_id", "month"])
    changes = counted.reindex(index, fill_value=0).reset_index()
    previous = changes.groupby("tag_id").n_members.shift()
    changes["n_left"] = previous - changes.n_members + changes.n_entered
    changes.loc[previous.isna(), "n_entered"] = np.nan

    last = df.month.max()
    nxt = df[["customer_id", "month", "n_complaints"]].copy()
    nxt["month"] = nxt.month - pd.DateOffset(months=1)
    o = df[["customer_id", "month", "leave_date"]].merge(
        nxt, on=["customer_id", "month"], how="left"
    )
    has_next = o.month < last
    start, end = o.month + pd.DateOffset(months=1), o.month + pd.DateOffset(months=2)
    leave = pd.to_datetime(o.leave_date)
    outcomes = {
        "churn_next_month": ((leave >= start) & (leave < end)).where(has_next),
        "complaint_next_month": (o.n_complaints.fillna(0) > 0).where(has_next),
    }
    rows = []
    customer = df.customer_id.to_numpy()
    for name, value in outcomes.items():
        known = value.notna().to_numpy()
        event = value.fillna(False).astype(bool).to_numpy()
        # Per customer, for every tag at once: months and events as member and as non-member.
        cells = {}
        for tag, mask in masks.items():
            member = mask.to_numpy()
            for side, on in (("member", member), ("nonmember", ~member)):
                cells[(tag, side, "m")] = on & known
                cells[(tag, side, "e")] = on & event
        per = pd.DataFrame(cells, index=customer).groupby(level=0).sum()
        for tag in masks:
            row = {"tag_id": tag, "outcome": name}
            for side, count, events in (
                ("member", "n_members", "n_member_events"),
                ("nonmember", "n_nonmembers", "n_nonmember_events"),
            ):
                m, e = per[(tag, side, "m")].to_numpy(), per[(tag, side, "e")].to_numpy()
                row[count], row[events] = int(m.sum()), int(e.sum())
                row[f"{side}_n_customers"] = int((m > 0).sum())
                row[f"{side}_events_sq"] = int((e * e).sum())
                row[f"{side}_events_x_months"] = int((e * m).sum())
                row[f"{side}_months_sq"] = int((m * m).sum())
            rows.append(row)
    return {"membership": membership, "changes": changes, "lift_counts": pd.DataFrame(rows)}
