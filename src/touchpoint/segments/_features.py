"""Segment features: one row per customer x month of the customer 360 (pure Ibis)."""

from __future__ import annotations

import ibis

#: Channel groups of the share features (channels the 360 lacks are left out).
DIGITAL_CHANNELS = ("web", "app", "wap", "mobile_pay")
AGENT_CHANNELS = ("agent",)
STORE_CHANNELS = ("store", "partner_store")


def _sum(t: ibis.Table, channels: tuple[str, ...]) -> ibis.Value:
    columns = [t[f"n_contacts_3m_{c}"] for c in channels if f"n_contacts_3m_{c}" in t.columns]
    total = ibis.literal(0, "int64")
    for column in columns:
        total = total + column.fill_null(0)
    return total


def segment_features(c360: ibis.Table) -> ibis.Table:
    """``customer_id``, ``month`` and the seven behaviour features of each 360 row.

    - ``log_arpu``: ln(1 + the mean bill of the trailing 3 months, else this month's, else 0);
    - ``log_contacts_3m``: ln(1 + contacts in every channel over the trailing 3 months);
    - ``digital_share_3m``, ``agent_share_3m``, ``store_share_3m``: the share of those
      contacts made on web/app/wap/mobile pay, with an agent, in a store (0 without contacts);
    - ``log_tenure``: ln(1 + tenure in months);
    - ``complaints_3m``: complaints over the trailing 3 months.

    Every feature only looks back (the 360's trailing windows), so a month's segment never
    depends on a later month.
    """
    channels = [
        c.removeprefix("n_contacts_3m_") for c in c360.columns if c.startswith("n_contacts_3m_")
    ]
    total = _sum(c360, tuple(channels))
    denominator = ibis.greatest(total, 1).cast("float64")
    arpu = c360.arpu_3m_avg_yuan.fill_null(c360.arpu_yuan).fill_null(0.0)
    return c360.select(
        "customer_id",
        "month",
        log_arpu=(ibis.greatest(arpu, 0.0) + 1.0).ln(),
        log_contacts_3m=(total.cast("float64") + 1.0).ln(),
        digital_share_3m=_sum(c360, DIGITAL_CHANNELS).cast("float64") / denominator,
        agent_share_3m=_sum(c360, AGENT_CHANNELS).cast("float64") / denominator,
        store_share_3m=_sum(c360, STORE_CHANNELS).cast("float64") / denominator,
        log_tenure=(c360.tenure_months.cast("float64") + 1.0).ln(),
        complaints_3m=c360.n_complaints_3m.cast("float64"),
    )
