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

from fastapi import FastAPI, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from touchpoint import channels, tags
from touchpoint.errors import ConfigError, TouchpointError
from touchpoint.labels import format_percent, format_value, text, translate
from touchpoint.platform._api import (
    ID_PATTERN,
    PhoneLookup,
    card_of,
    check_login,
    clean,
    find_by_phone,
    mask_phone,
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

    page = _env.get_template(template).render(
        t=t,
        card_label=card_label,
        fmt=lambda v, digits=2: format_value(v, lang, digits),
        pct=lambda v: format_percent(v, lang),
        lang=lang,
        path=request.url.path,
        who=who,
        csrf=who.session.csrf_token if who is not None and who.session else "",
        **values,
    )
    response = HTMLResponse(page, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="strict", path="/")
    return response


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
        response = RedirectResponse("/console/", status_code=303)
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
        )
