"""What a report section sees: the warehouse tables, the configuration and the language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from touchpoint.config import Config
from touchpoint.labels import format_date, to_frame, to_rows
from touchpoint.report import i18n
from touchpoint.report.blocks import Block


def as_frame(expr: ibis.Table) -> pd.DataFrame:
    """The query's result as a pandas frame, even when a value cannot be converted.

    Ibis's own conversion first (dates as pandas timestamps, as the sections expect); a column
    holding a value pandas or Python cannot hold (a date in year 0) keeps Python objects with
    ``INVALID`` there, so one bad row is shown as invalid instead of failing the report.
    """
    try:
        return expr.to_pandas()
    except (ValueError, OverflowError, pa.ArrowInvalid):
        return to_frame(expr.to_pyarrow())


def as_rows(expr: ibis.Table) -> list[dict[str, Any]]:
    """The query's result as dicts, ``INVALID`` where a value cannot be shown."""
    return to_rows(expr.to_pyarrow())


@dataclass
class ReportContext:
    """Read-only access for sections; every user-visible string goes through :meth:`t` or :meth:`label`."""

    con: ibis.BaseBackend
    config: Config
    lang: str

    def table(self, name: str) -> ibis.Table | None:
        """The warehouse table ``name``, or ``None`` when it has not been built."""
        return self.con.table(name) if name in self._tables else None

    @property
    def _tables(self) -> set[str]:
        return set(self.con.list_tables())

    def t(self, key: str, **values: object) -> str:
        """The text of ``key`` in the report's language, with ``{name}`` fields filled in."""
        text = i18n.translate(key, self.lang)
        return text.format(**values) if values else text

    def number(self, value: float | None, digits: int = 0) -> str:
        return i18n.format_number(value, self.lang, digits)

    def percent(self, value: float | None, digits: int = 1) -> str:
        return i18n.format_percent(value, self.lang, digits)

    def money(self, value: float | None) -> str:
        return i18n.format_money(value, self.lang)

    def date(self, value: object, length: int = 10) -> str:
        """A date (``length`` 7: its month); "invalid" for one that cannot be shown."""
        return format_date(value, self.lang, length)

    def label(self, vocabulary: str, value_id: str) -> str:
        """The configured name of a vocabulary value (channel, business, ...) in this language."""
        return self.config.label(vocabulary, value_id, self.lang)

    def node(self, node_id: str | None) -> str:
        """An IVR menu node as people know it: its id and configured name (``n2_3 套餐余量``),
        or the id alone when the configuration does not name it."""
        if node_id is None or node_id != node_id:  # None or NaN (a root's parent)
            return "–"
        name = self.config.label("ivr_node", node_id, self.lang)
        return node_id if name == node_id else f"{node_id} {name}"


@dataclass(frozen=True)
class Section:
    """A report section: ``build`` returns its blocks, or ``[]`` when it has nothing to show.

    The section's title is the locale key ``<id>.title``.
    """

    id: str
    order: int
    build: Callable[[ReportContext], list[Block]]
    requires: tuple[str, ...] = ()
