"""The headline figures as one plain mapping, for ``touchpoint kpis --json``, scripts and reports."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: dates as ISO text, NaN as None."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _one_row(table: ibis.Table, what: str) -> dict[str, Any]:
    rows = table.to_pyarrow().to_pylist()
    if len(rows) != 1:
        raise ValueError(f"{what}: expected one row, found {len(rows)}")
    return {key: _plain(value) for key, value in rows[0].items()}


def headline_document(
    kpis: ibis.Table,
    escalation_by_region: ibis.Table | None = None,
    totals: ibis.Table | None = None,
    ivr_kpis: ibis.Table | None = None,
) -> dict[str, Any]:
    """Merge the one-row KPI marts and their breakdowns into one mapping.

    Keys are the column names of ``mart_channels_kpis`` (docs/metrics.md names where they
    measure the same thing), then those of ``ivr_kpis`` (``mart_ivr_kpis``, one row, if
    given; its values win on a clash as the IVR's own figures), plus
    ``ivr_to_agent_60min_rate_by_region`` (``{region: rate}``), ``contacts_by_channel`` and
    ``cost_yuan_by_channel`` (``{channel: value}``, largest first).

    Parameters
    ----------
    kpis
        ``mart_channels_kpis``: one row.
    escalation_by_region
        ``mart_channels_escalation_by_region``: one row per region.
    totals
        ``mart_channels_totals``: one row per channel.
    ivr_kpis
        ``mart_ivr_kpis``: one row.
    """
    document = _one_row(kpis, "mart_channels_kpis")
    if ivr_kpis is not None:
        document |= _one_row(ivr_kpis, "mart_ivr_kpis")
    if escalation_by_region is not None:
        rows = escalation_by_region.order_by("region").to_pyarrow().to_pylist()
        document["ivr_to_agent_60min_rate_by_region"] = {
            r["region"]: _plain(r["ivr_to_agent_60min_rate"]) for r in rows
        }
    if totals is not None:
        rows = totals.order_by([ibis.desc("n_contacts"), "channel"]).to_pyarrow().to_pylist()
        document["contacts_by_channel"] = {r["channel"]: r["n_contacts"] for r in rows}
        document["cost_yuan_by_channel"] = {r["channel"]: _plain(r["cost_yuan"]) for r in rows}
    return document
