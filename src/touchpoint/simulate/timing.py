"""When contacts happen: bill-cycle peaks, weekday and time-of-day profiles."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
# Share of a day's contacts in each hour (a 10086 day: morning and evening peaks).
HOUR_PROFILE = np.array(
    [
        0.3,
        0.15,
        0.1,
        0.1,
        0.1,
        0.2,
        0.6,
        1.5,
        3.5,
        5.5,
        6.5,
        6.2,
        5.0,
        5.0,
        5.8,
        6.0,
        6.0,
        5.6,
        5.2,
        5.8,
        6.2,
        5.4,
        3.2,
        1.2,
    ]
)
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.sum()
_HOUR_CUMULATIVE = np.cumsum(HOUR_PROFILE)[:-1]


def day_weights(timing, month_start_us: int, month_end_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative volume of each day of the month: (ordinary contacts, bill-cycle contacts).

    Weekends are quieter, holidays have their own factor, and bill queries and payments peak
    in the first days after the bill is issued on the 1st.
    """
    n_days = int((month_end_us - month_start_us) // DAY_US)
    day_numbers = np.arange(n_days)
    epoch_day = month_start_us // DAY_US + day_numbers
    weekday = (epoch_day + 3) % 7  # 1970-01-01 was a Thursday
    base = np.where(weekday >= 5, timing.weekend_factor, 1.0)
    holidays = {
        int(np.datetime64(day, "D").astype(np.int64)): factor
        for day, factor in timing.holidays.items()
    }
    base = base * np.array([holidays.get(int(d), 1.0) for d in epoch_day])
    peak = base * np.where(day_numbers < timing.bill_peak_days, timing.bill_peak_factor, 1.0)
    return base / base.sum(), peak / peak.sum()


def exposure(
    weights: np.ndarray, month_start_us: int, lo_us: np.ndarray, hi_us: np.ndarray
) -> np.ndarray:
    """Share of the month's volume (day ``weights``) between whole-day instants lo and hi."""
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    first = np.clip((lo_us - month_start_us) // DAY_US, 0, len(weights))
    last = np.clip((hi_us - month_start_us) // DAY_US, 0, len(weights))
    return np.where(last > first, cumulative[last] - cumulative[first], 0.0)


def sample_times(
    h: np.ndarray,
    month_start_us: int,
    bill_cycle: np.ndarray,
    weights: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """An instant in the month (microseconds) per event key ``h``; ``bill_cycle`` marks rows
    that peak after billing; ``weights`` are :func:`day_weights` of the month."""
    base, peak = weights
    u = kr.uniform(kr.fold(h, Site.DAY))
    day = np.where(
        bill_cycle,
        np.searchsorted(np.cumsum(peak)[:-1], u, side="right"),
        np.searchsorted(np.cumsum(base)[:-1], u, side="right"),
    )
    hour = np.searchsorted(_HOUR_CUMULATIVE, kr.uniform(kr.fold(h, Site.HOUR)), side="right")
    within = (kr.uniform(kr.fold(h, Site.SECOND)) * HOUR_US).astype(np.int64)
    within = within // 1_000_000 * 1_000_000  # whole seconds
    return month_start_us + day * DAY_US + hour * HOUR_US + within
