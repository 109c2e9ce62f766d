"""``touchpoint campaign``: create, list, show, approve, dispatch and track campaigns.

Thin adapter: the analytics are in :mod:`touchpoint.campaigns`; this module reads and appends
the warehouse tables ``campaign_definitions`` (one row per campaign × version),
``campaign_assignments`` (one row per campaign × customer) and
``campaign_work_order_events`` (append-only), each write in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv
import typer
from rich.console import RenderableType
from rich.table import Table

from touchpoint.campaigns import (
    EVENTS_TABLE,
    CampaignError,
    approval_events,
    assign_wave,
    campaign_from_data,
    campaign_savings_rows,
    campaign_settings_from_config,
    campaign_tracking,
    created_events,
    customer_work_orders,
    dispatch,
    dispatched_history,
    eligible_audience,
    is_global_holdout,
    limit_size,
    load_campaign,
    order_states,
    sample_ratio_check,
    select_audience,
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
from touchpoint.labels import text, translate
from touchpoint.query import require_table
from touchpoint.warehouse import Insert, load_atomically

DEFINITIONS_TABLE = "campaign_definitions"
ASSIGNMENTS_TABLE = "campaign_assignments"


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


def _definition(con, campaign_id: str):
    defs = _table(con, DEFINITIONS_TABLE)
    if defs is None:
        raise CampaignError(f"campaign {campaign_id!r}: no campaigns yet (campaign create FILE)")
    rows = (
        defs.filter(defs.campaign_id == campaign_id)
        .order_by(ibis.desc("version"))
        .limit(1)
        .to_pyarrow()
        .to_pylist()
    )
    if not rows:
        raise CampaignError(f"campaign {campaign_id!r}: unknown campaign")
    return rows[0], campaign_from_data(json.loads(rows[0]["definition_json"]), campaign_id)


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
    cfg = load_config(config)
    settings = campaign_settings_from_config(cfg)
    actor, now = _user(by), _now()
    with open_warehouse(warehouse, write=True) as con:
        campaign = load_campaign(file)
        c360 = require_table(con, "mart_customer_360")
        membership = _table(con, "mart_tag_membership")
        audience = select_audience(c360, campaign, membership=membership)
        audience = audience.filter(
            ~is_global_holdout(
                audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
            )
        )
        # Who dispatch would hold back whatever the group leaves before the draw.
        responses = _table(con, "stg_campaign_responses")
        audience = eligible_audience(
            audience,
            settings.policy,
            opted_out=(
                responses.filter(responses.response == settings.policy.opted_out_response)
                if responses is not None
                else None
            ),
            sensitive=(
                membership.filter(membership.tag_id == settings.policy.sensitive_tag)
                if membership is not None
                else None
            ),
        )
        if campaign.max_size is not None:
            audience = limit_size(audience, campaign)
        previous = _table(con, ASSIGNMENTS_TABLE)
        if previous is not None:
            previous = previous.filter(previous.campaign_id == campaign.id)
        old_defs = _table(con, DEFINITIONS_TABLE)
        history = (
            old_defs.filter(old_defs.campaign_id == campaign.id).to_pyarrow().to_pylist()
            if old_defs is not None
            else []
        )
        wave = 1 + max((int(r["version"]) for r in history), default=0)
        assignment = pa.Table.from_pylist(
            assign_wave(audience, previous, campaign.id, campaign.holdout_share)
            .to_pyarrow()
            .to_pylist()
        )
        fresh = ibis.memtable(assignment)
        if previous is not None:
            fresh = fresh.anti_join(previous, "customer_id")
        events = created_events(campaign, fresh, wave, actor, now).to_pyarrow()
        fresh_rows = fresh.mutate(
            campaign_id=ibis.literal(campaign.id),
            wave=ibis.literal(wave, "int64"),
            audience_month=c360.month.max().as_scalar(),
            assigned_at=ibis.literal(now),
        ).to_pyarrow()
        definition = pa.Table.from_pylist(
            [
                {
                    "campaign_id": campaign.id,
                    "version": wave,
                    "fingerprint": campaign.fingerprint(),
                    "definition_json": json.dumps(campaign.model_dump(mode="json")),
                    "created_by": actor,
                    "created_at": now,
                }
            ]
        )
        load_atomically(
            con,
            inserts=[
                Insert(DEFINITIONS_TABLE, definition),
                Insert(ASSIGNMENTS_TABLE, fresh_rows),
                Insert(EVENTS_TABLE, events),
            ],
        )
    groups = assignment.column("group").to_pylist()
    n_h = groups.count("holdout")
    srm = sample_ratio_check(len(groups) - n_h, n_h, campaign.holdout_share, settings.srm_alpha)
    summary = {
        "campaign_id": campaign.id,
        "version": wave,
        "n_audience": len(groups),
        "n_treatment": len(groups) - n_h,
        "n_holdout": n_h,
        "n_work_orders_created": events.num_rows,
        "srm_p_value": srm.p_value,
    }
    if as_json:
        print_json(summary)
    else:
        console.print(" ".join(f"{k}={v}" for k, v in summary.items()))


def _events(con, campaign_id: str):
    events = _table(con, EVENTS_TABLE)
    if events is None:
        raise CampaignError(f"campaign {campaign_id!r}: no work orders yet")
    return events


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
        new = approval_events(_events(con, campaign_id), campaign_id, _user(by), _now())
        data = new.to_pyarrow()
        load_atomically(con, inserts=[Insert(EVENTS_TABLE, data)])
    console.print(f"approved {data.num_rows:,} work orders of {campaign_id}")


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
    with open_warehouse(warehouse, write=True) as con:
        _, campaign = _definition(con, campaign_id)
        events = _events(con, campaign_id)
        if sent_at is None:
            last = con.table("mart_customer_360").month.max().execute()
            nxt = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            when = dt.datetime.combine(nxt, dt.time(campaign.send_hour))
        else:
            try:
                when = dt.datetime.fromisoformat(sent_at)
            except ValueError:
                raise CampaignError(f"--sent-at {sent_at!r}: not YYYY-MM-DD HH:MM") from None
        responses = _table(con, "stg_campaign_responses")
        opted = (
            responses.filter(responses.response == settings.policy.opted_out_response)
            if responses is not None
            else None
        )
        membership = _table(con, "mart_tag_membership")
        sensitive = (
            membership.filter(membership.tag_id == settings.policy.sensitive_tag)
            if membership is not None
            else None
        )
        new, rows = dispatch(
            events,
            campaign,
            settings.policy,
            actor=_user(by),
            at=_now(),
            sent_at=when,
            history=dispatched_history(events),
            opted_out=opted,
            sensitive=sensitive,
        )
        data, file_rows = new.to_pyarrow(), rows.to_pyarrow()
        tmp = out.with_name(out.name + ".part")
        pa_csv.write_csv(file_rows, tmp)
        load_atomically(con, inserts=[Insert(EVENTS_TABLE, data)])
        tmp.replace(out)
    console.print(
        f"dispatched {file_rows.num_rows:,} work orders to {out}; "
        f"held back {data.num_rows - file_rows.num_rows:,}"
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
