"""Hotline-call facts: how each call ended in the IVR and whether an agent contact followed."""

from __future__ import annotations

import ibis

from touchpoint.channels._settings import ChannelsSettings
from touchpoint.contract.columns import require_columns


def last_ivr_events(ivr_events: ibis.Table) -> ibis.Table:
    """How each IVR call ended: its first and last step (the one place this is computed).

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events``: one row per step of an IVR call.

    Returns
    -------
    ibis.Table
        One row per ``call_id``: ``first_ivr_event_at``, ``last_ivr_event_at``,
        ``last_event_type`` and ``last_node_id`` (type and node of the step with the highest
        ``seq``), ``n_ivr_events``. ``seq`` is unique within a call (the contract's key), so
        the join below keeps one row per call.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> t0 = dt.datetime(2026, 3, 2, 9, 0)
    >>> events = ibis.memtable({
    ...     "call_id": ["c1", "c1", "c1", "c2"], "seq": [1, 3, 2, 1],
    ...     "event_at": [t0, t0 + dt.timedelta(seconds=9), t0 + dt.timedelta(seconds=4), t0],
    ...     "node_id": ["root", "bill", "root", "root"],
    ...     "event_type": ["call_start", "transfer_agent", "key", "hang_up"]})
    >>> ended = last_ivr_events(events).order_by("call_id").to_pyarrow()
    >>> ended["last_event_type"].to_pylist(), ended["last_node_id"].to_pylist()
    (['transfer_agent', 'hang_up'], ['bill', 'root'])
    >>> ended["n_ivr_events"].to_pylist()
    [3, 1]
    """
    require_columns(
        ivr_events, "ivr_events", ("call_id", "seq", "event_at", "node_id", "event_type")
    )
    e = ivr_events
    calls = e.group_by("call_id").agg(
        first_ivr_event_at=e.event_at.min(),
        last_ivr_event_at=e.event_at.max(),
        last_seq=e.seq.max(),
        n_ivr_events=e.count(),
    )
    # The last step's type and node by a join on (call, highest seq): Ibis compiles argmax to
    # an ordered aggregate, which DuckDB runs three times slower than this join.
    last = e.select(l_call_id="call_id", l_seq="seq", l_type="event_type", l_node="node_id")
    j = calls.join(last, [calls.call_id == last.l_call_id, calls.last_seq == last.l_seq])
    return j.select(
        "call_id",
        "first_ivr_event_at",
        "last_ivr_event_at",
        last_event_type=j.l_type,
        last_node_id=j.l_node,
        n_ivr_events=j.n_ivr_events,
    )


def hotline_call_facts(
    contacts: ibis.Table, ivr_events: ibis.Table, settings: ChannelsSettings
) -> ibis.Table:
    """``fct_channels_hotline_calls``: every hotline call with its IVR ending and escalation.

    A hotline call is an IVR ``contacts`` row (channel ``settings.ivr_channel``). It *ended in
    the IVR* when its last IVR event is not ``settings.transfer_event_type``; a call without
    IVR events has an unknown ending (``is_ended_in_ivr`` null) and stays out of the
    escalation rate. It *escalated* when it ended in the IVR and the same customer has an agent
    contact (channel ``settings.agent_channel``, any call id) starting after the IVR row ends
    and at most ``settings.escalation_window_minutes`` later (docs/metrics.md,
    ``ivr_to_agent_60min_rate``).

    Parameters
    ----------
    contacts
        Cleaned contacts (:func:`touchpoint.channels.clean_contacts`): one row per contact.
    ivr_events
        ``stg_ivr_events``.

    Returns
    -------
    ibis.Table
        One row per hotline call: ``contact_id, call_key, customer_id, started_at, ended_at,
        call_date, region, business, last_event_type, last_node_id, has_ivr_events,
        is_ended_in_ivr, first_agent_started_at, is_escalated``.
    """
    calls = contacts.filter(contacts.channel == settings.ivr_channel).select(
        "contact_id",
        "call_key",
        "customer_id",
        "started_at",
        "ended_at",
        "region",
        "business",
        call_date=contacts.started_at.date(),
    )
    endings = last_ivr_events(ivr_events).select("call_id", "last_event_type", "last_node_id")
    joined = calls.left_join(endings, calls.call_key == endings.call_id)
    calls = joined.select(
        *calls.columns,
        last_event_type=joined.last_event_type,
        last_node_id=joined.last_node_id.fill_null(settings.unknown_label),
        has_ivr_events=joined.last_event_type.notnull(),
        # Null (unknown ending) for a call without IVR events: it stays out of the rate.
        is_ended_in_ivr=joined.last_event_type != settings.transfer_event_type,
    )

    # The agent contact that follows is searched for every hotline call, not only those that
    # ended in the IVR: knowing which did needs the endings, and a second reference to them
    # would make the engine group and join the IVR events twice (DuckDB inlines the shared
    # expression). Calls that did not end in the IVR keep no follow-up.
    window = ibis.interval(minutes=settings.escalation_window_minutes)
    ivr_rows = contacts.filter(contacts.channel == settings.ivr_channel).select(
        "contact_id", "customer_id", "ended_at"
    )
    agent = contacts.filter(contacts.channel == settings.agent_channel).select(
        agent_customer_id="customer_id", agent_started_at="started_at"
    )
    followed = (
        ivr_rows.join(
            agent,
            [
                ivr_rows.customer_id == agent.agent_customer_id,
                agent.agent_started_at > ivr_rows.ended_at,
                agent.agent_started_at <= ivr_rows.ended_at + window,
            ],
        )
        .group_by(escalated_contact_id="contact_id")
        .agg(first_agent_started_at=ibis._.agent_started_at.min())
    )
    joined = calls.left_join(followed, calls.contact_id == followed.escalated_contact_id)
    first_agent = ibis.ifelse(
        joined.is_ended_in_ivr.fill_null(False),
        joined.first_agent_started_at,
        ibis.null(joined.first_agent_started_at.type()),
    )
    return joined.select(
        *calls.columns,
        first_agent_started_at=first_agent,
        is_escalated=joined.is_ended_in_ivr & first_agent.notnull(),
    )


#: Grouping columns of the daily call cube (``mart_channels_calls_daily``).
CALL_KEYS: tuple[str, ...] = ("call_date", "region", "business", "last_node_id", "is_ended_in_ivr")


def call_volume(calls: ibis.Table) -> ibis.Table:
    """The daily call cube: hotline calls and escalations at the finest reported grain.

    Parameters
    ----------
    calls
        Hotline-call facts (:func:`hotline_call_facts`).

    Returns
    -------
    ibis.Table
        One row per call date × region × business × last IVR node × ``is_ended_in_ivr``
        (true, false, or null for calls without IVR events): ``n_calls, n_escalated``.
    """
    return calls.group_by(list(CALL_KEYS)).agg(
        n_calls=calls.count(),
        n_escalated=calls.is_escalated.fill_null(False).sum(),
    )
