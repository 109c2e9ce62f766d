"""The console's campaign pages (issues 12 and 15): every campaign with its work orders by
state; the form (and the YAML upload) that creates a campaign from a tag or a rule; the
approve and dispatch buttons; each campaign's tracking. ``roles.yaml`` says who may do what.

The pages only call the campaign flow of :mod:`touchpoint.campaigns` (the same functions as
``touchpoint campaign create|approve|dispatch``: the form's fields go through the same
:func:`~touchpoint.campaigns.campaign_from_data` as the CLI's file) on a short writer
connection, one transaction per click, then republish the changed tables into the current
snapshot, as the tag wiki does. A definition's problems are shown next to their fields in
the page's language; a refusal (own campaign, nothing to approve, not approved yet) is a 409
page with its line. Every create, approve and dispatch is audited.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from touchpoint import campaigns, tags
from touchpoint.campaigns import CampaignError, FieldProblem
from touchpoint.labels import format_money, text, translate
from touchpoint.platform._api import ID_PATTERN, clean
from touchpoint.platform._console import WRITER_BUSY, lang_of, render
from touchpoint.platform._deps import PlatformDep, PrincipalDep, WarehouseDep
from touchpoint.platform._security import Problem

#: Where the console's dispatches leave the channel files, beside the warehouse file.
WORK_ORDERS_DIR = "work_orders"
#: The largest campaign YAML file the console takes (a definition is a few hundred bytes);
#: a whole request over ``platform.max_body_bytes`` (64 KiB) is refused before, with a 413.
MAX_CAMPAIGN_FILE_BYTES = 16 * 1024
#: The create form's fields, in the order shown; each takes the problems of these model fields.
FORM_FIELDS = {
    "id": ("id",),
    "name_en": ("name", "name.en"),
    "name_zh": ("name.zh",),
    "action": ("action",),
    "audience": ("audience", "audience.rule", "audience.tags"),
    "channel": ("channels",),
    "holdout_share": ("holdout_share",),
    "waves": ("waves",),
    "max_size": ("max_size",),
    "budget_yuan": ("budget_yuan",),
}


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


def form_data(form: dict[str, str]) -> dict[str, Any]:
    """The create form's fields as a campaign definition, exactly as a YAML file would hold
    it (blank optional fields left out): :func:`campaigns.campaign_from_data` validates it."""
    data: dict[str, Any] = {
        "id": form.get("id", ""),
        "name": {"en": form.get("name_en", ""), "zh": form.get("name_zh", "")},
        "action": form.get("action", ""),
        "audience": {},
        "channels": [form.get("channel", "")],
    }
    if form.get("tag"):
        data["audience"]["tags"] = [form["tag"]]
    if form.get("rule", "").strip():
        data["audience"]["rule"] = form["rule"].strip()
    for key in ("holdout_share", "waves", "max_size", "budget_yuan"):
        if form.get(key, "").strip():
            data[key] = form[key].strip()
    return data


def problem_text(problem: FieldProblem, lang: str) -> str:
    """One problem in the page's language (the English message for a kind with no text)."""
    try:
        return text(f"platform.campaign_err_{problem.kind}", lang, **problem.values)
    except (KeyError, IndexError):
        return problem.message


def field_errors(exc: CampaignError, lang: str, upload: bool = False) -> dict[str, str]:
    """The problems of ``exc`` by form field (``campaign``: the form as a whole; an upload's
    all go to ``file``, each with its line), one line each in ``lang``."""
    if not exc.problems:
        return {"file" if upload else "campaign": str(exc)}
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        said = problem_text(problem, lang)
        if upload:
            where = problem.field
            if problem.line:
                where += ", " + text("platform.campaign_line", lang, line=problem.line)
            out.setdefault("file", []).append(f"{where}: {said}")
            continue
        target = next(
            (name for name, fields in FORM_FIELDS.items() if problem.field in fields),
            None,
        ) or next(
            (name for name, fields in FORM_FIELDS.items() if problem.field.split(".")[0] in fields),
            "campaign",
        )
        out.setdefault(target, []).append(said)
    return {k: "; ".join(v) for k, v in out.items()}


def _refusal(request: Request, who, exc: CampaignError) -> Response:
    """A refused step (own campaign, nothing to approve, not approved) as a 409 page, in the
    page's language when the flow named the kind of refusal."""
    lang = lang_of(request)
    said = "; ".join(problem_text(p, lang) for p in exc.problems) or str(exc)
    return render(request, "error.html", who, 409, detail=said, refused=True)


def metric_label(config, metric: str, lang: str) -> str:
    """A tracked indicator's name, as the report's Campaigns section says it."""
    if metric.startswith("went_to_"):
        channel = metric.removeprefix("went_to_")
        with contextlib.suppress(KeyError):  # a channel with no name: its id
            channel = config.label("channel", channel, lang)
        return text("campaign_tracking.metric_went_to", lang, channel=channel)
    try:
        return translate(f"campaign_tracking.metric_{metric}", lang)
    except KeyError:
        return metric


def _create(platform, who, campaign: campaigns.Campaign) -> dict[str, Any]:
    """The flow's ``create_campaign`` on the writer, then the audit entry."""
    settings = campaigns.campaign_settings_from_config(platform.config)
    actor, now = who.username or "", _now()
    summary = run_flow(
        platform,
        lambda con, save: campaigns.create_campaign(
            con, campaign, actor, now, settings=settings, save=save
        ),
    )
    platform.store.audit(
        who.username,
        "campaign.create",
        target=f"{campaign.id} v{summary['version']}",
        n_rows=summary["n_work_orders_created"],
        client=who.client,
    )
    return summary


CREATED_FIELDS = ("created", "version", "n_treatment", "n_holdout", "n_work_orders")


def _created_query(summary: dict[str, Any]) -> str:
    return (
        f"created={summary['campaign_id']}&version={summary['version']}"
        f"&n_treatment={summary['n_treatment']}&n_holdout={summary['n_holdout']}"
        f"&n_work_orders={summary['n_work_orders_created']}"
    )


def add_console_campaigns(app: FastAPI) -> None:
    """``/console/campaigns``: the list, the create form and upload, the approve and
    dispatch buttons, and each campaign's tracking page."""
    _add_list_routes(app)
    _add_detail_route(app)
    _add_action_routes(app)


def _page(
    request: Request,
    con,
    platform,
    who,
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The list page with its create form (the values sent and their errors when refused)."""
    lang = lang_of(request)
    query = request.query_params
    rows = campaigns.campaign_list(con)
    created = {k: query.get(k, "") for k in CREATED_FIELDS}
    known = {r["campaign_id"] for r in rows}
    numbers = all(created[k].isdigit() for k in CREATED_FIELDS[1:])
    if created["created"] not in known or not numbers:
        created = None  # only the redirect of a real create shows the line
    catalogue = tags.catalogue_in_use(con, platform.config)
    values = {"holdout_share": "0.1", "waves": "1", "channel": "sms"}
    if query.get("tag"):
        values["tag"] = query["tag"]
    return render(
        request,
        "campaigns.html",
        who,
        status,
        rows=rows,
        states=campaigns.ORDER_STATES,
        dispatched=query.get("dispatched"),
        created=created,
        tag_options=[(tag.id, tag.name.get(lang)) for tag in catalogue.tags],
        actions=campaigns.ACTIONS,
        channels=campaigns.WORK_ORDER_CHANNELS,
        form=form if form is not None else values,
        errors=errors or {},
        open_form=bool(form is not None or query.get("tag")),
        max_file=MAX_CAMPAIGN_FILE_BYTES,
    )


def _add_list_routes(app: FastAPI) -> None:
    """The list with its create form, and the two ways to create: the form and a file."""

    @app.get("/console/campaigns", name="console_campaigns", include_in_schema=False)
    def console_campaigns(
        request: Request, con: WarehouseDep, platform: PlatformDep, who: PrincipalDep
    ) -> Response:
        return _page(request, con, platform, who)

    @app.post("/console/campaigns", name="console_campaign_create", include_in_schema=False)
    def console_campaign_create(
        request: Request,
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        id: Annotated[str, Form(max_length=200)] = "",
        name_en: Annotated[str, Form(max_length=200)] = "",
        name_zh: Annotated[str, Form(max_length=200)] = "",
        action: Annotated[str, Form(max_length=100)] = "",
        tag: Annotated[str, Form(max_length=100)] = "",
        rule: Annotated[str, Form(max_length=2000)] = "",
        channel: Annotated[str, Form(max_length=100)] = "",
        holdout_share: Annotated[str, Form(max_length=32)] = "",
        waves: Annotated[str, Form(max_length=32)] = "",
        max_size: Annotated[str, Form(max_length=32)] = "",
        budget_yuan: Annotated[str, Form(max_length=32)] = "",
    ) -> Response:
        form = {
            "id": id,
            "name_en": name_en,
            "name_zh": name_zh,
            "action": action,
            "tag": tag,
            "rule": rule,
            "channel": channel,
            "holdout_share": holdout_share,
            "waves": waves,
            "max_size": max_size,
            "budget_yuan": budget_yuan,
        }
        lang = lang_of(request)
        try:
            campaign = campaigns.campaign_from_data(form_data(form), "form")
            summary = _create(platform, who, campaign)
        except CampaignError as exc:
            return _page(request, con, platform, who, 422, form, field_errors(exc, lang))
        return RedirectResponse(f"/console/campaigns?{_created_query(summary)}", 303)

    @app.post("/console/campaigns/upload", name="console_campaign_upload", include_in_schema=False)
    def console_campaign_upload(
        request: Request,
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        file: UploadFile,
    ) -> Response:
        lang = lang_of(request)
        data = file.file.read(MAX_CAMPAIGN_FILE_BYTES + 1)
        name = Path(file.filename or "campaign.yaml").name
        problem = None
        if len(data) > MAX_CAMPAIGN_FILE_BYTES:
            problem = text("platform.campaign_upload_too_big", lang, limit=MAX_CAMPAIGN_FILE_BYTES)
        else:
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError:
                problem = text("platform.campaign_upload_not_text", lang)
        if problem is not None:
            return _page(request, con, platform, who, 422, {}, {"file": problem})
        try:
            campaign = campaigns.campaign_from_text(source, name)
            summary = _create(platform, who, campaign)
        except CampaignError as exc:
            return _page(request, con, platform, who, 422, {}, field_errors(exc, lang, True))
        return RedirectResponse(f"/console/campaigns?{_created_query(summary)}", 303)


def _add_detail_route(app: FastAPI) -> None:
    """One campaign: its definition, work orders and tracking."""

    @app.get("/console/campaigns/{campaign_id}", name="console_campaign", include_in_schema=False)
    def console_campaign(
        request: Request,
        campaign_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
    ) -> Response:
        try:
            detail = clean(campaigns.campaign_detail(con, campaign_id))
            _, campaign = campaigns.campaign_definition(con, campaign_id)
        except CampaignError as exc:
            raise Problem(404, "Unknown campaign", str(exc)) from None
        tracking = detail["tracking"]
        lang = lang_of(request)
        for r in tracking:
            r["metric_label"] = metric_label(platform.config, r["metric"], lang)
        return render(
            request,
            "campaign.html",
            who,
            campaign=campaign,
            name=getattr(campaign.name, lang),
            detail=detail,
            states=campaigns.ORDER_STATES,
            tracking=tracking,
            money=lambda v: format_money(v, lang),
            savings=detail["savings"],
        )


def _add_action_routes(app: FastAPI) -> None:
    """The approve and dispatch buttons."""

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
            n_approved = run_flow(
                platform,
                lambda con, save: campaigns.approve_campaign(
                    con, campaign_id, actor, _now(), save=save
                ),
            )
        except CampaignError as exc:
            return _refusal(request, who, exc)
        platform.store.audit(
            who.username,
            "campaign.approve",
            target=campaign_id,
            n_rows=n_approved,
            client=who.client,
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
            done = run_flow(
                platform,
                lambda con, save: campaigns.dispatch_campaign(
                    con, campaign_id, actor, now, settings=settings, save=save, deliver=deliver
                ),
            )
        except CampaignError as exc:
            return _refusal(request, who, exc)
        part.replace(out)
        platform.store.audit(
            who.username,
            "campaign.dispatch",
            target=campaign_id,
            n_rows=done.rows.num_rows,
            client=who.client,
        )
        return RedirectResponse(f"/console/campaigns?dispatched={out.name}", status_code=303)
