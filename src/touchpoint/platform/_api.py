"""The REST API, ``/api/v1``: thin routes over the capabilities' query functions.

Each route renders a query function's JSON-ready result (the same one the CLI and the report
render) and computes no figure of its own. Its name is its entry in ``roles.yaml``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from enum import StrEnum
from typing import Annotated, Any

import pyarrow as pa
import xlsxwriter
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from touchpoint import campaigns, channels, churn, customers, ivr, tags
from touchpoint.errors import ConfigError
from touchpoint.labels import INVALID, jsonable, to_rows
from touchpoint.platform._deps import (
    SESSION_COOKIE,
    PlatformDep,
    PrincipalDep,
    WarehouseDep,
    client_of,
    page,
)
from touchpoint.platform._security import Problem
from touchpoint.platform._serving import PHONE_INDEX, ServingBackend


class ProblemOut(BaseModel):
    """An error (RFC 9457 problem details): what went wrong, in one line."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


_PROBLEM = {"model": ProblemOut, "content": {"application/problem+json": {}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": text}
    for status, text in {
        401: "Not logged in, or the API token is not valid",
        403: "The role may not use this, or the CSRF token is missing",
        404: "Not found",
        413: "Request body too large",
        422: "Invalid parameters",
        429: "Too many failed logins",
        503: "The warehouse is being written by a run, or not built",
    }.items()
}

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
log = logging.getLogger("touchpoint.platform")

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class Dimension(StrEnum):
    region = "region"
    brand = "brand"
    value_tier = "value_tier"
    business = "business"


class IvrView(StrEnum):
    nodes = "nodes"
    paths = "paths"
    lost = "lost"
    graph = "graph"
    containment = "containment"


class ListName(StrEnum):
    channels = "channels"
    ivr_nodes = "ivr_nodes"
    ivr_paths = "ivr_paths"
    ivr_lost = "ivr_lost"
    ivr_graph = "ivr_graph"
    ivr_containment = "ivr_containment"
    ivr_recommendations = "ivr_recommendations"
    tags = "tags"
    churn_risks = "churn_risks"


#: The most customers at risk one list or export holds (the scores mart holds every customer).
MAX_RISKS = 10_000


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class Lang(StrEnum):
    en = "en"
    zh = "zh"


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    username: str
    role: str
    csrf_token: str


class PhoneLookup(BaseModel):
    phone: str = Field(min_length=5, max_length=32, pattern=r"^[0-9+()\-. ]+$")


class TokenOut(BaseModel):
    token: str
    username: str


def clean(value: Any) -> Any:
    """A JSON-safe copy: INVALID, NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    value = jsonable(value) if not isinstance(value, str) else value
    if value is INVALID or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    return clean(to_rows(table))


def mask_phone(number: str) -> str:
    """``13800138000`` -> ``138****8000``: the first three and last four digits only.

    >>> mask_phone("+86 138-0013-8000")
    '138****8000'
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


# ---- sessions and tokens ----------------------------------------------------------------------
@router.get("/health", name="health")
def health() -> dict[str, str]:
    """Whether the server is up (no login needed; reads nothing)."""
    return {"status": "ok"}


def start_session(platform, response: Response, username: str) -> str:
    """A fresh session (never the one the browser came with) set as an HttpOnly cookie."""
    session_id, csrf = platform.store.create_session(username)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=platform.secure_cookies,
        path="/",
    )
    return csrf


def check_login(platform, request: Request, username: str, password: str):
    """The user of a login attempt, throttled and audited; raises a 401 or 429 problem."""
    client = client_of(request)
    throttle = request.app.state.throttle
    wait = throttle.wait_seconds(username, client)
    if wait:
        platform.store.audit(username, "login", client=client, outcome="throttled")
        raise Problem(
            429,
            "Too many failed logins",
            f"too many failed logins for this user or client; try again in {wait} s",
            {"Retry-After": str(wait)},
        )
    user = platform.store.authenticate(username, password)
    if user is None:
        throttle.fail(username, client)
        platform.store.audit(username, "login", client=client, outcome="failed")
        raise Problem(401, "Login failed", "wrong user name or password, or the user is disabled")
    throttle.succeed(username)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        platform.store.end_session(old)  # no session fixation: the old id dies here
    platform.store.audit(user.username, "login", client=client)
    return user


@router.post("/session", name="login", response_model=LoginOut)
def login(
    body: LoginIn, request: Request, response: Response, platform: PlatformDep, who: PrincipalDep
) -> LoginOut:
    """Log in: sets the session cookie and returns the CSRF token every change must carry."""
    user = check_login(platform, request, body.username, body.password)
    csrf = start_session(platform, response, user.username)
    return LoginOut(username=user.username, role=user.role, csrf_token=csrf)


@router.delete("/session", name="logout", status_code=204)
def logout(platform: PlatformDep, who: PrincipalDep, response: Response) -> Response:
    """End this browser's session."""
    if who.session_id:
        platform.store.end_session(who.session_id)
    platform.store.audit(who.username, "logout", client=who.client)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", name="me")
def me(who: PrincipalDep) -> dict[str, Any]:
    """Who is logged in, with which role."""
    return {"username": who.username, "role": who.role, "via": who.via}


@router.post("/tokens", name="token_create", response_model=TokenOut)
def token_create(platform: PlatformDep, who: PrincipalDep) -> TokenOut:
    """A new API token for the caller (shown once; send it as ``Authorization: Bearer``)."""
    token = platform.store.create_token(who.username)
    platform.store.audit(who.username, "token.create", client=who.client)
    return TokenOut(token=token, username=who.username)


# ---- reads ------------------------------------------------------------------------------------
@router.get("/kpis/headline", name="headline")
def headline(con: WarehouseDep, who: PrincipalDep) -> dict[str, Any]:
    """The headline KPIs under docs/metrics.md's names."""
    return clean(channels.headline(con))


def channel_rows(con, platform, period: Period, by: Dimension | None, last: int):
    table = channels.channel_kpi_rows(con, platform.config, period.value, by and by.value, last)
    return rows_of(table)


@router.get("/channels", name="channels", response_model=Page)
def channels_list(
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    period: Period = Period.month,
    by: Dimension | None = None,
    last: Annotated[int, Query(ge=0, le=1000, description="Last N periods (0: all).")] = 0,
    channel: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Contacts, customers, cost and mix by channel per period (and dimension)."""
    rows = channel_rows(con, platform, period, by, last)
    if channel is not None:
        rows = [r for r in rows if r.get("channel") == channel]
    return page(rows, limit, offset)


@router.get("/ivr/recommendations", name="ivr_recommendations", response_model=Page)
def ivr_recommendations(
    con: WarehouseDep,
    who: PrincipalDep,
    kind: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The IVR menu recommendations in rank order."""
    return page(rows_of(ivr.recommendation_rows(con, kind=kind)), limit, offset)


@router.get("/ivr/{view}", name="ivr_view", response_model=Page)
def ivr_view(
    view: IvrView,
    con: WarehouseDep,
    who: PrincipalDep,
    dimension: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """One IVR view: nodes, paths, lost points, the graph or containment."""
    dimension = dimension if view is IvrView.containment else None
    return page(rows_of(ivr.view_rows(con, view.value, dimension=dimension)), limit, offset)


def card_of(con, platform, customer_id: str, lang: str) -> dict[str, Any]:
    """The card of ``customer_id``: from the snapshot's card store when it has one (no query,
    see :mod:`touchpoint.platform._cardstore`), else from the capabilities' queries."""
    store = getattr(con, "card_store", None)
    card = None
    if store is not None:
        try:
            card = _card_from_store(con, platform, store, customer_id, lang)
        except (pa.ArrowException, OSError) as exc:  # a damaged file: the queries still work
            log.warning("card store unreadable for %s (%s): queried instead", customer_id, exc)
    if card is None:
        card = customers.card(con, platform.config, customer_id)
        member_tags = tags.customer_tags(con, platform.config, customer_id, lang)
        if member_tags is not None:
            card["tags"] = member_tags
    work_orders = campaigns.customer_work_orders(con, customer_id)
    if work_orders:
        card["work_orders"] = work_orders
    return clean({"customer_id": customer_id, **card})


def _card_from_store(con, platform, store, customer_id: str, lang: str) -> dict[str, Any]:
    def rows(table: str):
        return store.rows(table, customer_id) if table in store else None

    card = customers.card_from_rows(
        platform.config,
        customer_id,
        store.rows(customers.C360_MART, customer_id),
        rows(customers.PREFERENCE_MART),
        rows("stg_contacts"),
    )
    membership = rows(tags.MEMBERSHIP_MART)
    if membership is not None:
        card["tags"] = tags.customer_tags_from_rows(membership, _catalogue(con, platform), lang)
    return card


def _catalogue(con, platform):
    """The tag catalogue the snapshot was built with, read once per snapshot."""
    catalogue = getattr(con, "catalogue_cache", None)
    if catalogue is None:
        catalogue = tags.catalogue_in_use(con, platform.config)
        if isinstance(con, ServingBackend):
            con.catalogue_cache = catalogue
    return catalogue


@router.get("/customers/{customer_id}", name="customer_card")
def customer_card(
    customer_id: Annotated[str, Path(pattern=ID_PATTERN)],
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    lang: Lang = Lang.en,
) -> dict[str, Any]:
    """The frontline card of one customer, by id (audited)."""
    card = card_of(con, platform, customer_id, lang.value)
    platform.store.audit(who.username, "card.view", target=customer_id, client=who.client)
    return card


def _phone_hash(con, platform, phone: str) -> str:
    """``phone`` hashed as ingest hashed it (the warehouse's key, read once per snapshot)."""
    from touchpoint.ingest import hash_msisdn, pii_key

    key = getattr(con, "pii_key_cache", None)
    if key is None:
        key = pii_key(con, platform.config)
        if isinstance(con, ServingBackend):
            con.pii_key_cache = key
    return hash_msisdn(phone, key)


def find_by_phone(con, platform, phone: str) -> str:
    """The customer id of ``phone``, hashed as ingest hashes MSISDNs (the number is never kept).

    Reads the snapshot's phone index (hash -> customer, sorted by hash) when it has one.
    """
    store = getattr(con, "card_store", None)
    if store is not None and PHONE_INDEX in store:
        digest = _phone_hash(con, platform, phone)
        try:
            found = store.rows(PHONE_INDEX, digest).column("customer_id").to_pylist()
        except (pa.ArrowException, OSError) as exc:  # a damaged file: the query still works
            log.warning("card store unreadable (%s): phone number queried instead", exc)
        else:
            return _first_customer(found, phone)
    tables = con.list_tables()
    name = PHONE_INDEX if PHONE_INDEX in tables else "stg_customers"
    if name not in tables:
        raise Problem(503, "Not loaded", "no customers have been loaded (stg_customers)")
    table = con.table(name)
    if "msisdn_hash" not in table.columns:
        raise Problem(404, "No phone numbers", "the loaded customers carry no phone numbers")
    digest = _phone_hash(con, platform, phone)
    found = table.filter(table.msisdn_hash == digest).customer_id.to_pyarrow().to_pylist()
    return _first_customer(found, phone)


def _first_customer(found: list[str], phone: str) -> str:
    ids = sorted(set(found))
    if not ids:
        raise Problem(
            404, "Unknown phone number", f"no customer with phone number {mask_phone(phone)}"
        )
    return ids[0]


@router.post("/customers/lookup", name="customer_lookup")
def customer_lookup(
    body: PhoneLookup,
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    lang: Lang = Lang.en,
) -> dict[str, Any]:
    """The card of the customer with this phone number (in the body, never in a URL)."""
    customer_id = find_by_phone(con, platform, body.phone)
    card = card_of(con, platform, customer_id, lang.value)
    shown = body.phone if platform.matrix.shows_phone(who.role) else mask_phone(body.phone)
    platform.store.audit(who.username, "card.lookup", target=customer_id, client=who.client)
    return {"phone": shown, **card}


@router.get("/tags", name="tags_list", response_model=Page)
def tags_list(
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    category: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    lang: Lang = Lang.en,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The tag catalogue: members last month, lifts and rating of each tag."""
    rows = clean(tags.tag_list(con, platform.config, lang.value).tags)
    if category is not None:
        rows = [r for r in rows if r.get("category") == category]
    return page(rows, limit, offset)


@router.get("/tags/{tag_id}", name="tag_show")
def tag_show(
    tag_id: Annotated[str, Path(pattern=ID_PATTERN)],
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    """One tag in full: definition, rule check, members by month, lifts, ratings, comments."""
    try:
        detail = tags.tag_detail(con, platform.config, tag_id)
    except ConfigError as exc:
        raise Problem(404, "Unknown tag", str(exc)) from None
    return clean(detail.to_dict())


# ---- exports and administration ------------------------------------------------------------------
def list_rows(name: ListName, con, platform, period: Period, by: Dimension | None, lang: str):
    if name is ListName.channels:
        return channel_rows(con, platform, period, by, 0)
    if name is ListName.tags:
        return clean(tags.tag_list(con, platform.config, lang).tags)
    if name is ListName.ivr_recommendations:
        return rows_of(ivr.recommendation_rows(con))
    if name is ListName.churn_risks:
        settings = churn.churn_settings_from_config(platform.config)
        return rows_of(churn.top_risks(con, settings, lang, limit=MAX_RISKS))
    return rows_of(ivr.view_rows(con, name.value.removeprefix("ivr_")))


def export_response(rows: list[dict[str, Any]], fmt: ExportFormat, stem: str) -> Response:
    """Rows as a CSV or xlsx download (nested values as text)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    flat = [[_cell(r.get(c)) for c in columns] for r in rows]
    if fmt is ExportFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([[_csv_safe(v) for v in row] for row in flat])
        data, media = out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    else:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
        sheet = book.add_worksheet(stem[:31])
        sheet.write_row(0, 0, columns)
        for i, row in enumerate(flat, start=1):
            sheet.write_row(i, 0, row)
        book.close()
        data = buffer.getvalue()
        media = XLSX
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt.value}"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return str(value)
    return value


def _csv_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/exports/{list_name}",
    name="export",
    response_class=Response,
    responses={200: {"description": "The list as a file", "content": EXPORT_CONTENT}},
)
def export(
    list_name: ListName,
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    format: ExportFormat = ExportFormat.csv,
    period: Period = Period.month,
    by: Dimension | None = None,
    lang: Lang = Lang.en,
) -> Response:
    """A whole list as CSV or Excel (audited with its row count)."""
    rows = list_rows(list_name, con, platform, period, by, lang.value)
    platform.store.audit(
        who.username,
        "export",
        target=f"{list_name.value}.{format.value}",
        n_rows=len(rows),
        client=who.client,
    )
    return export_response(rows, format, list_name.value)


@router.get(
    "/audit",
    name="audit",
    response_model=None,
    responses={200: {"content": {"application/json": {}, **EXPORT_CONTENT}}},
)
def audit(
    platform: PlatformDep,
    who: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> dict[str, Any] | Response:
    """The audit trail, newest first (administrators only); CSV or xlsx exports it whole."""
    if format == "json":
        rows, total = platform.store.audit_rows(limit=limit, offset=offset)
        return {"items": rows, "total": total, "limit": limit, "offset": offset}
    rows, total = platform.store.audit_rows(limit=10_000_000)
    platform.store.audit(
        who.username, "export", target=f"audit.{format}", n_rows=total, client=who.client
    )
    return export_response(rows, ExportFormat(format), "audit")


@router.get("/users", name="users_list")
def users_list(platform: PlatformDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """The users and their roles (administrators only)."""
    return [u.to_dict() for u in platform.store.users()]
