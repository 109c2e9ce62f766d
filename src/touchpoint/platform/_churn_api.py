"""The churn read endpoints of the API (issue 15, "as they land, campaigns and churn"): the
models measured on the held-out month, the scored customers by first reason, and the
customers most at risk with their reasons (a list of customers: never the frontline agent's,
who looks up one customer at a time on the card).

Each renders a query function of :mod:`touchpoint.churn` (``churn_evaluation``,
``reason_counts``, ``top_risks``), the rows ``touchpoint churn evaluation|scores --json`` and
the report show; nothing here computes a figure. Before a ``touchpoint run`` has scored
anyone, each answers 404 with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from touchpoint import churn
from touchpoint.errors import TouchpointError
from touchpoint.platform._api import (
    ID_PATTERN,
    MAX_RISKS,
    PROBLEMS,
    Lang,
    Limit,
    Offset,
    Page,
    rows_of,
)
from touchpoint.platform._deps import PlatformDep, PrincipalDep, WarehouseDep, page
from touchpoint.platform._security import Problem

router = APIRouter(prefix="/api/v1/churn", responses=PROBLEMS)


def _rows(query) -> list[dict[str, Any]]:
    try:
        return rows_of(query())
    except TouchpointError as exc:  # no churn marts yet
        raise Problem(404, "No churn scores yet", str(exc)) from None


@router.get("/evaluation", name="churn_evaluation", response_model=Page)
def churn_evaluation(con: WarehouseDep, who: PrincipalDep) -> dict[str, Any]:
    """ROC AUC, PR AUC, top-decile lift and calibration of each model on the held-out month."""
    rows = _rows(lambda: churn.churn_evaluation(con))
    return page(rows, len(rows) or 1, 0)


@router.get("/reasons", name="churn_reasons", response_model=Page)
def churn_reasons(
    con: WarehouseDep, platform: PlatformDep, who: PrincipalDep, lang: Lang = Lang.en
) -> dict[str, Any]:
    """Scored customers by their first reason, named in ``lang``, controllable or not."""
    settings = churn.churn_settings_from_config(platform.config)
    rows = _rows(lambda: churn.reason_counts(con, settings, lang.value))
    return page(rows, len(rows) or 1, 0)


@router.get("/risks", name="churn_risks", response_model=Page)
def churn_risks(
    con: WarehouseDep,
    platform: PlatformDep,
    who: PrincipalDep,
    reason: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    lang: Lang = Lang.en,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The customers most at risk, in rank order (only those whose first reason is ``reason``
    when given), with their reasons in ``lang``; at most the first 10,000 ranks. ``total``
    counts the ranks read for this page (up to ``offset + limit``), not every scored
    customer."""
    settings = churn.churn_settings_from_config(platform.config)
    if reason is not None and reason not in settings.reasons:
        known = ", ".join(sorted(settings.reasons))
        raise Problem(422, "Unknown reason", f"reason {reason!r} is not one of: {known}")
    top = min(offset + limit, MAX_RISKS)
    rows = _rows(lambda: churn.top_risks(con, settings, lang.value, limit=top, reason=reason))
    return page(rows, limit, offset)
