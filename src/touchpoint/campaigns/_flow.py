"""The campaign flow as library functions: create, approve, dispatch (issues 12 and 15).

Each function reads the campaign tables through ``con``, computes what to append, and hands
every row it writes to ``save`` in a single call: ``save`` is the adapter's one transaction
(the command line and the console pass ``touchpoint.warehouse.load_atomically`` on their
writer connection; the capabilities never import the warehouse). A refusal is a one-line
:class:`CampaignError` raised before anything is saved.

Tables: ``campaign_definitions`` (one row per campaign × version), ``campaign_assignments``
(one row per campaign × customer) and ``campaign_work_order_events`` (append-only).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from touchpoint.campaigns._assignment import (
    assign_wave,
    is_global_holdout,
    limit_size,
    sample_ratio_check,
    select_audience,
)
from touchpoint.campaigns._build import ASSIGNMENTS_TABLE, DEFINITIONS_TABLE
from touchpoint.campaigns._definition import (
    Campaign,
    CampaignError,
    FieldProblem,
    campaign_from_data,
)
from touchpoint.campaigns._policy import eligible_audience
from touchpoint.campaigns._settings import CampaignSettings
from touchpoint.campaigns._work_orders import (
    EVENTS_TABLE,
    approval_events,
    created_events,
    dispatch,
    dispatched_history,
)
from touchpoint.query import optional_table, require_table

#: What a flow function hands its adapter: table name → rows to append, all in one transaction.
Save = Callable[[Mapping[str, pa.Table]], None]
RESPONSES_TABLE = "stg_campaign_responses"
MEMBERSHIP_TABLE = "mart_tag_membership"


def campaign_definition(con: ibis.BaseBackend, campaign_id: str) -> tuple[dict, Campaign]:
    """The latest stored version of ``campaign_id``: its ``campaign_definitions`` row and the
    campaign; refused in one line when there are no campaigns or this one is unknown."""
    defs = optional_table(con, DEFINITIONS_TABLE)
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


def work_order_events(con: ibis.BaseBackend, campaign_id: str) -> ibis.Table:
    """The work-order event table, refused in one line when no campaign has orders yet."""
    events = optional_table(con, EVENTS_TABLE)
    if events is None:
        raise CampaignError(f"campaign {campaign_id!r}: no work orders yet")
    return events


def _opted_out(con: ibis.BaseBackend, settings: CampaignSettings) -> ibis.Table | None:
    responses = optional_table(con, RESPONSES_TABLE)
    if responses is None:
        return None
    return responses.filter(responses.response == settings.policy.opted_out_response)


def _sensitive(con: ibis.BaseBackend, settings: CampaignSettings) -> ibis.Table | None:
    membership = optional_table(con, MEMBERSHIP_TABLE)
    if membership is None:
        return None
    return membership.filter(membership.tag_id == settings.policy.sensitive_tag)


def create_campaign(
    con: ibis.BaseBackend,
    campaign: Campaign,
    actor: str,
    now: dt.datetime,
    *,
    settings: CampaignSettings,
    save: Save,
) -> dict[str, Any]:
    """Store ``campaign`` as its next version, draw the new wave's holdout and create the
    treated customers' work orders, all in one ``save``.

    The audience leaves out the global holdout and whom dispatch would hold back whatever the
    group (opted out, sensitive), then is cut to ``max_size``; customers assigned in an
    earlier wave keep their group. A rule that does not compile over the 360 is refused in
    one line (a :class:`CampaignError` whose ``problems`` name ``audience.rule``).

    Returns
    -------
    dict
        ``campaign_id``, ``version``, ``n_audience``, ``n_treatment``, ``n_holdout``,
        ``n_work_orders_created`` and ``srm_p_value`` (the sample-ratio check's p-value).
    """
    c360 = require_table(con, "mart_customer_360")
    membership = optional_table(con, MEMBERSHIP_TABLE)
    try:
        audience = select_audience(c360, campaign, membership=membership)
    except CampaignError:
        raise
    except ValueError as exc:  # a rule that does not compile over the 360, no membership
        field = "audience.rule" if campaign.audience.rule is not None else "audience.tags"
        kind = "rule" if campaign.audience.rule is not None else "audience"
        message = f"campaign {campaign.id!r}, field '{field}': {exc}"
        problem = FieldProblem(field, None, kind, {"detail": str(exc)}, str(exc))
        raise CampaignError(message, [problem]) from None
    audience = audience.filter(
        ~is_global_holdout(
            audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
        )
    )
    # Who dispatch would hold back whatever the group leaves before the draw.
    audience = eligible_audience(
        audience,
        settings.policy,
        opted_out=_opted_out(con, settings),
        sensitive=_sensitive(con, settings),
    )
    if campaign.max_size is not None:
        audience = limit_size(audience, campaign)
    previous = optional_table(con, ASSIGNMENTS_TABLE)
    if previous is not None:
        previous = previous.filter(previous.campaign_id == campaign.id)
    old_defs = optional_table(con, DEFINITIONS_TABLE)
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
    save({DEFINITIONS_TABLE: definition, ASSIGNMENTS_TABLE: fresh_rows, EVENTS_TABLE: events})
    groups = assignment.column("group").to_pylist()
    n_h = groups.count("holdout")
    srm = sample_ratio_check(len(groups) - n_h, n_h, campaign.holdout_share, settings.srm_alpha)
    return {
        "campaign_id": campaign.id,
        "version": wave,
        "n_audience": len(groups),
        "n_treatment": len(groups) - n_h,
        "n_holdout": n_h,
        "n_work_orders_created": events.num_rows,
        "srm_p_value": srm.p_value,
    }


def approve_campaign(
    con: ibis.BaseBackend, campaign_id: str, actor: str, now: dt.datetime, *, save: Save
) -> int:
    """Approve the campaign's created work orders in one ``save``; the number approved.

    Refused (one line) when no campaign has orders yet, when nothing of this campaign waits
    for approval (also an unknown campaign), and when ``actor`` created any of the orders:
    another user must approve.
    """
    new = approval_events(work_order_events(con, campaign_id), campaign_id, actor, now)
    data = new.to_pyarrow()
    save({EVENTS_TABLE: data})
    return data.num_rows


def next_send_time(con: ibis.BaseBackend, campaign: Campaign) -> dt.datetime:
    """The default send time: the first day of the month after the 360's last month, at the
    campaign's ``send_hour``."""
    last = require_table(con, "mart_customer_360").month.max().execute()
    nxt = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return dt.datetime.combine(nxt, dt.time(campaign.send_hour))


@dataclass(frozen=True)
class Dispatched:
    """What dispatch did: the rows of the channel file (``DISPATCH_COLUMNS``, by work order
    id), how many orders were held back by the contact policy, and the send time used."""

    rows: pa.Table
    n_held_back: int
    sent_at: dt.datetime


def dispatch_campaign(
    con: ibis.BaseBackend,
    campaign_id: str,
    actor: str,
    now: dt.datetime,
    *,
    settings: CampaignSettings,
    save: Save,
    sent_at: dt.datetime | None = None,
    deliver: Callable[[pa.Table], None] | None = None,
) -> Dispatched:
    """Apply the contact policy to the campaign's approved orders and record the outcome
    (``dispatched`` or ``held_back`` with its reason) in one ``save``.

    ``sent_at`` defaults to :func:`next_send_time`. ``deliver``, when given, receives the
    channel file's rows before the save, so that a file which cannot be written leaves the
    warehouse unchanged. Refused (one line) for an unknown campaign and for a campaign with
    no approved orders (approve it first).
    """
    _, campaign = campaign_definition(con, campaign_id)
    events = work_order_events(con, campaign_id)
    when = next_send_time(con, campaign) if sent_at is None else sent_at
    new, rows = dispatch(
        events,
        campaign,
        settings.policy,
        actor=actor,
        at=now,
        sent_at=when,
        history=dispatched_history(events),
        opted_out=_opted_out(con, settings),
        sensitive=_sensitive(con, settings),
    )
    data, file_rows = new.to_pyarrow(), rows.to_pyarrow()
    if deliver is not None:
        deliver(file_rows)
    save({EVENTS_TABLE: data})
    return Dispatched(file_rows, data.num_rows - file_rows.num_rows, when)
