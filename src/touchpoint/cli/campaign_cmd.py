"""``touchpoint campaign``: create, list, show, approve, dispatch and track campaigns.

Thin adapter: the flow (create, approve, dispatch) is in :mod:`touchpoint.campaigns`
(``create_campaign``, ``approve_campaign``, ``dispatch_campaign``); this module parses the
options, hands them a writer connection's one transaction (``load_atomically``) and renders
what they return.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import pyarrow.csv as pa_csv
import typer
from rich.console import RenderableType
from rich.table import Table

from touchpoint.campaigns import (
    EVENTS_TABLE,
    CampaignError,
    Save,
    approve_campaign,
    campaign_definition,
    campaign_savings_rows,
    campaign_settings_from_config,
    campaign_tracking,
    create_campaign,
    customer_work_orders,
    dispatch_campaign,
    load_campaign,
    order_states,
    work_order_events,
)
from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
)
from touchpoint.cli.common import open_warehouse, print_json
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext, CardSection
from touchpoint.config import load_config
from touchpoint.labels import format_money, format_number, format_percent, text, translate
from touchpoint.warehouse import Insert, load_atomically


def _collect_work_orders(ctx: CardContext) -> list[dict] | None:
    if not ctx.has(EVENTS_TABLE):
        return None
    return [
        {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
        for r in customer_work_orders(ctx.con, ctx.customer_id)
    ]


def _render_work_orders(data: list[dict], ctx: CardContext) -> RenderableType:
    if not data:
        return ctx.t("none")
    table = Table(header_style="bold", box=None)
    for key in ("campaign_id", "channel", "state", "sent_at", "response"):
        table.add_column(translate(f"campaign_tracking.card_{key}", ctx.lang), overflow="fold")
    for r in data:
        state = text(
            f"campaign_tracking.card_state_{r['state']}", ctx.lang, reason=r["reason"] or ""
        )
        table.add_row(
            r["campaign_id"],
            ctx.label("channel", r["channel"])
            if r["channel"] in ctx.config.ids("channel")
            else r["channel"],
            state,
            "–" if r["sent_at"] is None else ctx.date(r["sent_at"], 16),
            "–" if r["response"] is None else ctx.label("campaign_response", r["response"]),
        )
    return table


# The customer card shows the customer's work orders and what came back.
CARD_SECTIONS.append(CardSection("work_orders", _collect_work_orders, _render_work_orders))
campaign_app = typer.Typer(
    help="Campaigns with a holdout: create, approve, dispatch, track.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does it (default: $USER).", show_default=False)
]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _user(by: str | None) -> str:
    return by or os.environ.get("USER") or "unknown"


def _table(con, name):
    return con.table(name) if name in con.list_tables() else None


_definition = campaign_definition
_events = work_order_events


def _saver(con) -> Save:
    """The flow's writes, in one transaction of this connection."""

    def save(writes) -> None:
        load_atomically(con, inserts=[Insert(table, data) for table, data in writes.items()])

    return save


@campaign_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="Campaign YAML.")],
    by: ByOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """Store the campaign (a new version when it changed), draw its holdout, create orders."""
    settings = campaign_settings_from_config(load_config(config))
    actor, now = _user(by), _now()
    with open_warehouse(warehouse, write=True) as con:
        campaign = load_campaign(file)
        summary = create_campaign(con, campaign, actor, now, settings=settings, save=_saver(con))
    if as_json:
        print_json(summary)
    else:
        console.print(" ".join(f"{k}={v}" for k, v in summary.items()))


@campaign_app.command("approve")
def approve(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    by: ByOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Approve the campaign's created work orders (not by the user who created them)."""
    with open_warehouse(warehouse, write=True) as con:
        n = approve_campaign(con, campaign_id, _user(by), _now(), save=_saver(con))
    console.print(f"approved {n:,} work orders of {campaign_id}")


@campaign_app.command("dispatch")
def dispatch_cmd(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    out: Annotated[Path, typer.Option("--out", help="Work-orders CSV to write.")],
    sent_at: Annotated[
        str | None, typer.Option("--sent-at", help="YYYY-MM-DD HH:MM (default: next month 10:00).")
    ] = None,
    by: ByOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Apply the contact policy and write the dispatched work orders (simulator format)."""
    settings = campaign_settings_from_config(load_config(config))
    when = None
    if sent_at is not None:
        try:
            when = dt.datetime.fromisoformat(sent_at)
        except ValueError:
            raise CampaignError(f"--sent-at {sent_at!r}: not YYYY-MM-DD HH:MM") from None
    tmp = out.with_name(out.name + ".part")
    with open_warehouse(warehouse, write=True) as con:
        done = dispatch_campaign(
            con,
            campaign_id,
            _user(by),
            _now(),
            settings=settings,
            save=_saver(con),
            sent_at=when,
            # The file is written before the events land and named once they have.
            deliver=lambda rows: pa_csv.write_csv(rows, tmp),
        )
        tmp.replace(out)
    console.print(
        f"dispatched {done.rows.num_rows:,} work orders to {out}; held back {done.n_held_back:,}"
    )


@campaign_app.command("list")
def list_cmd(
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """Every campaign: latest version and its work orders by state."""
    with open_warehouse(warehouse) as con:
        events = _table(con, EVENTS_TABLE)
        rows = []
        if events is not None:
            states = order_states(events)
            rows = (
                states.group_by("campaign_id", "state")
                .agg(n=states.count())
                .order_by("campaign_id", "state")
                .to_pyarrow()
                .to_pylist()
            )
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            console.print(f"{r['campaign_id']}  {r['state']}  {r['n']:,}")


@campaign_app.command("show")
def show(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """A campaign's definition and its work orders by state and hold reason."""
    with open_warehouse(warehouse) as con:
        row, _ = _definition(con, campaign_id)
        states = order_states(_events(con, campaign_id))
        states = states.filter(states.campaign_id == campaign_id)
        counts = states.group_by("state", "reason").agg(n=states.count()).to_pyarrow().to_pylist()
    doc = {
        "definition": json.loads(row["definition_json"]),
        "version": row["version"],
        "created_by": row["created_by"],
        "orders": counts,
    }
    if as_json:
        print_json(doc)
    else:
        console.print_json(json.dumps(doc, default=str, ensure_ascii=False))


def _retention_line(m: dict, lang: str) -> str:
    """A retention offer's month of ``mart_campaign_savings``: kept, value, success vs target."""

    def yuan(v):
        return "-" if v is None else format_money(v, lang)

    def pct(v, digits=1):
        return "-" if v is None else format_percent(v, lang, digits)

    return text(
        "campaign_tracking.retention_line",
        lang,
        month=m["month"],
        kept=format_number(m["moved"], lang, 1),
        kept_low=format_number(m["moved_low"], lang, 1),
        kept_high=format_number(m["moved_high"], lang, 1),
        value=yuan(m["cost_difference_yuan"]),
        arpu=yuan(m["arpu_yuan"]),
        months=format_number(m["remaining_months"], lang, 0),
        saving=yuan(m["saving_yuan"]),
        saving_low=yuan(m["saving_low_yuan"]),
        saving_high=yuan(m["saving_high_yuan"]),
        orders=yuan(m["order_cost_yuan"]),
        net=yuan(m["net_saving_to_date_yuan"]),
        target=pct(m["target_success_rate"], 0),
        rate=pct(m["success_rate"]),
        rate_low=pct(m["success_low"]),
        rate_high=pct(m["success_high"]),
    )


@campaign_app.command("track")
def track_cmd(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """Treated vs holdout month by month: net effect with its interval, naive beside it.

    Reads ``mart_campaign_tracking`` and ``mart_campaign_savings`` (``touchpoint run`` builds
    them from the campaign tables and the ingested months)."""
    with open_warehouse(warehouse) as con:
        _definition(con, campaign_id)
        rows = campaign_tracking(con, campaign_id)
        money = campaign_savings_rows(con, campaign_id)
    if as_json:
        print_json({"tracking": rows, "savings": money})
        return

    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    for m in money:
        if m["metric"] == "churned":
            console.print(_retention_line(m, lang))
            continue
        console.print(
            f"{m['month']} saving {m['saving_yuan']:,.0f} yuan "
            f"[{num(m['saving_low_yuan'], ',.0f')}, {num(m['saving_high_yuan'], ',.0f')}] "
            f"net of {m['n_orders']:,} orders to date {m['net_saving_to_date_yuan']:,.0f} yuan"
        )
    for r in rows:
        console.print(
            f"{r['month']} {r['metric']:<22} treated {num(r['rate_treatment'], '.3f')} "
            f"holdout {num(r['rate_holdout'], '.3f')} net {num(r['net_effect'], '+.3f')} "
            f"[{num(r['net_ci_low'], '+.3f')}, {num(r['net_ci_high'], '+.3f')}] "
            f"naive {num(r['naive_effect'], '+.3f')}"
        )
