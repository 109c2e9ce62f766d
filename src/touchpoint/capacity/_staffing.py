"""Agents per interval for a whole forecast, and a diversion what-if in agent hours."""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from touchpoint.capacity._erlang import StaffingError, agents_needed


@dataclass(frozen=True)
class Targets:
    """What an interval must achieve; ``patience`` None means Erlang C only."""

    service_level: float = 0.8
    within_seconds: float = 20.0
    max_abandon: float | None = 0.05
    aht_seconds: float = 300.0
    patience_seconds: float | None = 120.0
    max_occupancy: float | None = None


PLAN_COLUMNS = (
    "interval_start",
    "calls",
    "load_erlangs",
    "agents_erlang_c",
    "service_level_c",
    "asa_seconds_c",
    "agents_erlang_a",
    "service_level_a",
    "abandon_share_a",
    "occupancy_a",
)


def staffing_plan(
    forecast: ibis.Table,
    *,
    time: str = "interval_start",
    value: str = "calls",
    interval_seconds: float,
    targets: Targets = Targets(),
) -> ibis.Table:
    """One row per interval: calls, load, agents by Erlang C and by Erlang A, their measures.

    ``forecast`` has one row per interval (``time``, ``value`` = calls expected in it; a
    negative or missing forecast counts as 0 calls). Erlang C meets the service level only
    (nobody hangs up in it, so it overstaffs); Erlang A meets the service level *and* the
    abandonment target with the callers' patience.

    >>> t = ibis.memtable({"interval_start": pd.to_datetime(["2026-01-05 09:00"]), "calls": [100]})
    >>> row = staffing_plan(t, interval_seconds=1800, targets=Targets(aht_seconds=180,
    ...     patience_seconds=None, max_abandon=None)).to_pandas().iloc[0]
    >>> int(row.agents_erlang_c), round(float(row.service_level_c), 3)
    (14, 0.888)
    """
    if not interval_seconds > 0:
        raise StaffingError(f"interval must be > 0 seconds, got {interval_seconds}")
    frame = forecast.select(time, value).to_pandas()
    calls = pd.to_numeric(frame[value], errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    cache: dict[float, tuple] = {}
    rows = []
    for c in calls:
        key = round(float(c), 6)
        if key not in cache:
            cache[key] = _one_interval(key, interval_seconds, targets)
        rows.append(cache[key])
    out = pd.DataFrame(rows, columns=PLAN_COLUMNS[2:])
    out.insert(0, "calls", calls)
    out.insert(0, "interval_start", frame[time].to_numpy())
    for col in ("agents_erlang_c", "agents_erlang_a"):
        out[col] = out[col].astype("int64")
    return ibis.memtable(out)


def _one_interval(calls: float, interval_seconds: float, t: Targets) -> tuple:
    rate = calls / interval_seconds
    c = agents_needed(
        rate,
        t.aht_seconds,
        target_sl=t.service_level,
        threshold=t.within_seconds,
        max_occupancy=t.max_occupancy,
    )
    if t.patience_seconds is None:
        a_agents, a_sl, a_ab, a_occ = c.agents, c.service_level, 0.0, c.occupancy
    else:
        a = agents_needed(
            rate,
            t.aht_seconds,
            target_sl=t.service_level,
            threshold=t.within_seconds,
            max_abandon=t.max_abandon,
            patience=t.patience_seconds,
            max_occupancy=t.max_occupancy,
        )
        a_agents, a_sl, a_ab, a_occ = a.agents, a.service_level, a.p_abandon, a.occupancy
    asa = c.asa if math.isfinite(c.asa) else np.nan
    return (rate * t.aht_seconds, c.agents, c.service_level, asa, a_agents, a_sl, a_ab, a_occ)


@dataclass(frozen=True)
class DiversionWhatIf:
    """Agent hours before and after a diversion moves ``share`` of calls off the hotline."""

    share: float
    calls_moved: float
    agent_hours_before_c: float
    agent_hours_after_c: float
    agent_hours_before_a: float
    agent_hours_after_a: float

    @property
    def hours_saved_c(self) -> float:
        return self.agent_hours_before_c - self.agent_hours_after_c

    @property
    def hours_saved_a(self) -> float:
        return self.agent_hours_before_a - self.agent_hours_after_a


def agent_hours(plan: ibis.Table, interval_seconds: float) -> tuple[float, float]:
    """Total agent hours of a plan: (Erlang C, Erlang A)."""
    row = (
        plan.aggregate(c=plan.agents_erlang_c.sum(), a=plan.agents_erlang_a.sum())
        .to_pandas()
        .iloc[0]
    )
    hours = interval_seconds / 3600.0
    return float(row.c) * hours, float(row.a) * hours


def diversion_what_if(
    forecast: ibis.Table,
    share: float,
    *,
    time: str = "interval_start",
    value: str = "calls",
    interval_seconds: float,
    targets: Targets = Targets(),
) -> DiversionWhatIf:
    """Agent hours saved when a diversion campaign moves ``share`` of the calls elsewhere.

    Staffing is not linear in calls (pooling: small queues need proportionally more agents),
    so the plan is computed twice, with every interval's calls and with ``1 - share`` of them.
    """
    if not 0 <= share <= 1:
        raise StaffingError(f"diverted share must be in [0, 1], got {share}")
    before = staffing_plan(
        forecast, time=time, value=value, interval_seconds=interval_seconds, targets=targets
    )
    moved = forecast.mutate(**{value: forecast[value].cast("float64") * (1 - share)})
    after = staffing_plan(
        moved, time=time, value=value, interval_seconds=interval_seconds, targets=targets
    )
    total = float(forecast.aggregate(s=forecast[value].cast("float64").sum()).to_pandas().s[0])
    bc, ba = agent_hours(before, interval_seconds)
    ac, aa = agent_hours(after, interval_seconds)
    return DiversionWhatIf(share, total * share, bc, ac, ba, aa)
