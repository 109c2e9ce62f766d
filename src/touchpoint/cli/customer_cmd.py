"""``touchpoint customer``: the frontline card of one customer (by id or phone number).

The card is a list of sections (:data:`CARD_SECTIONS`). Each section collects its data from a
query function of the capability that owns it (JSON-ready; the customers' own sections come
from :func:`touchpoint.customers.card`) and renders it with Rich; ``--json`` prints the data.
Another capability adds its own section by appending to the list from its ``*_cmd`` module,
e.g. the tags package::

    from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardSection
    CARD_SECTIONS.append(CardSection("tags", collect_tags, render_tags))

A section whose tables are missing returns ``None`` and is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from touchpoint import customers
from touchpoint.cli.app import ConfigOption, JsonOption, LangOption, WarehouseOption, app, console
from touchpoint.cli.common import open_warehouse, print_json
from touchpoint.config import Config, load_config
from touchpoint.customers import (
    C360_MART,
    UnknownCustomerError,
    card_history,
)
from touchpoint.labels import (
    format_date,
    format_percent,
    format_value,
    to_rows,
    translate,
)
from touchpoint.warehouse import read_table


@dataclass
class CardContext:
    """What a card section sees: the warehouse, the configuration, the customer and language."""

    con: Any
    config: Config
    customer_id: str
    lang: str = "en"
    recent: int = 10
    cache: dict[str, Any] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return table in self.tables

    @property
    def tables(self) -> set[str]:
        if "tables" not in self.cache:
            self.cache["tables"] = set(self.con.list_tables())
        return self.cache["tables"]

    def t(self, key: str) -> str:
        """The card's text of ``key`` (``customers.card_<key>``), the key itself if it has none."""
        try:
            return translate(f"customers.card_{key}", self.lang)
        except KeyError:
            return key

    def fmt(self, value: Any, digits: int = 2) -> str:
        """A card cell: numbers with separators, ✓ for true, "invalid" for a broken value."""
        return format_value(value, self.lang, digits)

    def date(self, value: Any, length: int = 10) -> str:
        return format_date(value, self.lang, length)

    def label(self, vocabulary: str, value: str | None) -> str:
        if value is None:
            return "–"
        try:
            return self.config.label(vocabulary, value, self.lang)
        except KeyError:
            return value

    def card(self) -> dict[str, Any]:
        """The customer's card from :func:`touchpoint.customers.card` (cached)."""
        if "card" not in self.cache:
            self.cache["card"] = customers.card(
                self.con, self.config, self.customer_id, recent=self.recent
            )
        return self.cache["card"]

    def history(self) -> list[dict[str, Any]]:
        """The customer's latest months of ``mart_customer_360``, newest first (cached)."""
        if "history" not in self.cache:
            rows: list[dict[str, Any]] = []
            if self.has(C360_MART):
                c360 = self.con.table(C360_MART)
                rows = to_rows(card_history(c360, self.customer_id).to_pyarrow())
            self.cache["history"] = rows
        return self.cache["history"]

    def latest(self) -> dict[str, Any] | None:
        rows = self.history()
        return rows[0] if rows else None


@dataclass(frozen=True)
class CardSection:
    """One part of the card: ``collect(ctx)`` gives JSON-ready data (or ``None`` to leave the
    section out); ``render(data, ctx)`` gives a Rich renderable."""

    id: str
    collect: Callable[[CardContext], Any]
    render: Callable[[Any, CardContext], RenderableType]


def _key_values(pairs: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in pairs:
        table.add_row(key, value)
    return table


# ---- profile --------------------------------------------------------------------------------
_PROFILE_KEYS = customers.PROFILE_KEYS


def _render_profile(data: dict[str, Any], ctx: CardContext) -> RenderableType:
    pairs = [(ctx.t("customer"), ctx.customer_id), (ctx.t("month"), ctx.date(data["month"], 7))]
    for key in _PROFILE_KEYS:
        value = data[key]
        if key in ("brand", "value_tier", "region"):
            value = ctx.label(key, value)
        pairs.append((ctx.t(key), ctx.fmt(value)))
    flags = ", ".join(ctx.t(f) for f in data["flags"]) or ctx.t("none")
    pairs.append((ctx.t("flags"), flags))
    return _key_values(pairs)


# ---- value ----------------------------------------------------------------------------------


def _render_value(data: dict[str, Any], ctx: CardContext) -> RenderableType:
    latest = _key_values([(ctx.t(k), ctx.fmt(v)) for k, v in data["latest"].items()])
    table = Table(header_style="bold", box=None)
    for key in (
        "month",
        "arpu_yuan",
        "n_contacts",
        "cost_to_serve_yuan",
        "net_contribution_yuan",
        "contribution_tier",
    ):
        table.add_column(ctx.t(key), justify="left" if key == "month" else "right")
    for r in data["history"]:
        table.add_row(
            ctx.date(r["month"], 7),
            ctx.fmt(r["arpu_yuan"]),
            ctx.fmt(r["n_contacts"]),
            ctx.fmt(r["cost_to_serve_yuan"]),
            ctx.fmt(r["net_contribution_yuan"]),
            ctx.fmt(r["contribution_tier"]),
        )
    return Group(latest, "", table)


# ---- channels -------------------------------------------------------------------------------
def _render_channels(data: list[dict[str, Any]], ctx: CardContext) -> RenderableType:
    table = Table(header_style="bold", box=None)
    for key in ("channel", "n_contacts", "n_contacts_3m", "n_payments_3m", "level"):
        table.add_column(ctx.t(key), justify="left" if key == "channel" else "right")
    for r in data:
        table.add_row(
            ctx.label("channel", r["channel"]),
            ctx.fmt(r["n_contacts"]),
            ctx.fmt(r["n_contacts_3m"]),
            ctx.fmt(r["n_payments_3m"]),
            "●" * r["level"] + "○" * (5 - r["level"]),
        )
    return table if data else ctx.t("none")


# ---- preference levels ----------------------------------------------------------------------
def _render_preferences(data: list[dict[str, Any]], ctx: CardContext) -> RenderableType:
    table = Table(header_style="bold", box=None)
    for key in ("business", "channel", "n_contacts", "share", "level"):
        table.add_column(ctx.t(key), justify="left" if key in ("business", "channel") else "right")
    for r in data:
        table.add_row(
            ctx.label("business", r["business"]),
            ctx.label("channel", r["channel"]),
            ctx.fmt(r["n_contacts_window"]),
            format_percent(r["share_window"], ctx.lang, 0),
            f"{r['level']} " + "●" * r["level"] + "○" * (5 - r["level"]),
        )
    return table if data else ctx.t("none")


# ---- recent contacts ------------------------------------------------------------------------
def _render_recent(data: list[dict[str, Any]], ctx: CardContext) -> RenderableType:
    table = Table(header_style="bold", box=None)
    for key in ("started_at", "channel", "business", "outcome"):
        table.add_column(ctx.t(key))
    for r in data:
        table.add_row(
            ctx.date(r["started_at"], 16),
            ctx.label("channel", r["channel"]),
            ctx.label("business", r["business"]),
            ctx.label("outcome", r["outcome"]),
        )
    return table if data else ctx.t("none")


# ---- complaints and satisfaction ------------------------------------------------------------


def _render_satisfaction(data: dict[str, Any], ctx: CardContext) -> RenderableType:
    return _key_values([(ctx.t(k), ctx.fmt(v)) for k, v in data.items()])


# ============================================================================================
# The card's sections, in order. Other capabilities APPEND their own section here (see the
# module docstring): e.g. the tags package adds a "tags" section with each tag's marketing
# hint. This module must not import them; they import this list.
# ============================================================================================
def _from_card(section_id: str) -> Callable[[CardContext], Any]:
    """The collector of one of the customers capability's own card sections."""
    return lambda ctx: ctx.card().get(section_id)


CARD_SECTIONS: list[CardSection] = [
    CardSection("profile", _from_card("profile"), _render_profile),
    CardSection("value", _from_card("value"), _render_value),
    CardSection("channels", _from_card("channels"), _render_channels),
    CardSection("preferences", _from_card("preferences"), _render_preferences),
    CardSection("recent_contacts", _from_card("recent_contacts"), _render_recent),
    CardSection("satisfaction", _from_card("satisfaction"), _render_satisfaction),
]


def collect_card(ctx: CardContext, sections: list[CardSection] | None = None) -> dict[str, Any]:
    """Every section's data, in order: ``{section_id: data}`` (sections without data left out)."""
    out: dict[str, Any] = {}
    for section in CARD_SECTIONS if sections is None else sections:
        data = section.collect(ctx)
        if data is not None:
            out[section.id] = data
    return out


def render_card(
    card: dict[str, Any], ctx: CardContext, sections: list[CardSection] | None = None
) -> list[Panel]:
    """One Rich panel per collected section, titled in the card's language."""
    by_id = {s.id: s for s in (CARD_SECTIONS if sections is None else sections)}
    return [
        Panel(by_id[sid].render(data, ctx), title=ctx.t(sid), title_align="left")
        for sid, data in card.items()
        if sid in by_id
    ]


def _find_by_phone(con: Any, number: str, config: Config) -> str:
    from touchpoint.ingest import msisdn_lookup_hash

    customers = read_table(con, "stg_customers")
    if "msisdn_hash" not in customers.columns:
        raise UnknownCustomerError(
            "stg_customers holds no phone numbers (no msisdn column was loaded)"
        )
    digest = msisdn_lookup_hash(con, number, config=config)
    found = customers.filter(customers.msisdn_hash == digest).customer_id.to_pyarrow().to_pylist()
    if not found:
        masked = (
            number.strip()[:3] + "****" + number.strip()[-4:] if len(number.strip()) > 7 else "***"
        )
        raise UnknownCustomerError(
            f"no customer with phone number {masked} in stg_customers; check the number, or "
            "that the warehouse was loaded with the same PII key"
        )
    return found[0]


@app.command()
def customer(
    customer_id: Annotated[
        str | None, typer.Argument(help="Customer id.", show_default=False)
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="Find the customer by phone number instead.")
    ] = None,
    recent: Annotated[int, typer.Option("--recent", min=0, help="Recent contacts to show.")] = 10,
    as_json: JsonOption = False,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """The frontline card of one customer: profile, value, channels, preference levels, contacts."""
    cfg = load_config(config)
    if (customer_id is None) == (phone is None):
        raise typer.BadParameter("give a customer id or --phone NUMBER (one of them)")
    with open_warehouse(warehouse) as con:
        if phone is not None:
            customer_id = _find_by_phone(con, phone, cfg)
        ctx = CardContext(con, cfg, customer_id, lang, recent)
        ctx.card()  # a clear error for a missing 360 or an unknown customer
        card = collect_card(ctx)
    if as_json:
        print_json({"customer_id": customer_id, **card})
        return
    for panel in render_card(card, ctx):
        console.print(panel)


__all__ = ["CARD_SECTIONS", "CardContext", "CardSection", "collect_card", "render_card"]
