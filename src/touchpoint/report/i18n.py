"""Report strings and number formats: the one place is :mod:`touchpoint.labels`.

Kept so that code written against ``touchpoint.report.i18n`` goes on working.
"""

from __future__ import annotations

from touchpoint.labels import (
    LANGUAGES,
    LOCALES_DIR,
    check_lang,
    format_money,
    format_number,
    format_percent,
    load_messages,
    translate,
)

__all__ = [
    "LANGUAGES",
    "LOCALES_DIR",
    "check_lang",
    "format_money",
    "format_number",
    "format_percent",
    "load_messages",
    "translate",
]
