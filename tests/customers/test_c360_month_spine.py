"""The 360's months: the span of the activity tables, closed by the last bill."""

import datetime as dt

import ibis
import pytest

from touchpoint.customers import month_spine


def _months(tables) -> list[dt.date]:
    con = ibis.duckdb.connect()
    return [r["month"] for r in con.to_pyarrow(month_spine(tables).order_by("month")).to_pylist()]


def _contacts(months: list[str]):
    return ibis.memtable({"month": [dt.date.fromisoformat(m) for m in months]})


def _bills(months: list[str]):
    return ibis.memtable({"bill_month": [dt.date.fromisoformat(m) for m in months]})


@pytest.mark.parametrize(
    ("contacts", "bills", "expected"),
    [
        # One contact past the last bill (a redial after midnight): no month of its own.
        (["2026-01-01", "2026-03-01", "2026-04-01"], ["2026-01-01", "2026-03-01"], 3),
        # Bills ahead of the contacts still count, and a gap month stays in the span.
        (["2026-02-01"], ["2026-01-01", "2026-04-01"], 4),
        # Without bills, the contacts alone set the span.
        (["2026-01-01", "2026-04-01"], None, 4),
    ],
)
def test_the_spine_ends_at_the_last_billed_month(contacts, bills, expected):
    tables = {"contacts_monthly": _contacts(contacts), "bills": bills and _bills(bills)}
    months = _months(tables)
    assert len(months) == expected
    assert months[0] == dt.date(2026, 1, 1)
    assert months == sorted(set(months))
    if bills:
        assert months[-1] == max(dt.date.fromisoformat(m) for m in bills)
