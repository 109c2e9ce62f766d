"""The application: the API and the console in one FastAPI app, and how errors look."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.routing import Route

from touchpoint.config import Config, load_config
from touchpoint.customers import UnknownCustomerError
from touchpoint.errors import ConfigError, TouchpointError, WarehouseError
from touchpoint.platform._api import router as api_router
from touchpoint.platform._deps import Platform, authorize
from touchpoint.platform._reader import WarehouseReader
from touchpoint.platform._roles import RoleMatrix, load_role_matrix
from touchpoint.platform._security import (
    BodySizeLimit,
    LoginThrottle,
    Problem,
    RateLimit,
    ServerTiming,
    problem_response,
)
from touchpoint.platform._settings import PlatformSettings, platform_settings_from_config
from touchpoint.platform._store import UserStore, store_path

API_TITLE = "Touchpoint"
API_VERSION = "1"
log = logging.getLogger("touchpoint.platform")


def all_routes(app: FastAPI) -> list[Route]:
    """Every route the app serves, those of included routers too (FastAPI nests them)."""
    found: list[Route] = []

    def walk(routes) -> None:
        for route in routes:
            if isinstance(route, Route):
                found.append(route)
            elif hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes)

    walk(app.routes)
    return found


def route_names(app: FastAPI) -> list[str]:
    """The name of every route the app serves (each one needs an entry in the role matrix)."""
    return [r.name for r in all_routes(app)]


def create_app(
    warehouse: str | Path,
    *,
    store: UserStore | None = None,
    matrix: RoleMatrix | None = None,
    config: Config | None = None,
    settings: PlatformSettings | None = None,
    secure_cookies: bool | None = None,
    max_body_bytes: int | None = None,
    throttle: LoginThrottle | None = None,
    console: bool = True,
) -> FastAPI:
    """The API (``/api/v1``) and the web console over one warehouse.

    ``settings`` (host, port, limits, sessions) default to the ``platform`` section of
    ``config``, else ``defaults.yaml``; ``secure_cookies`` and ``max_body_bytes`` override
    theirs. Raises :class:`~touchpoint.errors.ConfigError` when a route has no entry in the
    role matrix: nothing is served that the matrix does not decide.
    """
    warehouse = Path(warehouse)
    config = config or load_config()
    settings = settings or platform_settings_from_config(config)
    overrides = {"secure_cookies": secure_cookies, "max_body_bytes": max_body_bytes}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    reader = WarehouseReader(
        warehouse,
        check_seconds=settings.snapshot_check_seconds,
        timeout_seconds=settings.query_timeout_seconds,
        threads=settings.query_threads,
        publish_when_missing=settings.publish_when_missing,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        reader.close()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(authorize)],
        lifespan=lifespan,
    )
    store = store or UserStore(store_path(warehouse))
    store.session_hours = settings.session_hours  # the settings decide, whoever made the store
    app.state.platform = Platform(
        warehouse=warehouse,
        store=store,
        matrix=matrix or load_role_matrix(),
        config=config,
        reader=reader,
        settings=settings,
        secure_cookies=settings.secure_cookies,
    )
    app.state.throttle = throttle or LoginThrottle(
        max_failures=settings.login_max_failures, window_seconds=settings.login_window_seconds
    )
    app.include_router(api_router)
    from touchpoint.platform._campaign_api import router as campaign_api_router

    app.include_router(campaign_api_router)
    from touchpoint.platform._churn_api import router as churn_api_router

    app.include_router(churn_api_router)
    if console:
        from touchpoint.platform._console import add_console, add_console_analysis

        add_console(app)
        add_console_analysis(app)
        from touchpoint.platform._campaign_pages import add_console_campaigns

        add_console_campaigns(app)
    missing = app.state.platform.matrix.missing(route_names(app))
    if missing:
        raise ConfigError(
            f"role matrix: no entry for the route(s) {missing}; add each to roles.yaml with "
            "the roles allowed"
        )
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimit, per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
    )
    app.add_middleware(ServerTiming)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        if exc.status == 401 and request.url.path.startswith("/console/"):
            return RedirectResponse("/console/login", status_code=303)
        return problem_response(exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        title = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        return problem_response(
            exc.status_code,
            title.get(exc.status_code, "HTTP error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        where = ".".join(errors[0]["loc"]) if errors else "request"
        first = errors[0]["msg"] if errors else "invalid"
        return problem_response(
            422, "Invalid request", f"{where}: {first}", extra={"errors": errors}
        )

    @app.exception_handler(UnknownCustomerError)
    async def _unknown(request: Request, exc: UnknownCustomerError):
        return problem_response(404, "Unknown customer", str(exc))

    @app.exception_handler(WarehouseError)
    async def _warehouse(request: Request, exc: WarehouseError):
        return problem_response(503, "Not available", str(exc))

    @app.exception_handler(TouchpointError)
    async def _touchpoint(request: Request, exc: TouchpointError):
        status = 404 if isinstance(exc, LookupError) else 400
        return problem_response(status, "Cannot do that", str(exc).splitlines()[0])

    @app.exception_handler(duckdb.Error)
    async def _duckdb(request: Request, exc: duckdb.Error):
        # A query stopped by the time limit surfaces under several DuckDB error types.
        if isinstance(exc, duckdb.InterruptException) or "INTERRUPT" in str(exc):
            timeout = request.app.state.platform.settings.query_timeout_seconds
            return problem_response(
                504,
                "Query took too long",
                f"the query ran longer than {timeout:g} s and was stopped; narrow it or try "
                "again later / 查询超时，请缩小范围后重试",
            )
        return await _crash(request, exc)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "Internal error", "something went wrong on the server; it has been logged"
        )
