"""The report: one self-contained HTML file, in English or Simplified Chinese.

Sections are registered in :mod:`touchpoint.report.sections`; their strings live in
``locales/<capability>.yaml``.
"""

from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.builder import render_report, write_report
from touchpoint.report.context import ReportContext, Section
from touchpoint.report.i18n import LANGUAGES, format_money, format_number, format_percent

__all__ = [
    "LANGUAGES",
    "Block",
    "Figure",
    "Kpis",
    "Markdown",
    "ReportContext",
    "Section",
    "Table",
    "format_money",
    "format_number",
    "format_percent",
    "render_report",
    "write_report",
]
