"""Assembling the report: one self-contained HTML file with plotly.js embedded once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ibis
import jinja2
from plotly.offline import get_plotlyjs

from touchpoint import __version__
from touchpoint.config import Config
from touchpoint.report.context import ReportContext, Section
from touchpoint.report.i18n import check_lang

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedSection:
    id: str
    title: str
    body: str
    note: str | None


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )


def render_report(
    con: ibis.BaseBackend,
    config: Config,
    *,
    lang: str = "en",
    sections: list[Section] | None = None,
) -> str:
    """The report as HTML text.

    Each section is built from the warehouse; a section whose required tables are missing is
    replaced by a one-line note saying which command makes them, and a section that meets data
    it cannot show by a note saying why: no single table or row takes the whole report down.
    """
    from touchpoint.report.sections import SECTIONS

    check_lang(lang)
    ctx = ReportContext(con=con, config=config, lang=lang)
    existing = set(con.list_tables())
    rendered = []
    for section in sorted(sections if sections is not None else SECTIONS, key=lambda s: s.order):
        title = ctx.t(f"{section.id}.title")
        missing = [name for name in section.requires if name not in existing]
        if missing:
            note = ctx.t("core.missing_tables", tables=", ".join(missing))
            rendered.append(RenderedSection(section.id, title, "", note))
            continue
        try:
            body = "\n".join(b.to_html() for b in section.build(ctx))
        except (ValueError, OverflowError, ArithmeticError) as exc:
            # A value the section's arithmetic or charts cannot take (the formatters already
            # show a single bad value as invalid): this section says so, the others still show.
            note = ctx.t("core.section_failed", error=str(exc).splitlines()[0][:200])
            rendered.append(RenderedSection(section.id, title, "", note))
            continue
        rendered.append(RenderedSection(section.id, title, body, None))
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            lang=lang,
            html_lang="zh-CN" if lang == "zh" else "en",
            t=ctx.t,
            sections=rendered,
            generated_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            version=__version__,
            plotlyjs=get_plotlyjs(),
        )
    )


def write_report(
    con: ibis.BaseBackend,
    config: Config,
    out: Path,
    *,
    lang: str = "en",
    sections: list[Section] | None = None,
) -> Path:
    """Write the report to ``out`` (folders are created) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(con, config, lang=lang, sections=sections), encoding="utf-8")
    return out
