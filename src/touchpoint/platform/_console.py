"""The web console: server-rendered pages (Jinja2) over the same routes' data, en and zh.

No JavaScript build step and nothing from the internet: htmx 2.0.11 (npm ``htmx.org``,
0BSD licence) is vendored in ``static/htmx.min.js``. Every page is a route named in
``roles.yaml``; a logged-out browser is sent to the login page. Changes are POST forms that
carry the session's CSRF token (htmx sends it as the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from touchpoint import channels, ivr, tags
from touchpoint.errors import ConfigError, TouchpointError
from touchpoint.labels import format_money, format_percent, format_value, text, to_rows, translate
from touchpoint.platform._api import (
    ID_PATTERN,
    Dimension,
    Period,
    PhoneLookup,
    card_of,
    check_login,
    clean,
    find_by_phone,
    mask_phone,
    rows_of,
    start_session,
)
from touchpoint.platform._deps import SESSION_COOKIE, PlatformDep, PrincipalDep, WarehouseDep
from touchpoint.platform._security import Problem

STATIC = Path(__file__).with_name("static")
LANG_COOKIE = "tp_lang"
LOGIN_CSRF_COOKIE = "tp_login_csrf"
HEADLINE_KPIS = (
    ("n_customers", "count"),
    ("n_contacts", "count"),
    ("repeat_contact_rate", "percent"),
    ("first_contact_resolution_rate", "percent"),
    ("cost_yuan", "count"),
    ("hotline_redial_rate", "percent"),
    ("ivr_containment_rate", "percent"),
    ("ivr_to_agent_60min_rate", "percent"),
)

_env = Environment(
    loader=PackageLoader("touchpoint.platform", "templates"),
    autoescape=select_autoescape(["html"]),
)


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "en"
    return asked if asked in ("en", "zh") else "en"


def render(request: Request, template: str, who=None, status: int = 200, **values: Any):
    lang = lang_of(request)

    def t(key: str, **fields: Any) -> str:
        return text(f"platform.{key}", lang, **fields)

    def card_label(key: str) -> str:
        try:
            return translate(f"customers.card_{key}", lang)
        except KeyError:
            return key

    def term(key: str, fallback: str | None = None) -> str:
        """A label of another area (``channels.term_n_contacts``), else ``fallback``/the key."""
        try:
            return translate(key, lang)
        except KeyError:
            return fallback if fallback is not None else key.rsplit(".", 1)[-1]

    config = request.app.state.platform.config
    matrix = request.app.state.platform.matrix

    def vocab(vocabulary: str, value: Any) -> str:
        """A vocabulary value's display name (brand, region, channel, ...), else the value."""
        if not isinstance(value, str):
            return format_value(value, lang)
        try:
            return config.label(vocabulary, value, lang)
        except KeyError:
            return value

    page = _env.get_template(template).render(
        t=t,
        vocab=vocab,
        card_label=card_label,
        term=term,
        node=lambda node_id: _node_name(config, node_id, lang),
        fmt=lambda v, digits=2: format_value(v, lang, digits),
        pct=lambda v: format_percent(v, lang),
        lang=lang,
        path=request.url.path,
        who=who,
        csrf=who.session.csrf_token if who is not None and who.session else "",
        may=lambda name: who is not None and matrix.allows(name, who.role),
        **values,
    )
    response = HTMLResponse(page, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="strict", path="/")
    return response


def _node_name(config, node_id: Any, lang: str) -> str:
    """An IVR menu node as ``id name`` (its configured name), as the CLI shows it."""
    if not isinstance(node_id, str):
        return "–"
    try:
        name = config.label("ivr_node", node_id, lang)
    except KeyError:
        return node_id
    return node_id if name == node_id else f"{node_id} {name}"


CHANNEL_COLUMNS = (
    ("n_contacts", "count"),
    ("n_customers", "count"),
    ("contacts_per_customer", "number"),
    ("contact_share", "percent"),
    ("customer_share", "percent"),
    ("cost_yuan", "number"),
    ("self_service_share", "percent"),
    ("n_contacts_change_rate", "percent"),
)
LOST_COLUMNS = (
    ("n_visits", "count"),
    ("lost_score", "score"),
    ("n_timeouts", "count"),
    ("n_invalid_keys", "count"),
    ("n_wrong_turns", "count"),
    ("n_backtracks", "count"),
    ("n_loops", "count"),
    ("n_repeated_prompts", "count"),
)
EXIT_KEYS = (
    ("completed", "n_exits_self_service_complete"),
    ("abandoned", "n_abandoned"),
    ("agent", "n_exits_transfer_agent"),
)


def sankey_data(nodes: list[dict[str, Any]], forward: list[dict[str, Any]], labels) -> dict:
    """The IVR menu as Sankey links (what the report draws): forward moves parent -> child,
    then each node's endings into three outcome boxes. Counts as the marts hold them."""
    names = [n["node_id"] for n in nodes]
    index = {name: i for i, name in enumerate(names)}
    for key, _ in EXIT_KEYS:
        index[key] = len(index)
    sources, targets, values = [], [], []
    for row in forward:
        if row["from_node_id"] in index and row["to_node_id"] in index:
            sources.append(index[row["from_node_id"]])
            targets.append(index[row["to_node_id"]])
            values.append(int(row["n_moves"]))
    for row in nodes:
        for key, column in EXIT_KEYS:
            if (row.get(column) or 0) > 0:
                sources.append(index[row["node_id"]])
                targets.append(index[key])
                values.append(int(row[column]))
    return {
        "labels": [labels(n) for n in nodes] + [labels(key) for key, _ in EXIT_KEYS],
        "drop_off": [n.get("drop_off_rate") for n in nodes],
        "source": sources,
        "target": targets,
        "value": values,
    }


LANDING_PAGES = (
    ("console_overview", "/console/"),
    ("console_customer", "/console/customer"),
    ("console_tags", "/console/tags"),
)


def landing_page(platform, role: str) -> str:
    """The first console page the role may open (an agent lands on the customer search)."""
    for name, path in LANDING_PAGES:
        if platform.matrix.allows(name, role):
            return path
    return "/console/login"


def add_console(app: FastAPI) -> None:  # noqa: C901 - one route each, read top to bottom
    """Add the console's pages to ``app`` (under ``/console``)."""

    @app.get("/console/static/htmx.min.js", name="console_static", include_in_schema=False)
    def console_static() -> FileResponse:
        return FileResponse(STATIC / "htmx.min.js", media_type="text/javascript")

    @app.get("/console/login", name="console_login", include_in_schema=False)
    def console_login(request: Request, who: PrincipalDep, failed: int = 0) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", token=token, failed=bool(failed))
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/console/login", name="console_login_post", include_in_schema=False)
    def console_login_post(
        request: Request,
        platform: PlatformDep,
        who: PrincipalDep,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        csrf_token: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, csrf_token):
            raise Problem(403, "CSRF token missing or wrong", "reload the login page")
        try:
            user = check_login(platform, request, username, password)
        except Problem:
            return RedirectResponse("/console/login?failed=1", status_code=303)
        response = RedirectResponse(landing_page(platform, user.role), status_code=303)
        start_session(platform, response, user.username)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/console/logout", name="console_logout", include_in_schema=False)
    def console_logout(platform: PlatformDep, who: PrincipalDep) -> Response:
        if who.session_id:
            platform.store.end_session(who.session_id)
        platform.store.audit(who.username, "logout", client=who.client)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/console/", name="console_overview", include_in_schema=False)
    def console_overview(request: Request, con: WarehouseDep, who: PrincipalDep) -> Response:
        try:
            doc = clean(channels.headline(con))
        except TouchpointError as exc:
            return render(request, "error.html", who, 503, detail=str(exc))
        kpis = [(key, kind, doc.get(key)) for key, kind in HEADLINE_KPIS if key in doc]
        by_channel = sorted((doc.get("contacts_by_channel") or {}).items(), key=lambda kv: -kv[1])
        return render(request, "overview.html", who, kpis=kpis, by_channel=by_channel)

    @app.get("/console/customer", name="console_customer", include_in_schema=False)
    def console_customer(request: Request, who: PrincipalDep) -> Response:
        return render(request, "customer.html", who)

    @app.post("/console/customer/lookup", name="console_customer_lookup", include_in_schema=False)
    def console_customer_lookup(
        request: Request,
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        phone: Annotated[str, Form(min_length=5, max_length=32, pattern=r"^[0-9+()\-. ]+$")],
    ) -> Response:
        PhoneLookup(phone=phone)
        lang = lang_of(request)
        try:
            customer_id = find_by_phone(con, platform, phone)
        except Problem as exc:
            if exc.status != 404:
                raise
            return render(request, "card.html", who, 404, card=None, phone=mask_phone(phone))
        card = card_of(con, platform, customer_id, lang)
        platform.store.audit(who.username, "card.lookup", target=customer_id, client=who.client)
        shown = phone if platform.matrix.shows_phone(who.role) else mask_phone(phone)
        return render(request, "card.html", who, card=card, phone=shown)

    @app.get("/console/tags", name="console_tags", include_in_schema=False)
    def console_tags(
        request: Request, con: WarehouseDep, platform: PlatformDep, who: PrincipalDep
    ) -> Response:
        rows = clean(tags.tag_list(con, platform.config, lang_of(request)).tags)
        return render(request, "tags.html", who, rows=rows)

    @app.get("/console/tags/{tag_id}", name="console_tag", include_in_schema=False)
    def console_tag(
        request: Request,
        tag_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
    ) -> Response:
        try:
            detail = tags.tag_detail(con, platform.config, tag_id)
        except ConfigError as exc:
            raise Problem(404, "Unknown tag", str(exc)) from None
        lang = lang_of(request)
        tag = detail.tag
        return render(
            request,
            "tag.html",
            who,
            tag=tag,
            name=getattr(tag.name, lang),
            definition=getattr(tag.definition, lang),
            script=getattr(tag.hint.script, lang),
            months=clean(detail.members_by_month),
            rating=tags.rating_summary(detail.ratings, tag.version),
            comments=clean(detail.comments),
        )


def add_console_analysis(app: FastAPI) -> None:  # noqa: C901 - one route each
    """The analysis pages: channels, the IVR (Sankey, lost points), menu recommendations,
    and the tag wiki's ratings and comments. Each renders a capability's query function."""

    @app.get("/console/static/plotly.min.js", name="console_plotly", include_in_schema=False)
    def console_plotly() -> FileResponse:
        import plotly

        bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(bundle, media_type="text/javascript")

    @app.get("/console/channels", name="console_channels", include_in_schema=False)
    def console_channels(
        request: Request,
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        period: Period = Period.month,
        by: Dimension | None = None,
        last: Annotated[int, Query(ge=0, le=1000)] = 3,
    ) -> Response:
        try:
            table = channels.channel_kpi_rows(
                con, platform.config, period.value, by and by.value, last
            )
        except TouchpointError as exc:
            return render(request, "error.html", who, 503, detail=str(exc))
        return render(
            request,
            "channels.html",
            who,
            rows=rows_of(table),
            columns=CHANNEL_COLUMNS,
            period=period.value,
            by=by.value if by else "",
            last=last,
            periods=[p.value for p in Period],
            dimensions=[d.value for d in Dimension],
        )

    @app.get("/console/ivr", name="console_ivr", include_in_schema=False)
    def console_ivr(
        request: Request, con: WarehouseDep, platform: PlatformDep, who: PrincipalDep
    ) -> Response:
        lang = lang_of(request)
        try:
            kpis = clean(ivr.kpi_row(con))
            nodes = rows_of(ivr.view_rows(con, "nodes"))
            forward = rows_of(ivr.forward_move_rows(con))
            lost = rows_of(ivr.view_rows(con, "lost", top=15))
        except TouchpointError as exc:
            return render(request, "error.html", who, 503, detail=str(exc))
        config = platform.config

        def label(item) -> str:
            if isinstance(item, str):
                return translate(f"ivr.exit_{item}", lang)
            rate = format_percent(item.get("drop_off_rate"), lang)
            drop = translate("ivr.drop_off", lang)
            return f"{_node_name(config, item['node_id'], lang)} ({drop} {rate})"

        return render(
            request,
            "ivr.html",
            who,
            kpis=kpis,
            sankey=sankey_data(nodes, forward, label),
            n_nodes=len(nodes),
            lost=lost,
            columns=LOST_COLUMNS,
        )

    @app.get(
        "/console/ivr/recommendations",
        name="console_ivr_recommendations",
        include_in_schema=False,
    )
    def console_ivr_recommendations(
        request: Request, con: WarehouseDep, who: PrincipalDep
    ) -> Response:
        lang = lang_of(request)
        try:
            rows = to_rows(ivr.recommendation_rows(con))
        except TouchpointError as exc:
            return render(request, "error.html", who, 503, detail=str(exc))
        items = [{**clean(r), "proposal": ivr.proposal_text(r, lang)} for r in rows]
        return render(
            request,
            "recommendations.html",
            who,
            rows=items,
            money=lambda v: format_money(v, lang),
        )

    def _tag_version(con, platform, tag_id: str) -> int:
        try:
            return tags.tag_detail(con, platform.config, tag_id).tag.version
        except ConfigError as exc:
            raise Problem(404, "Unknown tag", str(exc)) from None

    @app.post("/console/tags/{tag_id}/rating", name="console_tag_rate", include_in_schema=False)
    def console_tag_rate(
        request: Request,
        tag_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        stars: Annotated[int, Form(ge=1, le=5)],
    ) -> Response:
        version = _tag_version(con, platform, tag_id)
        record = tags.rating_record(tag_id, version, stars, who.username or "")
        _write(platform, tags.RATINGS_TABLE, record)
        platform.store.audit(who.username, "tag.rate", target=tag_id, client=who.client)
        return RedirectResponse(f"/console/tags/{tag_id}", status_code=303)

    @app.post("/console/tags/{tag_id}/comment", name="console_tag_comment", include_in_schema=False)
    def console_tag_comment(
        request: Request,
        tag_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        con: WarehouseDep,
        platform: PlatformDep,
        who: PrincipalDep,
        comment: Annotated[str, Form(min_length=1, max_length=2000)],
    ) -> Response:
        version = _tag_version(con, platform, tag_id)
        record = tags.comment_record(tag_id, version, comment.strip(), who.username or "")
        _write(platform, tags.COMMENTS_TABLE, record)
        platform.store.audit(who.username, "tag.comment", target=tag_id, client=who.client)
        return RedirectResponse(f"/console/tags/{tag_id}", status_code=303)


WRITER_BUSY = (
    "a run (`touchpoint run` or `ingest`) is writing the warehouse, so nothing can be saved "
    "now; try again when it has finished / 数据仓库正在更新，暂时无法保存，请稍后再试"
)


def _write(platform, table: str, record) -> None:
    """Append ``record`` to ``table`` of the warehouse, then show it: the current snapshot is
    republished with the table replaced (a whole publish waits for the next run)."""
    from touchpoint.errors import WarehouseError
    from touchpoint.warehouse import Insert, connect, load_atomically, republish_tables

    try:
        con = connect(platform.warehouse)  # the writer: refused at once while a run writes
    except WarehouseError:
        raise Problem(503, "Warehouse busy", WRITER_BUSY, {"Retry-After": "60"}) from None
    try:
        load_atomically(con, inserts=[Insert(table, record)])
        rows = con.table(table).to_pyarrow()
    finally:
        con.disconnect()
    republish_tables(platform.warehouse, {table: rows})
    platform.reader.look_again()  # the redirect shows the change
