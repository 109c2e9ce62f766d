"""The building blocks a report section returns, each rendering itself to HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa


@dataclass(frozen=True)
class Markdown:
    """Prose: paragraphs separated by blank lines, ``**bold**``, ```code``` and ``- `` bullet lists."""

    text: str

    def to_html(self) -> str:
        parts = []
        for chunk in self.text.strip().split("\n\n"):
            lines = [line.strip() for line in chunk.splitlines()]
            if all(line.startswith("- ") for line in lines):
                items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append(f"<p>{_inline(' '.join(lines))}</p>")
        return "\n".join(parts)


def _inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


@dataclass(frozen=True)
class Kpis:
    """Headline figures as cards: ``[(label, value_text), ...]``, values already formatted."""

    items: list[tuple[str, str]]

    def to_html(self) -> str:
        cards = "".join(
            f'<div class="kpi"><div class="kpi-value">{html.escape(value)}</div>'
            f'<div class="kpi-label">{html.escape(label)}</div></div>'
            for label, value in self.items
        )
        return f'<div class="kpis">{cards}</div>'


@dataclass(frozen=True)
class Figure:
    """A Plotly figure; plotly.js itself is embedded once per page by the template."""

    figure: go.Figure
    height: int = 420

    def to_html(self) -> str:
        self.figure.update_layout(height=self.height, margin={"l": 60, "r": 20, "t": 50, "b": 50})
        body = self.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"displaylogo": False, "responsive": True},
        )
        return f'<div class="figure">{body}</div>'


@dataclass(frozen=True)
class Table:
    """A table; ``column_labels`` maps column names to headers, ``formats`` to formatter functions."""

    data: pa.Table | pd.DataFrame
    column_labels: dict[str, str] | None = None
    formats: dict[str, Any] = field(default_factory=dict)
    max_rows: int = 50

    def to_html(self) -> str:
        frame = self.data.to_pandas() if isinstance(self.data, pa.Table) else self.data
        frame = frame.head(self.max_rows)
        labels = self.column_labels or {}
        head = "".join(f"<th>{html.escape(str(labels.get(c, c)))}</th>" for c in frame.columns)
        rows = []
        for record in frame.itertuples(index=False):
            cells = []
            for column, value in zip(frame.columns, record, strict=True):
                text = self.formats[column](value) if column in self.formats else _plain(value)
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                cells.append(f'<td class="{"num" if numeric else "txt"}">{html.escape(text)}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


Block = Markdown | Kpis | Figure | Table
