"""Numbers, money, shares and dates as people in each language write them, and never a crash.

A warehouse can hold a value no screen can show: a date in year 0 (Python's dates start in
year 1), an infinite or NaN float, an amount of 10^300 yuan. Converting query results with
:func:`to_rows` / :func:`to_frame` and formatting them with the functions here turns such a
value into :data:`INVALID`, shown as "invalid" / "无效", so one bad row never takes a report or
a customer card down.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: No count or amount of one operator's service reaches 10^15 (a thousand trillion yuan or
#: contacts); a larger value is a broken one, shown as invalid rather than as 301 digits.
LARGEST_SHOWN = 1e15

MISSING_TEXT = "–"
INVALID_TEXT = {"en": "invalid", "zh": "无效"}


class Invalid:
    """The one marker of a value that exists but cannot be shown (see :data:`INVALID`)."""

    _instance: Invalid | None = None

    def __new__(cls) -> Invalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"

    def __str__(self) -> str:
        return INVALID_TEXT["en"]


INVALID = Invalid()


def is_invalid(value: Any) -> bool:
    """True for :data:`INVALID` and for numbers no figure can be: infinite or beyond 10^15."""
    if value is INVALID:
        return True
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    number = float(value)  # numpy's numbers too (an int64 is no Python int)
    return math.isinf(number) or abs(number) >= LARGEST_SHOWN


def _is_missing(value: Any) -> bool:
    # NaN counts as missing: pandas turns every SQL NULL of a float column into NaN.
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and math.isnan(float(value))


def _invalid(lang: str) -> str:
    return INVALID_TEXT.get(lang, INVALID_TEXT["en"])


def format_number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """Thousands separators in English; 万 (10⁴) and 亿 (10⁸) in Chinese, as people there write.

    >>> format_number(1234567, "en"), format_number(150_000_000, "zh"), format_number(None, "en")
    ('1,234,567', '1.50亿', '–')
    >>> format_number(1e300, "zh")
    '无效'
    """
    if _is_missing(value):
        return MISSING_TEXT
    if is_invalid(value):
        return _invalid(lang)
    if lang == "zh":
        for unit, size in (("亿", 1e8), ("万", 1e4)):
            if abs(value) >= size:
                return f"{value / size:,.2f}{unit}"
    return f"{value:,.{digits}f}"


def format_percent(value: float | None, lang: str, digits: int = 1) -> str:
    """A share as a percentage: ``0.7903`` → ``79.0%``."""
    if _is_missing(value):
        return MISSING_TEXT
    if is_invalid(value):
        return _invalid(lang)
    return f"{value * 100:.{digits}f}%"


def format_money(value: float | None, lang: str) -> str:
    """Yuan with the ¥ sign: cents below 10,000 (and always in Chinese, where 万 rounds)."""
    if _is_missing(value):
        return MISSING_TEXT
    if is_invalid(value):
        return _invalid(lang)
    amount = (
        format_number(value, lang, digits=2)
        if abs(value) < 1e4 or lang == "zh"
        else format_number(value, lang)
    )
    return f"¥{amount}"


def format_date(value: Any, lang: str, length: int = 10) -> str:
    """A date or timestamp as ISO text cut to ``length`` characters (7: the month)."""
    if _is_missing(value):
        return MISSING_TEXT
    if value is INVALID:
        return _invalid(lang)
    return str(value).replace("T", " ")[:length]


def format_value(value: Any, lang: str, digits: int = 2) -> str:
    """Any cell: ``–`` for nothing, ✓ for true, numbers with separators, the rest as text."""
    if value is None:
        return MISSING_TEXT
    if value is INVALID or is_invalid(value):
        return _invalid(lang)
    if isinstance(value, bool):
        return "✓" if value else MISSING_TEXT
    if isinstance(value, float):
        return MISSING_TEXT if math.isnan(value) else f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def jsonable(value: Any, digits: int = 4) -> Any:
    """A value for a JSON-ready result: dates as ISO text, floats rounded.

    A value that cannot be shown (NaN, infinite, :data:`INVALID`) stays :data:`INVALID`, so a
    renderer shows "invalid" and a JSON writer writes null.
    """
    if value is INVALID or (isinstance(value, float) and not math.isfinite(value)):
        return INVALID
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, digits)
    return value


def _column_values(column: pa.ChunkedArray) -> list[Any]:
    """A column as Python values, each value that Python cannot hold as :data:`INVALID`."""
    if pa.types.is_floating(column.type):
        # A NaN stored as a value (not a NULL) is a broken figure, not a missing one.
        nan = pc.fill_null(pc.is_nan(column), False).to_pylist()
        return [INVALID if bad else v for v, bad in zip(column.to_pylist(), nan, strict=True)]
    try:
        return column.to_pylist()
    except (ValueError, OverflowError):  # a date in year 0, a timestamp beyond year 9999
        out = []
        for scalar in column:
            try:
                out.append(scalar.as_py())
            except (ValueError, OverflowError):
                out.append(INVALID)
        return out


def to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows of a query result as dicts, with :data:`INVALID` where a value cannot be shown.

    >>> t = pa.table({"d": pa.array([-719528, 0], pa.date32()), "x": [float("nan"), 1.5]})
    >>> to_rows(t)
    [{'d': INVALID, 'x': INVALID}, {'d': datetime.date(1970, 1, 1), 'x': 1.5}]
    """
    columns = {name: _column_values(table.column(name)) for name in table.column_names}
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A query result as a pandas frame; a column pandas cannot convert keeps Python objects,
    with :data:`INVALID` where a value cannot be shown (NaN stays pandas' missing value)."""
    try:
        return table.to_pandas()
    except (ValueError, OverflowError, pa.ArrowInvalid):
        data = {}
        for name in table.column_names:
            column = table.column(name)
            try:
                data[name] = column.to_pandas()
            except (ValueError, OverflowError, pa.ArrowInvalid):
                data[name] = pd.Series(_column_values(column), dtype=object)
        return pd.DataFrame(data)
