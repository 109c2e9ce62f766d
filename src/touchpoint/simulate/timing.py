"""When contacts happen: bill-cycle peaks, weekday and time-of-day profiles."""

from __future__ import annotations

import numpy as np

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
WEEKEND_FACTOR = 0.75
BILL_PEAK_DAYS = 5  # bills are issued on the 1st: queries and payments peak in the first days
BILL_PEAK_FACTOR = 1.8


def sample_times(
    rng: np.random.Generator, month_start_us: int, month_end_us: int, n: int, bill_cycle: np.ndarray
) -> np.ndarray:
    """``n`` instants in the month (microseconds); ``bill_cycle`` marks rows that peak after billing."""
    n_days = int((month_end_us - month_start_us) // DAY_US)
    day_numbers = np.arange(n_days)
    weekday = (month_start_us // DAY_US + day_numbers + 3) % 7  # 1970-01-01 was a Thursday
    base = np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
    peak = base * np.where(day_numbers < BILL_PEAK_DAYS, BILL_PEAK_FACTOR, 1.0)
    day = np.where(
        bill_cycle,
        rng.choice(n_days, n, p=peak / peak.sum()),
        rng.choice(n_days, n, p=base / base.sum()),
    )
    hour = rng.choice(24, n, p=HOUR_PROFILE)
    within = (rng.random(n) * HOUR_US).astype(np.int64) // 1_000_000 * 1_000_000  # whole seconds
    return month_start_us + day * DAY_US + hour * HOUR_US + within
