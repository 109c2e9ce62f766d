"""The customer card's ``tags`` section: the customer's tags now, since when, and each tag's
marketing hint (script, timing, channel) for the frontline.

Lives in the CLI layer because it joins two sibling capabilities (customers' card, tags'
catalogue); :mod:`touchpoint.cli.tags_cmd` appends it to the card's sections.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table

from touchpoint.cli.customer_cmd import CardContext, CardSection
from touchpoint.tags import DEFINITIONS_MART, MEMBERSHIP_MART, current_catalogue

_HEADERS = {
    "en": ("tag", "since", "script", "timing", "channel"),
    "zh": ("标签", "起始月", "营销话术", "时机", "渠道"),
}
_NONE = {"en": "No tag.", "zh": "无标签。"}


def _collect_tags(ctx: CardContext) -> list[dict[str, Any]] | None:
    if not ctx.has(MEMBERSHIP_MART):
        return None
    membership = ctx.con.table(MEMBERSHIP_MART)
    mine = membership.filter(membership.customer_id == ctx.customer_id)
    latest = mine.filter(mine.month == mine.month.max().as_scalar())
    rows = latest.order_by("tag_id").to_pyarrow().to_pylist()
    definitions = ctx.con.table(DEFINITIONS_MART) if ctx.has(DEFINITIONS_MART) else None
    tags = {tag.id: tag for tag in current_catalogue(ctx.config, definitions, None).tags}
    lang = "zh" if ctx.lang == "zh" else "en"
    out = []
    for row in rows:
        tag = tags.get(row["tag_id"])
        out.append(
            {
                "tag_id": row["tag_id"],
                "version": row["version"],
                "name": getattr(tag.name, lang) if tag else row["tag_id"],
                "since": row["since"].isoformat(),
                "month": row["month"].isoformat(),
                "script": getattr(tag.hint.script, lang) if tag else None,
                "timing": getattr(tag.hint.timing, lang) if tag else None,
                "channel": tag.hint.channel if tag else None,
            }
        )
    return out


def _render_tags(data: list[dict[str, Any]], ctx: CardContext) -> RenderableType:
    lang = "zh" if ctx.lang == "zh" else "en"
    if not data:
        return _NONE[lang]
    table = Table(header_style="bold", box=None)
    for header in _HEADERS[lang]:
        table.add_column(header, overflow="fold")
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
