"""What people see of the channel marts: KPI rows by period and the headline figures.

Query functions: each takes an open Ibis backend and returns a JSON-ready result (a pyarrow
table of mart rows, or the headline document); the command line and the report render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from touchpoint.channels._build import (
    ESCALATION_MARTS,
    KPI_MARTS,
    KPIS_MART,
    TOTALS_MART,
    VOLUME_CUBE,
    kpis_for,
)
from touchpoint.channels._headline import headline_document
from touchpoint.config import Config
from touchpoint.labels import to_frame, to_rows
from touchpoint.query import optional_table, require_table

IVR_KPIS_MART = "mart_ivr_kpis"


def _kpi_rows(con: ibis.BaseBackend, config: Config, period: str, by: str | None) -> ibis.Table:
    """The KPI rows of one period and dimension: from the mart, or computed if it lacks them."""
    dimension = by or "all"
    mart = require_table(con, KPI_MARTS[period])
    rows = mart.filter(mart.dimension == dimension)
    if by is None or rows.count().to_pyarrow().as_py() > 0:
        return rows
    tables = {name: require_table(con, name) for name in (VOLUME_CUBE, "stg_contacts")}
    customers = optional_table(con, "stg_customers")
    if customers is not None:
        tables["stg_customers"] = customers
    return kpis_for(tables, config, period, by)


def _last_periods(rows: ibis.Table, last: int) -> ibis.Table:
    if last:
        recent = rows.select("period_start").distinct().order_by(ibis.desc("period_start"))
        cutoff = recent.limit(last).period_start.min()
        rows = rows.filter(rows.period_start >= cutoff.as_scalar())
    return rows.order_by(["period_start", "dimension_value", ibis.desc("n_contacts"), "channel"])


def channel_kpi_rows(
    con: ibis.BaseBackend, config: Config, period: str, by: str | None = None, last: int = 0
) -> pa.Table:
    """Contacts, customers, cost and mix by channel for the last ``last`` periods (0: all).

    Returns
    -------
    pyarrow.Table
        One row per period × (``by`` value) × channel, the columns of ``mart_channels_<period>``
        (computed from the volume cube when the mart lacks the dimension), in display order.
    """
    return _last_periods(_kpi_rows(con, config, period, by), last).to_pyarrow()


def headline(con: ibis.BaseBackend) -> dict[str, Any]:
    """The headline figures under docs/metrics.md's names, with the IVR's when built."""
    return headline_document(
        require_table(con, KPIS_MART),
        escalation_by_region=optional_table(con, ESCALATION_MARTS["region"]),
        totals=optional_table(con, TOTALS_MART),
        ivr_kpis=optional_table(con, IVR_KPIS_MART),
    )


@dataclass
class ChannelsOverview:
    """The channels as the report shows them (every figure the section draws or prints).

    ``monthly``: one row per month × channel of ``mart_channels_monthly`` (dimension "all"):
    ``period_start, channel, n_contacts, cost_yuan, self_service_share``; ``totals``: one row
    per channel of ``mart_channels_totals`` plus ``contact_share``; ``n_contacts``,
    ``cost_yuan`` and ``self_service_share`` over every channel; ``headline``: the row of
    ``mart_channels_kpis`` (empty when not built); ``escalation_by_region``: one row per
    region (``None`` when not built).
    """

    monthly: pa.Table
    totals: pa.Table
    n_contacts: int
    cost_yuan: float
    self_service_share: float | None
    headline: dict[str, Any] = field(default_factory=dict)
    escalation_by_region: pa.Table | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "monthly": to_rows(self.monthly),
            "totals": to_rows(self.totals),
            "n_contacts": self.n_contacts,
            "cost_yuan": self.cost_yuan,
            "self_service_share": self.self_service_share,
            "headline": self.headline,
            "escalation_by_region": (
                None if self.escalation_by_region is None else to_rows(self.escalation_by_region)
            ),
        }


def _with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def overview(con: ibis.BaseBackend) -> ChannelsOverview:
    """Channel mix, cost, self service, escalation and repeats over the whole period."""
    mart = require_table(con, KPI_MARTS["month"])
    monthly = (
        mart.filter(mart.dimension == "all")
        .select("period_start", "channel", "n_contacts", "cost_yuan", "self_service_share")
        .order_by(["period_start", "channel"])
    )
    totals = require_table(con, TOTALS_MART).to_pyarrow()
    # pandas' sums, as the report has always added these up (the same float rounding).
    frame = to_frame(totals.select(["n_contacts", "cost_yuan", "is_self_service"]))
    n_contacts = int(frame["n_contacts"].sum())
    self_service = frame.loc[frame["is_self_service"].fillna(False).astype(bool), "n_contacts"]
    shares = frame["n_contacts"] / n_contacts if n_contacts else None
    headline_mart = optional_table(con, KPIS_MART)
    headline_rows = [] if headline_mart is None else to_rows(headline_mart.to_pyarrow())
    by_region = optional_table(con, ESCALATION_MARTS["region"])
    return ChannelsOverview(
        monthly=monthly.to_pyarrow(),
        totals=_with_column(
            totals,
            "contact_share",
            pa.array([None] * len(frame) if shares is None else shares, pa.float64()),
        ),
        n_contacts=n_contacts,
        cost_yuan=float(frame["cost_yuan"].sum()),
        self_service_share=self_service.sum() / n_contacts if n_contacts else None,
        headline=headline_rows[0] if headline_rows else {},
        escalation_by_region=None if by_region is None else by_region.to_pyarrow(),
    )
