"""The console's campaign pages (issues 12 and 15): every campaign with its work orders by
state, and the approve and dispatch buttons for the roles ``roles.yaml`` allows.

The page only calls the campaign flow of :mod:`touchpoint.campaigns` (the same functions as
``touchpoint campaign approve|dispatch``) on a short writer connection, one transaction per
click, then republishes the changed tables into the current snapshot, as the tag wiki does.
A refusal (own campaign, nothing to approve, not approved yet) is a 409 page with its line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from touchpoint import campaigns
from touchpoint.campaigns import CampaignError
from touchpoint.platform._api import ID_PATTERN
from touchpoint.platform._console import WRITER_BUSY, render
from touchpoint.platform._deps import PlatformDep, PrincipalDep, WarehouseDep
from touchpoint.platform._security import Problem

#: Where the console's dispatches leave the channel files, beside the warehouse file.
WORK_ORDERS_DIR = "work_orders"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def run_flow(platform, step: Callable[[Any, campaigns.Save], Any]) -> Any:
    """Run one step of the campaign flow on the warehouse's writer connection (its ``save``
    is one ``load_atomically`` transaction), then show the change: the tables it appended
    to are republished into the current snapshot."""
    from touchpoint.errors import WarehouseError
    from touchpoint.warehouse import Insert, connect, load_atomically, republish_tables

    try:
        con = connect(platform.warehouse)  # the writer: refused at once while a run writes
    except WarehouseError:
        raise Problem(503, "Warehouse busy", WRITER_BUSY, {"Retry-After": "60"}) from None
    changed: set[str] = set()

    def save(writes) -> None:
        load_atomically(con, inserts=[Insert(table, data) for table, data in writes.items()])
        changed.update(writes)

    try:
        result = step(con, save)
        tables = {name: con.table(name).to_pyarrow() for name in sorted(changed)}
    finally:
        con.disconnect()
    if tables:
        republish_tables(platform.warehouse, tables)
        platform.reader.look_again()  # the redirect shows the change
    return result


def add_console_campaigns(app: FastAPI) -> None:
    """``/console/campaigns`` and its two buttons."""

    @app.get("/console/campaigns", name="console_campaigns", include_in_schema=False)
    def console_campaigns(request: Request, con: WarehouseDep, who: PrincipalDep) -> Response:
        rows = campaigns.campaign_list(con)
        return render(
            request,
            "campaigns.html",
            who,
            rows=rows,
            states=campaigns.ORDER_STATES,
            dispatched=request.query_params.get("dispatched"),
        )

    @app.post(
        "/console/campaigns/{campaign_id}/approve",
        name="console_campaign_approve",
        include_in_schema=False,
    )
    def console_campaign_approve(
        request: Request,
        campaign_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        platform: PlatformDep,
        who: PrincipalDep,
    ) -> Response:
        actor = who.username or ""
        try:
            run_flow(
                platform,
                lambda con, save: campaigns.approve_campaign(
                    con, campaign_id, actor, _now(), save=save
                ),
            )
        except CampaignError as exc:
            return render(request, "error.html", who, 409, detail=str(exc))
        platform.store.audit(
            who.username, "campaign.approve", target=campaign_id, client=who.client
        )
        return RedirectResponse("/console/campaigns", status_code=303)

    @app.post(
        "/console/campaigns/{campaign_id}/dispatch",
        name="console_campaign_dispatch",
        include_in_schema=False,
    )
    def console_campaign_dispatch(
        request: Request,
        campaign_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        platform: PlatformDep,
        who: PrincipalDep,
    ) -> Response:
        actor, now = who.username or "", _now()
        settings = campaigns.campaign_settings_from_config(platform.config)
        folder = Path(platform.warehouse).parent / WORK_ORDERS_DIR
        out = folder / f"{campaign_id}-{now:%Y%m%d%H%M%S}.csv"
        part = out.with_name(out.name + ".part")

        def deliver(rows) -> None:
            import pyarrow.csv as pa_csv

            folder.mkdir(exist_ok=True)
            pa_csv.write_csv(rows, part)

        try:
            run_flow(
                platform,
                lambda con, save: campaigns.dispatch_campaign(
                    con, campaign_id, actor, now, settings=settings, save=save, deliver=deliver
                ),
            )
        except CampaignError as exc:
            return render(request, "error.html", who, 409, detail=str(exc))
        part.replace(out)
        platform.store.audit(
            who.username, "campaign.dispatch", target=campaign_id, client=who.client
        )
        return RedirectResponse(f"/console/campaigns?dispatched={out.name}", status_code=303)
