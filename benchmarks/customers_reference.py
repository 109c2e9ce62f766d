"""The customer marts written by hand: DuckDB SQL and pandas, for the benchmark and to check
Touchpoint against (tests/customers/test_customers_reference_agreement.py).

Both compute what ``touchpoint.customers`` computes with the default settings:
``mart_customer_contacts_monthly``, ``mart_channel_preference`` and ``mart_customer_360``
(as ``ref_*`` tables / DataFrames). Channel lists, costs, thresholds and survey rules are read
from the configuration so the three agree; the queries themselves are written out by hand.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from touchpoint.config import Config
from touchpoint.customers import CustomersSettings

# ---------------------------------------------------------------------------------- SQL ----


def _cost_case(config: Config, column: str = "channel") -> str:
    whens = " ".join(f"WHEN '{c.id}' THEN {c.cost_per_contact_yuan}" for c in config.channels)
    return f"CASE {column} {whens} ELSE 0 END"


def _level_case(s: CustomersSettings, n: str, share: str) -> str:
    whens = " ".join(
        f"WHEN {n} >= {lv.min_contacts} AND {share} >= {lv.min_share} THEN {lv.level}"
        for lv in sorted(s.preference_levels, key=lambda lv: -lv.level)
    )
    return f"CASE {whens} ELSE 0 END"


def _idx(column: str) -> str:
    return f"(year({column}) * 12 + month({column}) - 1)"


def _preference_sql(s: CustomersSettings, keys: list[str]) -> str:
    k = ", ".join(keys)
    share_keys = ", ".join(["customer_id", *[x for x in keys if x != "channel"], "widx"])
    return f"""
        WITH e AS (
            SELECT customer_id, {k}, {_idx("month")} AS idx, n_preference_events AS n
            FROM ref_customer_contacts_monthly WHERE n_preference_events > 0
        ), hi AS (SELECT max({_idx("month")}) AS hi FROM ref_customer_contacts_monthly),
        w AS (
            SELECT customer_id, {k}, idx + o AS widx, sum(n) AS n
            FROM e, range({s.preference_window_months}) t(o), hi WHERE idx + o <= hi.hi
            GROUP BY ALL
        ), sh AS (
            SELECT *, n / sum(n) OVER (PARTITION BY {share_keys}) AS share FROM w
        )
        SELECT customer_id, make_date((widx // 12)::INT, (widx % 12 + 1)::INT, 1) AS month, {k},
               n AS n_contacts_window, share AS share_window,
               {_level_case(s, "n", "share")} AS level
        FROM sh"""


def sql_statements(config: Config, s: CustomersSettings) -> list[str]:
    """CREATE TABLE statements for ``ref_customer_contacts_monthly``,
    ``ref_channel_preference`` and ``ref_customer_360``, in order."""
    ch = config.ids("channel")
    # One aggregation over the stacked rows; each agent leg of a transferred call is stacked
    # once more as a leg of the IVR row of its customer, month and business.
    contacts_monthly = f"""
        CREATE OR REPLACE TABLE ref_customer_contacts_monthly AS
        WITH u AS (
            SELECT customer_id, date_trunc('month', started_at)::DATE AS month, business,
                   channel, 1 AS c, 0 AS p, 0 AS leg
            FROM stg_contacts
            UNION ALL
            SELECT customer_id, date_trunc('month', started_at)::DATE, business,
                   '{s.ivr_channel}', 0, 0, 1
            FROM stg_contacts WHERE channel = '{s.agent_channel}' AND call_id <> ''
            UNION ALL
            SELECT customer_id, date_trunc('month', paid_at)::DATE, '{s.payment_business}',
                   channel, 0, 1, 0
            FROM stg_payments
        ), g AS (
            SELECT customer_id, month, business, channel, sum(c)::BIGINT AS n_contacts,
                   sum(p)::BIGINT AS n_payments, sum(leg) AS legs
            FROM u GROUP BY ALL HAVING sum(c) + sum(p) > 0
        )
        SELECT customer_id, month, business, channel, n_contacts, n_payments,
               (n_contacts + n_payments - CASE WHEN channel = '{s.ivr_channel}'
                   THEN least(legs, n_contacts) ELSE 0 END)::BIGINT AS n_preference_events,
               n_contacts * {_cost_case(config)} AS cost_yuan
        FROM g"""
    preference = "CREATE OR REPLACE TABLE ref_channel_preference AS" + _preference_sql(
        s, ["business", "channel"]
    )
    rules = " ".join(
        f"WHEN regexp_matches(norm, '{r.pattern.replace(chr(39), chr(39) * 2)}') THEN '{r.klass}'"
        for r in s.survey_rules
    )
    scores = " ".join(f"WHEN '{k}' THEN {v}" for k, v in s.survey_classes.items())
    per_ch = lambda tpl: ",\n".join(tpl.format(c=c) for c in ch)  # noqa: E731
    prefixes = " OR ".join(
        f"lower(product_id) LIKE '{p.lower()}%'" for p in s.family_or_group_product_prefixes
    )
    # Cost to serve: each channel's contacts times its cost, added in the configuration's
    # channel order (the same float whatever order the rows come in).
    costs = {c.id: float(c.cost_per_contact_yuan) for c in config.channels}
    cost_terms = " ".join(
        f"+ coalesce(cm.n_contacts_{c}, 0) * {costs[c]!r}::DOUBLE" for c in ch if c in costs
    )
    t = s.contribution_tiers.cut_points
    identity_flags = " OR ".join(s.identity.any_flag) or "false"
    if s.identity.value_tiers:
        tiers = ", ".join(f"'{x}'" for x in s.identity.value_tiers)
        identity_flags += f" OR value_tier IN ({tiers})"
    # The spine carries only keys; per-month tables join it on the month index; the 3-month
    # sums are ROWS frames (a customer's months in the network are consecutive) over that
    # narrow table; the profile joins last. The overall levels are pivoted from
    # ref_channel_preference in one pass, the payment levels from its payment rows.
    c360 = f"""
        CREATE OR REPLACE TABLE ref_customer_360 AS
        WITH b AS (
            SELECT min(i) AS lo, max(i) AS hi FROM (
                SELECT {_idx("month")} AS i FROM ref_customer_contacts_monthly
                UNION ALL SELECT {_idx("bill_month")} FROM stg_bills
                UNION ALL SELECT {_idx("created_at")} FROM stg_complaints
                UNION ALL SELECT {_idx("sent_at")} FROM stg_surveys
                UNION ALL SELECT {_idx("ordered_at")} FROM stg_orders)
        ), months AS (
            SELECT r AS idx, make_date((r // 12)::INT, (r % 12 + 1)::INT, 1) AS month,
                   make_date(((r + 1) // 12)::INT, ((r + 1) % 12 + 1)::INT, 1) AS next_month
            FROM b, range(b.lo, b.hi + 1) t(r)
        ), spine AS (
            SELECT c.customer_id, m.idx
            FROM stg_customers c JOIN months m
              ON c.join_date < m.next_month AND (c.leave_date IS NULL OR c.leave_date >= m.month)
        ), bills AS (
            SELECT customer_id, {_idx("bill_month")} AS idx,
                   sum(arpu_yuan) AS arpu_yuan, max(points) AS points,
                   sum(arrears_yuan) AS arrears_yuan, sum(voice_minutes) AS voice_minutes,
                   sum(data_mb) AS data_mb, sum(sms_count)::BIGINT AS sms_count
            FROM stg_bills GROUP BY ALL
        ), cm AS (
            SELECT customer_id, {_idx("month")} AS idx, sum(n_contacts) AS n_contacts,
                   sum(n_payments) AS n_payments,
                   {per_ch("sum(n_contacts) FILTER (WHERE channel = '{c}') AS n_contacts_{c}")},
                   {per_ch("sum(n_payments) FILTER (WHERE channel = '{c}') AS n_payments_{c}")}
            FROM ref_customer_contacts_monthly GROUP BY ALL
        ), o AS (
            SELECT customer_id, {_idx("ordered_at")} AS idx,
                   count(*) FILTER (WHERE action = '{s.subscribe_action}') AS n_sub,
                   count(*) FILTER (WHERE action = '{s.subscribe_action}' AND ({prefixes})) AS n_fam
            FROM stg_orders GROUP BY ALL
        ), k AS (
            SELECT customer_id, {_idx("created_at")} AS idx, count(*) AS n_k
            FROM stg_complaints GROUP BY ALL
        ), sv AS (
            SELECT customer_id, idx, count(*) FILTER (WHERE replied) AS n_rep,
                   count(*) FILTER (WHERE cls = '{s.dissatisfied_class}') AS n_dis,
                   count(cls) AS n_cls, coalesce(sum(CASE cls {scores} END), 0) AS score_sum
            FROM (
                SELECT customer_id, {_idx("sent_at")} AS idx,
                       replied_at IS NOT NULL AS replied,
                       CASE WHEN replied_at IS NULL THEN NULL ELSE CASE {rules} END END AS cls
                FROM (SELECT *, regexp_replace(lower(reply_text), '\\s+', '', 'g') AS norm
                      FROM stg_surveys))
            GROUP BY ALL
        ), lv0 AS (
            SELECT customer_id, {_idx("month")} AS idx, sum(n_contacts_window) AS n_all,
                   {per_ch("sum(n_contacts_window) FILTER (WHERE channel = '{c}') AS n_{c}")}
            FROM ref_channel_preference GROUP BY ALL
        ), lv AS (
            SELECT customer_id, idx,
                   {per_ch("CASE WHEN n_{c} > 0 THEN " + _level_case(s, "n_{c}", "n_{c} / n_all") + " ELSE 0 END AS pref_level_{c}")}
            FROM lv0
        ), lp AS (
            SELECT customer_id, {_idx("month")} AS idx,
                   {per_ch("max(level) FILTER (WHERE channel = '{c}') AS pref_level_payment_{c}")}
            FROM ref_channel_preference WHERE business = '{s.payment_business}' GROUP BY ALL
        ), j AS (
            SELECT s.customer_id, s.idx, bills.* EXCLUDE (customer_id, idx),
                   coalesce(cm.n_contacts, 0)::BIGINT AS n_contacts,
                   coalesce(cm.n_payments, 0)::BIGINT AS n_payments,
                   {per_ch("coalesce(cm.n_contacts_{c}, 0)::BIGINT AS n_contacts_{c}")},
                   {per_ch("coalesce(cm.n_payments_{c}, 0)::BIGINT AS n_payments_{c}")},
                   0.0::DOUBLE {cost_terms} AS cost_to_serve_yuan,
                   coalesce(o.n_sub, 0) AS n_sub, coalesce(o.n_fam, 0) AS n_fam,
                   coalesce(k.n_k, 0)::BIGINT AS n_complaints,
                   coalesce(sv.n_rep, 0) AS n_rep, coalesce(sv.n_dis, 0) AS n_dis,
                   coalesce(sv.n_cls, 0) AS n_cls, coalesce(sv.score_sum, 0) AS score_sum
            FROM spine s
            LEFT JOIN bills USING (customer_id, idx) LEFT JOIN cm USING (customer_id, idx)
            LEFT JOIN o USING (customer_id, idx) LEFT JOIN k USING (customer_id, idx)
            LEFT JOIN sv USING (customer_id, idx)
        ), w AS (
            SELECT customer_id, idx, arpu_yuan,
                   avg(arpu_yuan) OVER w3 AS arpu_3m_avg_yuan,
                   arpu_yuan - avg(arpu_yuan) OVER wb AS arpu_trend_3m,
                   points, arrears_yuan, voice_minutes, data_mb, sms_count, n_contacts,
                   {per_ch("n_contacts_{c}")},
                   {per_ch("(sum(n_contacts_{c}) OVER w3)::BIGINT AS n_contacts_3m_{c}")},
                   n_payments,
                   {per_ch("n_payments_{c}")},
                   {per_ch("(sum(n_payments_{c}) OVER w3)::BIGINT AS n_payments_3m_{c}")},
                   (sum(n_sub) OVER w3)::BIGINT AS n_orders_subscribe_3m,
                   (sum(n_fam) OVER w3)::BIGINT AS n_family_or_group_orders_3m,
                   n_complaints, (sum(n_complaints) OVER w3)::BIGINT AS n_complaints_3m,
                   (sum(n_rep) OVER w3)::BIGINT AS n_surveys_replied_3m,
                   (sum(n_dis) OVER w3)::BIGINT AS n_surveys_dissatisfied_3m,
                   CASE WHEN sum(n_cls) OVER w3 > 0
                        THEN sum(score_sum) OVER w3 / sum(n_cls) OVER w3 END
                       AS satisfaction_score_3m,
                   cost_to_serve_yuan, arpu_yuan - cost_to_serve_yuan AS net_contribution_yuan
            FROM j
            WINDOW w3 AS (PARTITION BY customer_id ORDER BY idx ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
                   wb AS (PARTITION BY customer_id ORDER BY idx ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)
        ), x AS (
            SELECT w.customer_id,
                   make_date((w.idx // 12)::INT, (w.idx % 12 + 1)::INT, 1) AS month,
                   c.brand, c.value_tier, c.region, c.plan_id, c.join_date, c.leave_date,
                   greatest(w.idx - {_idx("c.join_date")}, 0)::BIGINT AS tenure_months,
                   w.idx - {_idx("c.join_date")} < {s.new_subscriber_months} AS is_new_subscriber,
                   coalesce({_idx("c.leave_date")} = w.idx, false) AS has_left_in_month,
                   (w.idx // 12 - c.birth_year)::BIGINT AS age_years,
                   coalesce(c.is_group_key_person, false) AS is_group_key_person,
                   coalesce(c.is_family_plan, false) AS is_family_plan,
                   w.* EXCLUDE (customer_id, idx),
                   {per_ch("coalesce(lv.pref_level_{c}, 0)::BIGINT AS pref_level_{c}")},
                   {per_ch("coalesce(lp.pref_level_payment_{c}, 0)::BIGINT AS pref_level_payment_{c}")}
            FROM w JOIN stg_customers c USING (customer_id)
            LEFT JOIN lv USING (customer_id, idx) LEFT JOIN lp USING (customer_id, idx)
        )
        SELECT *,
               CASE WHEN net_contribution_yuan IS NULL THEN NULL
                    WHEN net_contribution_yuan >= {t[0]} THEN 1
                    WHEN net_contribution_yuan >= {t[1]} THEN 2
                    WHEN net_contribution_yuan >= {t[2]} THEN 3
                    WHEN net_contribution_yuan >= {t[3]} THEN 4 ELSE 5 END::BIGINT
                   AS contribution_tier,
               coalesce(points < {s.identity.max_points} AND ({identity_flags}), false)
                   AS is_identity_customer
        FROM x"""
    assert s.contribution_tiers.method == "yuan", "the reference implements yuan cut points"
    return [contacts_monthly, preference, c360]


# ------------------------------------------------------------------------------- pandas ----


def _month(values: pd.Series) -> pd.Series:
    return values.dt.to_period("M").dt.to_timestamp()


def _month_idx(values: pd.Series) -> pd.Series:
    return values.dt.year * 12 + values.dt.month - 1


def _levels(n: pd.Series, share: pd.Series, s: CustomersSettings) -> np.ndarray:
    out = np.zeros(len(n), dtype=np.int64)
    for lv in sorted(s.preference_levels, key=lambda lv: lv.level):
        out[(n >= lv.min_contacts).to_numpy() & (share >= lv.min_share).to_numpy()] = lv.level
    return out


def _pandas_preference(cm: pd.DataFrame, s: CustomersSettings, keys: list[str]) -> pd.DataFrame:
    e = cm[cm.n_preference_events > 0].assign(idx=_month_idx(cm.month))
    e = e.groupby(["customer_id", *keys, "idx"], as_index=False).n_preference_events.sum()
    hi = _month_idx(cm.month).max()
    parts = [e.assign(widx=e.idx + o) for o in range(s.preference_window_months)]
    w = pd.concat(parts)
    w = (
        w[w.widx <= hi]
        .groupby(["customer_id", *keys, "widx"], as_index=False)
        .n_preference_events.sum()
    )
    w = w.rename(columns={"n_preference_events": "n_contacts_window"})
    group = ["customer_id", *[k for k in keys if k != "channel"], "widx"]
    w["share_window"] = w.n_contacts_window / w.groupby(group).n_contacts_window.transform("sum")
    w["level"] = _levels(w.n_contacts_window, w.share_window, s)
    w["month"] = pd.to_datetime(dict(year=w.widx // 12, month=w.widx % 12 + 1, day=1))
    return w.drop(columns="widx")


def pandas_customers(
    data_dir: Path, config: Config, s: CustomersSettings
) -> dict[str, pd.DataFrame]:
    """The three marts from the source parquet files, in pandas."""
    read = lambda name: pd.read_parquet(data_dir / f"{name}.parquet")  # noqa: E731
    ch = config.ids("channel")
    cost = {c.id: c.cost_per_contact_yuan for c in config.channels}
    contacts, payments = read("contacts"), read("payments")
    contacts["month"] = _month(contacts.started_at)
    contacts["legs"] = (contacts.channel == s.agent_channel) & contacts.call_id.fillna("").ne("")
    c = contacts.groupby(["customer_id", "month", "business", "channel"], as_index=False).agg(
        n_contacts=("contact_id", "size"), legs=("legs", "sum")
    )
    payments["month"] = _month(payments.paid_at)
    p = payments.groupby(["customer_id", "month", "channel"], as_index=False).agg(
        n_payments=("payment_id", "size")
    )
    p["business"] = s.payment_business
    cm = pd.concat([c, p]).fillna({"n_contacts": 0, "n_payments": 0, "legs": 0})
    cm = cm.groupby(["customer_id", "month", "business", "channel"], as_index=False)[
        ["n_contacts", "n_payments", "legs"]
    ].sum()
    legs = cm.groupby(["customer_id", "month", "business"]).legs.transform("sum")
    dropped = np.where(cm.channel == s.ivr_channel, np.minimum(legs, cm.n_contacts), 0)
    cm["n_preference_events"] = (cm.n_contacts + cm.n_payments - dropped).astype("int64")
    cm["cost_yuan"] = cm.n_contacts * cm.channel.map(cost).fillna(0.0)
    cm = cm.drop(columns="legs")
    pref = _pandas_preference(cm, s, ["business", "channel"])
    overall = pref.groupby(
        ["customer_id", "month", "channel"], as_index=False
    ).n_contacts_window.sum()
    share = overall.n_contacts_window / overall.groupby(
        ["customer_id", "month"]
    ).n_contacts_window.transform("sum")
    overall["level"] = _levels(overall.n_contacts_window, share, s)

    # Spine.
    bills, orders = read("bills"), read("orders")
    complaints, surveys, customers = read("complaints"), read("surveys"), read("customers")
    idx = pd.concat(
        [_month_idx(cm.month), _month_idx(pd.to_datetime(bills.bill_month)),
         _month_idx(complaints.created_at), _month_idx(surveys.sent_at), _month_idx(orders.ordered_at)]
    )  # fmt: skip
    months = pd.DataFrame({"idx": np.arange(idx.min(), idx.max() + 1)})
    months["month"] = pd.to_datetime(dict(year=months.idx // 12, month=months.idx % 12 + 1, day=1))
    nxt = months.idx + 1
    months["next_month"] = pd.to_datetime(dict(year=nxt // 12, month=nxt % 12 + 1, day=1))
    cust = customers.assign(
        join_date=pd.to_datetime(customers.join_date),
        leave_date=pd.to_datetime(customers.leave_date),
    )
    t = cust.merge(months, how="cross")
    t = t[(t.join_date < t.next_month) & (t.leave_date.isna() | (t.leave_date >= t.month))]
    keys = ["customer_id", "month"]
    bills["month"] = pd.to_datetime(bills.bill_month)
    b = bills.groupby(keys, as_index=False).agg(
        arpu_yuan=("arpu_yuan", "sum"), points=("points", "max"), arrears_yuan=("arrears_yuan", "sum"),
        voice_minutes=("voice_minutes", "sum"), data_mb=("data_mb", "sum"), sms_count=("sms_count", "sum"),
    )  # fmt: skip
    t = t.merge(b, on=keys, how="left")
    wide_c = cm.pivot_table(index=keys, columns="channel", values="n_contacts", aggfunc="sum")
    wide_p = cm.pivot_table(index=keys, columns="channel", values="n_payments", aggfunc="sum")
    agg = cm.groupby(keys).agg(n_contacts=("n_contacts", "sum"), n_payments=("n_payments", "sum"))
    agg = agg.join(wide_c.reindex(columns=ch).add_prefix("n_contacts_"))
    agg = agg.join(wide_p.reindex(columns=ch).add_prefix("n_payments_"))
    # Each channel's contacts times its cost, added in the configuration's channel order.
    agg["cost_to_serve_yuan"] = 0.0
    for c in ch:
        if c in cost:
            agg["cost_to_serve_yuan"] += agg[f"n_contacts_{c}"].fillna(0) * cost[c]
    t = t.merge(agg.reset_index(), on=keys, how="left")
    orders["month"] = _month(orders.ordered_at)
    sub = orders.action == s.subscribe_action
    fam = orders.product_id.str.lower().str.startswith(
        tuple(p.lower() for p in s.family_or_group_product_prefixes)
    )
    orders["n_sub"], orders["n_fam"] = sub.astype(int), (sub & fam).astype(int)
    t = t.merge(orders.groupby(keys, as_index=False)[["n_sub", "n_fam"]].sum(), on=keys, how="left")
    complaints["month"] = _month(complaints.created_at)
    t = t.merge(
        complaints.groupby(keys).size().rename("n_complaints").reset_index(), on=keys, how="left"
    )
    surveys["month"] = _month(surveys.sent_at)
    norm = surveys.reply_text.fillna("").str.lower().str.replace(r"\s+", "", regex=True)
    cls = pd.Series(None, index=surveys.index, dtype=object)
    with warnings.catch_warnings():  # patterns with groups: only whether they match counts
        warnings.simplefilter("ignore", UserWarning)
        for rule in reversed(s.survey_rules):  # the first matching rule wins
            cls = cls.mask(norm.str.contains(rule.pattern, regex=True), rule.klass)
    cls = cls.where(surveys.replied_at.notna())
    surveys["n_rep"] = surveys.replied_at.notna().astype(int)
    surveys["n_dis"] = (cls == s.dissatisfied_class).astype(int)
    surveys["n_cls"] = cls.notna().astype(int)
    surveys["score_sum"] = cls.map(s.survey_classes).fillna(0.0)
    sv = surveys.groupby(keys, as_index=False)[["n_rep", "n_dis", "n_cls", "score_sum"]].sum()
    t = t.merge(sv, on=keys, how="left")
    for frame, prefix in (
        (overall, "pref_level_"),
        (pref[pref.business == s.payment_business], "pref_level_payment_"),
    ):
        wide = frame.pivot_table(index=keys, columns="channel", values="level", aggfunc="max")
        t = t.merge(wide.reindex(columns=ch).add_prefix(prefix).reset_index(), on=keys, how="left")
    zero = [c for c in t.columns if c.startswith(("n_", "pref_level_"))] + [
        "score_sum",
        "cost_to_serve_yuan",
    ]
    t[zero] = t[zero].fillna(0)

    # Trailing windows: months are consecutive per customer, so shifts within the customer work.
    t = t.sort_values(["customer_id", "idx"]).reset_index(drop=True)
    g = t.groupby("customer_id")
    summed = [f"n_contacts_{c}" for c in ch] + [f"n_payments_{c}" for c in ch]
    summed += ["n_sub", "n_fam", "n_complaints", "n_rep", "n_dis", "n_cls", "score_sum"]
    roll = t[summed].copy()
    arpu_n = t.arpu_yuan.notna().astype(int)
    arpu_s = t.arpu_yuan.fillna(0.0)
    before_n, before_s = arpu_n * 0, arpu_s * 0
    for k in (1, 2):
        near = (t.idx - g.idx.shift(k)) <= 2
        roll += g[summed].shift(k).fillna(0).where(near, 0)
        shifted_n = g.arpu_yuan.shift(k).notna().astype(int).where(near, 0)
        shifted_s = g.arpu_yuan.shift(k).fillna(0.0).where(near, 0)
        before_n, before_s = before_n + shifted_n, before_s + shifted_s
    out = t[["customer_id", "month", "brand", "value_tier", "region", "plan_id"]].copy()
    out["join_date"], out["leave_date"] = t.join_date, t.leave_date
    tenure = t.idx - _month_idx(t.join_date)
    out["tenure_months"] = tenure.clip(lower=0)
    out["is_new_subscriber"] = tenure < s.new_subscriber_months
    out["has_left_in_month"] = (_month_idx(t.leave_date) == t.idx).fillna(False)
    out["age_years"] = t.month.dt.year - t.birth_year
    out["is_group_key_person"] = t.is_group_key_person.fillna(False).astype(bool)
    out["is_family_plan"] = t.is_family_plan.fillna(False).astype(bool)
    out["arpu_yuan"] = t.arpu_yuan
    for column in ("points", "arrears_yuan", "voice_minutes", "data_mb", "sms_count"):
        out[column] = t[column]
    out["n_payments"] = t.n_payments.astype("int64")
    out["n_complaints"] = t.n_complaints.astype("int64")
    out["arpu_3m_avg_yuan"] = (arpu_s + before_s) / (arpu_n + before_n).replace(0, np.nan)
    out["arpu_trend_3m"] = t.arpu_yuan - before_s / before_n.replace(0, np.nan)
    for c in ch:
        out[f"n_contacts_{c}"] = t[f"n_contacts_{c}"].astype("int64")
        out[f"n_contacts_3m_{c}"] = roll[f"n_contacts_{c}"].astype("int64")
        out[f"n_payments_{c}"] = t[f"n_payments_{c}"].astype("int64")
        out[f"n_payments_3m_{c}"] = roll[f"n_payments_{c}"].astype("int64")
        out[f"pref_level_{c}"] = t[f"pref_level_{c}"].astype("int64")
        out[f"pref_level_payment_{c}"] = t[f"pref_level_payment_{c}"].astype("int64")
    out["n_contacts"] = t.n_contacts.astype("int64")
    out["n_orders_subscribe_3m"] = roll.n_sub.astype("int64")
    out["n_family_or_group_orders_3m"] = roll.n_fam.astype("int64")
    out["n_complaints_3m"] = roll.n_complaints.astype("int64")
    out["n_surveys_replied_3m"] = roll.n_rep.astype("int64")
    out["n_surveys_dissatisfied_3m"] = roll.n_dis.astype("int64")
    out["satisfaction_score_3m"] = roll.score_sum / roll.n_cls.replace(0, np.nan)
    out["cost_to_serve_yuan"] = t.cost_to_serve_yuan
    out["net_contribution_yuan"] = t.arpu_yuan - t.cost_to_serve_yuan
    cuts = s.contribution_tiers.cut_points
    tier = np.select([out.net_contribution_yuan >= c for c in cuts], [1, 2, 3, 4], 5).astype(float)
    out["contribution_tier"] = np.where(out.net_contribution_yuan.isna(), np.nan, tier)
    flags = np.zeros(len(t), dtype=bool)
    for flag in s.identity.any_flag:
        flags |= t[flag].fillna(False).astype(bool).to_numpy()
    if s.identity.value_tiers:
        flags |= t.value_tier.isin(s.identity.value_tiers).to_numpy()
    out["is_identity_customer"] = (t.points < s.identity.max_points).fillna(
        False
    ).to_numpy() & flags
    return {
        "mart_customer_contacts_monthly": cm,
        "mart_channel_preference": pref,
        "mart_customer_360": out,
    }
