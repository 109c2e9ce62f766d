"""Calendar-month helpers: a month is its first day (a date); arithmetic on a month index."""

from __future__ import annotations

import ibis


def month_of(value: ibis.Value) -> ibis.Value:
    """The first day of the month of a date or timestamp, as a date."""
    return value.truncate("M").cast("date")


def month_index(month: ibis.Value) -> ibis.Value:
    """Months since year 0 (``year * 12 + month - 1``): consecutive months differ by one."""
    return (month.year() * 12 + month.month() - 1).cast("int64")


def month_from_index(index: ibis.Value) -> ibis.Value:
    """The inverse of :func:`month_index`: the first day of that month."""
    return ibis.date(index // 12, index % 12 + 1, 1)
