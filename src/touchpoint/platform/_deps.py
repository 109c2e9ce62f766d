"""The typed dependencies every route shares: who is asking, may they, and the warehouse.

As in the FastAPI full-stack template's ``deps.py``: each is a function FastAPI calls per
request, and an ``Annotated`` alias the routes name in their signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from ibis.backends.duckdb import Backend

from touchpoint.config import Config
from touchpoint.platform._reader import WarehouseReader
from touchpoint.platform._roles import RoleMatrix
from touchpoint.platform._security import Problem
from touchpoint.platform._settings import PlatformSettings
from touchpoint.platform._store import Session, User, UserStore, constant_time_equal

SESSION_COOKIE = "tp_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Platform:
    """What the app was started with (``app.state.platform``)."""

    warehouse: Path
    store: UserStore
    matrix: RoleMatrix
    config: Config
    reader: WarehouseReader
    settings: PlatformSettings
    secure_cookies: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (``None``: logged out), how (``token``/``session``) and from where."""

    user: User | None
    via: str | None
    client: str
    session: Session | None = None
    session_id: str | None = None

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def username(self) -> str | None:
        return self.user.username if self.user else None


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "name", "") or ""


async def _csrf_sent(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    return sent or ""


async def authorize(request: Request, platform: PlatformDep) -> Principal:
    """The caller, checked against the role matrix for this route (and CSRF for a change).

    A Bearer token that is wrong, or belongs to a disabled user, is refused outright (401);
    a browser without a live session is logged out. A logged-out caller of a route that needs
    a login gets 401, a logged-in one without the role 403.
    """
    client = client_of(request)
    principal = Principal(None, None, client)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        user = platform.store.token_user(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Problem(
                401,
                "Not authenticated",
                "the API token is not valid (unknown, revoked, or its user is disabled)",
                {"WWW-Authenticate": "Bearer"},
            )
        principal = Principal(user, "token", client)
    elif (session_id := request.cookies.get(SESSION_COOKIE)) is not None:
        session = platform.store.session(session_id)
        if session is not None:
            principal = Principal(session.user, "session", client, session, session_id)
    name = route_name(request)
    if not platform.matrix.allows(name, principal.role):
        if principal.user is None:
            raise Problem(401, "Not authenticated", "log in first (a session or an API token)")
        platform.store.audit(principal.username, "denied", target=name, client=client)
        raise Problem(403, "Forbidden", f"the role {principal.role!r} may not use {name!r}")
    # Logging in again from a logged-in browser replaces its session: no token needed there.
    relogin = name in {"login", "console_login_post"}  # they guard themselves
    if principal.session is not None and request.method not in SAFE_METHODS and not relogin:
        sent = await _csrf_sent(request)
        if not constant_time_equal(sent, principal.session.csrf_token):
            raise Problem(
                403,
                "CSRF token missing or wrong",
                f"send the session's CSRF token in {CSRF_HEADER}",
            )
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


def read_warehouse(platform: PlatformDep) -> Iterator[Backend]:
    """The server's connection to the newest published snapshot of the warehouse.

    Opened once per process and re-opened when a run publishes a newer one; a run writing the
    warehouse meanwhile is never blocked, and the pages show the last complete state (see
    :mod:`touchpoint.platform._reader`). A query past the time limit is stopped: a 504.
    """
    with platform.reader.connection() as con:
        yield con


WarehouseDep = Annotated[Backend, Depends(read_warehouse)]


def page(rows: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    """One page of ``rows``: ``items``, ``total``, ``limit``, ``offset``."""
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }
