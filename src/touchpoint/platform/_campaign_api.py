"""The campaigns' read endpoints of the API (issue 15): every campaign with its work orders by
state, and one campaign in full (definition, orders, tracking, money).

Each renders a query function of :mod:`touchpoint.campaigns` (``campaign_list``,
``campaign_definition``, ``campaign_tracking``, ``campaign_savings_rows``), the rows the CLI's
``touchpoint campaign list|show|track --json`` and the console's pages show; nothing here
computes a figure. Changes (create, approve, dispatch) are the console's and the CLI's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from touchpoint import campaigns
from touchpoint.campaigns import CampaignError
from touchpoint.platform._api import ID_PATTERN, PROBLEMS, Limit, Offset, Page, clean
from touchpoint.platform._deps import PrincipalDep, WarehouseDep, page
from touchpoint.platform._security import Problem

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)


class CampaignOut(BaseModel):
    """One campaign: its latest definition (as its YAML holds it), who stored it and when,
    its work orders by state, and the tracking and savings rows (empty until tracked)."""

    campaign_id: str
    version: int
    created_by: str
    created_at: str
    definition: dict[str, Any]
    orders: dict[str, int]
    tracking: list[dict[str, Any]]
    savings: list[dict[str, Any]]


@router.get("/campaigns", name="campaigns_list", response_model=Page)
def campaigns_list(
    con: WarehouseDep, who: PrincipalDep, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    """Every campaign: latest version, creator, and its work orders by state."""
    return page(clean(campaigns.campaign_list(con)), limit, offset)


@router.get("/campaigns/{campaign_id}", name="campaign_show", response_model=CampaignOut)
def campaign_show(
    campaign_id: Annotated[str, Path(pattern=ID_PATTERN)], con: WarehouseDep, who: PrincipalDep
) -> dict[str, Any]:
    """One campaign in full: treated beside holdout month by month, net beside naive, money."""
    try:
        return clean(campaigns.campaign_detail(con, campaign_id))
    except CampaignError as exc:
        raise Problem(404, "Unknown campaign", str(exc)) from None
