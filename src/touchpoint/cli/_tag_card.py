"""The customer card's ``tags`` section: the customer's tags now, since when, and each tag's
marketing hint (script, timing, channel) for the frontline.

The data comes from :func:`touchpoint.tags.customer_tags`; this module renders it, and
:mod:`touchpoint.cli.tags_cmd` appends it to the card's sections.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table

from touchpoint.cli.customer_cmd import CardContext, CardSection
from touchpoint.tags import customer_tags

_HEADERS = ("tag", "since", "script", "timing", "channel")


def _collect_tags(ctx: CardContext) -> list[dict[str, Any]] | None:
    return customer_tags(ctx.con, ctx.config, ctx.customer_id, ctx.lang)


def _render_tags(data: list[dict[str, Any]], ctx: CardContext) -> RenderableType:
    if not data:
        return ctx.t("no_tag")
    table = Table(header_style="bold", box=None)
    for header in _HEADERS:
        table.add_column(ctx.t(f"tag_{header}"), overflow="fold")
    for r in data:
        table.add_row(
            r["name"],
            r["since"][:7],
            r["script"] or "–",
            r["timing"] or "–",
            ctx.label("channel", r["channel"]),
        )
    return table


TAGS_CARD_SECTION = CardSection("tags", _collect_tags, _render_tags)
