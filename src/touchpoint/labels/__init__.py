"""Everything a person reads, in English and Simplified Chinese, looked up in one place.

The texts live in ``locales/<area>.yaml`` (``en:`` and ``zh:`` with the same keys) and are
named ``"<area>.<key>"``; :func:`translate` finds them for the report, the command line and
each capability's query functions alike. The formatters show numbers as people in each
language write them, and show a value that cannot be shown (a date in year 0, an infinite or
absurdly large number) as :data:`INVALID_TEXT` instead of failing: one bad row never takes a
report or a card down.

>>> translate("core.contents", "zh")
'目录'
>>> format_number(1234567, "zh"), format_number(float("inf"), "en"), format_percent(0.5, "en")
('123.46万', 'invalid', '50.0%')
"""

from touchpoint.labels._formats import (
    INVALID,
    INVALID_TEXT,
    LARGEST_SHOWN,
    Invalid,
    format_date,
    format_money,
    format_number,
    format_percent,
    format_value,
    is_invalid,
    jsonable,
    to_frame,
    to_rows,
)
from touchpoint.labels._text import (
    LANGUAGES,
    LOCALES_DIR,
    check_lang,
    load_messages,
    text,
    translate,
)

__all__ = [
    "INVALID",
    "INVALID_TEXT",
    "LANGUAGES",
    "LARGEST_SHOWN",
    "LOCALES_DIR",
    "Invalid",
    "check_lang",
    "format_date",
    "format_money",
    "format_number",
    "format_percent",
    "format_value",
    "is_invalid",
    "jsonable",
    "load_messages",
    "text",
    "to_frame",
    "to_rows",
    "translate",
]
