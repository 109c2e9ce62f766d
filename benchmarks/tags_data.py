"""A synthetic ``mart_customer_360`` with every contract column, for tag tests and benchmarks.

One row per customer per month while in the network. Trailing-3-month columns are true
trailing sums of the monthly ones; churn is planted: the chance of leaving next month rises
with this month's complaints (``base_churn + complaint_churn × min(n_complaints, 3)``), so the
sensitive-customer tag must show a churn lift above 1 and, e.g., the VIP tiers (drawn
independently of churn) must not.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from touchpoint.config import Config
from touchpoint.tags import customer_360_schema

START = dt.date(2024, 1, 1)


def _month(i: int) -> dt.date:
    year, month = divmod(START.month - 1 + i, 12)
    return dt.date(START.year + year, month + 1, 1)


def _trailing(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, 1:] += x[:, :-1]
    out[:, 2:] += x[:, :-2]
    return out


def synthetic_c360(
    config: Config,
    n_customers: int,
    months: int = 6,
    seed: int = 0,
    base_churn: float = 0.01,
    complaint_churn: float = 0.08,
    first_id: int = 0,
) -> pa.Table:
    """The 360 of ``n_customers`` over ``months`` months (see the module docstring).

    Customer ids are ``c`` and 8 digits from ``first_id`` (to generate a large 360 in chunks).
    """
    rng = np.random.default_rng(seed)
    n, m = n_customers, months
    channels = config.ids("channel")
    brands = np.array(config.ids("brand"))
    tiers = np.array(["diamond", "gold", "silver", "regular"])
    month_dates = [_month(i) for i in range(m)]

    join_month = np.where(rng.random(n) < 0.1, rng.integers(0, m, n), -rng.integers(1, 120, n))
    brand = brands[rng.integers(0, len(brands), n)]
    tier = tiers[rng.choice(4, n, p=[0.02, 0.06, 0.12, 0.80])]
    region = np.array(["chengdu", "mianyang", "deyang", "leshan"])[rng.integers(0, 4, n)]
    plan = np.array([f"p{i:02d}" for i in range(12)])[rng.integers(0, 12, n)]
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    group_key = rng.random(n) < 0.03
    family = rng.random(n) < 0.15
    identity = (rng.random(n) < 0.01) & group_key | (rng.random(n) < 0.002)

    arpu = np.clip(rng.lognormal(3.8, 0.6, (n, m)), 5, None)
    complaints = rng.poisson(0.05, (n, m)) + (rng.random((n, 1)) < 0.02) * rng.poisson(1.0, (n, m))
    contacts = {
        c: rng.poisson(lam, (n, m))
        for c, lam in zip(channels, np.linspace(0.8, 0.1, len(channels)), strict=True)
    }
    payments = {
        c: rng.poisson(0.3 if c in ("store", "app", "mobile_pay") else 0.05, (n, m))
        for c in channels
    }
    surveys = rng.poisson(0.3, (n, m))
    dissatisfied = rng.binomial(surveys, 0.2)
    orders = rng.poisson(0.2, (n, m))
    family_orders = rng.binomial(orders, 0.1)

    # Leave month: the first month whose draw falls under the complaint-driven hazard of the
    # month before (a customer leaves in month t+1 with probability p(complaints in t)).
    hazard = base_churn + complaint_churn * np.minimum(complaints, 3)
    leaves = rng.random((n, m)) < hazard
    leave_month = np.full(n, m + 99)
    for t in range(m - 1):
        fresh = (leave_month > m) & leaves[:, t] & (join_month <= t)
        leave_month[fresh] = t + 1
    leave_day = rng.integers(1, 28, n)

    cost = {c.id: c.cost_per_contact_yuan for c in config.channels}
    rows_mask = np.zeros((n, m), bool)
    for t in range(m):
        rows_mask[:, t] = (join_month <= t) & (leave_month >= t)
    c_idx, t_idx = np.nonzero(rows_mask)

    def cell(x: np.ndarray) -> np.ndarray:
        return x[c_idx, t_idx]

    n_contacts = sum(contacts.values())
    cost_to_serve = sum(contacts[c] * cost[c] for c in channels)
    net = arpu - cost_to_serve
    arpu_3m = (arpu + np.roll(arpu, 1, 1) + np.roll(arpu, 2, 1)) / 3
    trend = arpu - (np.roll(arpu, 1, 1) + np.roll(arpu, 2, 1)) / 2
    trend[:, :2] = np.nan
    contribution_tier = 5 - np.digitize(net, [10, 30, 60, 120])

    def level(x3: np.ndarray) -> np.ndarray:
        return np.minimum(x3, 5)

    join_dates = np.array(
        [_month(int(j)) if j >= 0 else dt.date(2024 + int(j) // 12, 1, 1) for j in join_month]
    )
    leave_dates = np.array(
        [
            _month(int(lm)).replace(day=int(d)) if lm < m else None
            for lm, d in zip(leave_month, leave_day, strict=True)
        ]
    )
    tenure = (t_idx - join_month[c_idx]).astype(np.int64)
    columns: dict[str, object] = {
        "customer_id": np.array([f"c{first_id + i:08d}" for i in range(n)])[c_idx],
        "month": np.array(month_dates)[t_idx],
        "brand": brand[c_idx],
        "value_tier": tier[c_idx],
        "region": region[c_idx],
        "plan_id": plan[c_idx],
        "join_date": join_dates[c_idx],
        "leave_date": leave_dates[c_idx],
        "tenure_months": tenure,
        "is_new_subscriber": tenure < 3,
        "has_left_in_month": leave_month[c_idx] == t_idx,
        "age_years": pa.array(age[c_idx], pa.float64(), from_pandas=True).cast(pa.int64()),
        "is_group_key_person": group_key[c_idx],
        "is_family_plan": family[c_idx],
        "arpu_yuan": cell(arpu),
        "arpu_3m_avg_yuan": cell(arpu_3m),
        "arpu_trend_3m": pa.array(cell(trend), pa.float64(), from_pandas=True),
        "points": (cell(arpu) * 40).astype(np.int64),
        "arrears_yuan": cell(np.where(rng.random((n, m)) < 0.05, arpu, 0.0)),
        "voice_minutes": cell(rng.gamma(2.0, 150.0, (n, m))),
        "data_mb": cell(rng.gamma(2.0, 2000.0, (n, m))),
        "sms_count": cell(rng.poisson(20, (n, m))),
        "n_contacts": cell(n_contacts),
        "n_payments": cell(sum(payments.values())),
        "n_orders_subscribe_3m": cell(_trailing(orders)),
        "n_family_or_group_orders_3m": cell(_trailing(family_orders)),
        "n_complaints": cell(complaints),
        "n_complaints_3m": cell(_trailing(complaints)),
        "n_surveys_replied_3m": cell(_trailing(surveys)),
        "n_surveys_dissatisfied_3m": cell(_trailing(dissatisfied)),
        "satisfaction_score_3m": pa.array(
            np.where(
                _trailing(surveys) > 0,
                1 - _trailing(dissatisfied) / np.maximum(_trailing(surveys), 1),
                np.nan,
            )[c_idx, t_idx],
            pa.float64(),
            from_pandas=True,
        ),
        "cost_to_serve_yuan": cell(cost_to_serve),
        "net_contribution_yuan": cell(net),
        "contribution_tier": cell(contribution_tier).astype(np.int64),
        "is_identity_customer": identity[c_idx],
    }
    for c in channels:
        columns[f"n_contacts_{c}"] = cell(contacts[c])
        columns[f"n_contacts_3m_{c}"] = cell(_trailing(contacts[c]))
        columns[f"n_payments_{c}"] = cell(payments[c])
        columns[f"n_payments_3m_{c}"] = cell(_trailing(payments[c]))
        columns[f"pref_level_{c}"] = cell(level(_trailing(contacts[c])))
        columns[f"pref_level_payment_{c}"] = cell(level(_trailing(payments[c])))
    schema = customer_360_schema(config).to_pyarrow()
    arrays = [
        pa.array(columns[f.name], f.type)
        if not isinstance(columns[f.name], pa.Array)
        else columns[f.name]
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
