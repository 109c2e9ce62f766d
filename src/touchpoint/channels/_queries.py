"""What people see of the channel marts: KPI rows by period and the headline figures.

Query functions: each takes an open Ibis backend and returns a JSON-ready result (a pyarrow
table of mart rows, or the headline document); the command line and the report render them.
"""

from __future__ import annotations

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
