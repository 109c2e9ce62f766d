"""IVR journeys step by step: events with their neighbours, and node visits.

A *visit* is a maximal run of consecutive events of one call at the same node: the caller
arrives (the call's first event, or the first event after a move from another node), hears
the prompt, perhaps times out or presses an invalid key (the prompt plays again), and leaves
with a key, or the call ends there. Its *dwell* runs from its first event to the first event
of the next visit (for the call's last visit: to the call's last event).
"""

from __future__ import annotations

import ibis

from touchpoint.contract.columns import require_columns
from touchpoint.ivr._settings import IvrSettings

#: Columns of ``stg_ivr_events`` the IVR analytics read.
EVENT_COLUMNS = ("call_id", "seq", "customer_id", "event_at", "node_id", "event_type", "key")


def nullable(value: ibis.Value) -> ibis.Value:
    """``value`` typed as nullable (a lag or lead is null at the edge of its window, and a
    stored table refuses nulls in a column typed non-nullable)."""
    return value.cast(value.type().copy(nullable=True))


def seconds_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """``later - earlier`` in seconds, to the microsecond (as float)."""
    return later.delta(earlier, unit="microsecond").cast("float64") / 1e6


def _events(ivr_events: ibis.Table) -> ibis.Table:
    """The events' columns the journeys read, a blank key as null."""
    require_columns(ivr_events, "ivr_events", EVENT_COLUMNS)
    return ivr_events.select(
        "call_id",
        "seq",
        "customer_id",
        "event_at",
        "node_id",
        "event_type",
        key=ivr_events.key.nullif(""),
    )


def event_steps(ivr_events: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """Every IVR event with the events before and after it in its call.

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events``: one row per step of an IVR call.

    Returns
    -------
    ibis.Table
        One row per IVR event: ``call_id, seq, customer_id, event_at, node_id, event_type,
        key`` (blank as null), ``prev_node_id, prev_event_type, prev_key, next_node_id``
        (null at the call's first / last event), ``call_ended_at`` (the call's last event),
        ``is_visit_start`` (first event of a visit), ``is_last`` (the call's last event),
        ``is_repeated_prompt`` (a prompt played again at the node the previous event was at,
        other than the first prompt after the call starts).
    """
    e = _events(ivr_events)
    ordered = ibis.window(group_by="call_id", order_by="seq")
    whole = ibis.window(group_by="call_id", order_by="seq", rows=(None, None))
    e = e.mutate(
        prev_node_id=nullable(e.node_id.lag().over(ordered)),
        prev_event_type=nullable(e.event_type.lag().over(ordered)),
        prev_key=nullable(e.key.lag().over(ordered)),
        next_node_id=nullable(e.node_id.lead().over(ordered)),
        call_ended_at=e.event_at.max().over(whole),
    )
    same_as_prev = (e.prev_node_id == e.node_id).fill_null(False)
    return e.mutate(
        is_visit_start=~same_as_prev,
        is_last=e.next_node_id.isnull(),
        is_repeated_prompt=repeated_prompt(e.event_type, same_as_prev, e.prev_event_type, settings),
    )


def repeated_prompt(
    event_type: ibis.Value,
    same_as_prev: ibis.Value,
    prev_event_type: ibis.Value,
    settings: IvrSettings,
) -> ibis.BooleanValue:
    """A prompt played again at the node the previous event was at (``same_as_prev``), other
    than the first prompt after the call starts."""
    return (
        (event_type == settings.prompt_event_type)
        & same_as_prev
        & (prev_event_type != settings.call_start_event_type).fill_null(True)
    )


def back_key(event_type: ibis.Value, key: ibis.Value, settings: IvrSettings) -> ibis.BooleanValue:
    """A key step pressing the IVR's back key (a blank key is no key)."""
    return (event_type == settings.key_event_type) & (key == settings.back_key).fill_null(False)


def unshared_steps(ivr_events: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """:func:`event_steps` as an expression of its own, for the visits of a query that also
    reads the steps directly (``mart_ivr_node_stats``).

    The same rows as :func:`event_steps` (one row per IVR event), over a view of
    ``ivr_events``. Both branches of such a query would otherwise share one expression, which
    DuckDB materialises whole (every event with its neighbours: 41 M wide rows at 1 M
    customers) and, under the connection's memory limit, spills to disk; two streaming window
    passes are faster (1 M customers: 39 s instead of 63 s) and stay within the limit.
    """
    return event_steps(ivr_events.view(), settings)


def node_visits(steps: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """Visits of menu nodes, from :func:`event_steps`.

    Returns
    -------
    ibis.Table
        One row per visit (call × arrival at a node): ``call_id, customer_id, node_id,
        visit_started_at, prev_visit_node_id, next_visit_node_id`` (null for the call's
        first / last visit), ``entry_key`` (the key that brought the caller here, null for
        the first visit), ``exit_key`` (the key that took the caller on), ``dwell_seconds``,
        ``is_backtrack_entry`` (arrived with the back key), ``is_wrong_turn`` (arrived with
        another key and left with the back key at once: the choice made at
        ``prev_visit_node_id`` was wrong) and ``leads_to_wrong_turn`` (the same seen from the
        node where the wrong key was pressed: this visit is the ``prev_visit_node_id`` of a
        wrong turn).
    """
    starts = steps.filter(steps.is_visit_start)
    ordered = ibis.window(group_by="call_id", order_by="seq")
    visits = starts.select(
        "call_id",
        "customer_id",
        "node_id",
        visit_started_at=starts.event_at,
        entry_key=starts.prev_key,
        prev_visit_node_id=nullable(starts.node_id.lag().over(ordered)),
        next_visit_node_id=nullable(starts.node_id.lead().over(ordered)),
        next_visit_at=nullable(starts.event_at.lead().over(ordered)),
        exit_key=nullable(starts.prev_key.lead().over(ordered)),
        # The key that left the next visit: the back key there undoes the move made here.
        next_exit_key=nullable(starts.prev_key.lead(2).over(ordered)),
        call_ended_at=starts.call_ended_at,
    )
    back = settings.back_key
    entered_back = (visits.entry_key == back).fill_null(False)
    return visits.select(
        "call_id",
        "customer_id",
        "node_id",
        "visit_started_at",
        "prev_visit_node_id",
        "next_visit_node_id",
        "entry_key",
        "exit_key",
        dwell_seconds=seconds_between(
            ibis.coalesce(visits.next_visit_at, visits.call_ended_at), visits.visit_started_at
        ),
        is_backtrack_entry=entered_back,
        is_wrong_turn=(
            ~entered_back
            & visits.prev_visit_node_id.notnull()
            & (visits.exit_key == back).fill_null(False)
        ),
        leads_to_wrong_turn=(
            ~(visits.exit_key == back).fill_null(False)
            & (visits.next_exit_key == back).fill_null(False)
        ),
    )


def visit_table(ivr_events: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """``int_ivr_visits``: the visits of :func:`node_visits` with what the calls' summaries
    need, from one window pass over the events and one over the visits' last events.

    A visit's last event is the one the next visit starts after (or the call's last), so the
    events right after it carry everything :func:`node_visits` takes from the next visit:
    its node, its time and the key that left. The previous visit's last event gives the
    start of this one (its next event) and the key that brought the caller here. The events
    are thus windowed once per call and the visits once more, instead of a window over every
    event for each table built from them (the cubes of ``ivr_cubes`` read this table, not the
    events).

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events``.

    Returns
    -------
    ibis.Table
        One row per visit: the columns of :func:`node_visits`, plus ``seq`` (of the visit's
        last event), ``end_event_type`` (its type), ``is_call_end`` (no node after it: the
        ``is_last`` of :func:`event_steps`), ``is_final`` (the call's highest ``seq``),
        ``call_started_at``, ``call_ended_at`` (the call's first and last event times) and
        ``n_call_events``.
    """
    e = _events(ivr_events)
    # One partition and order for every window function of this pass: one sort of the events.
    ordered = ibis.window(group_by="call_id", order_by="seq")
    whole = ibis.window(group_by="call_id", order_by="seq", rows=(None, None))
    e = e.mutate(
        next_node_id=nullable(e.node_id.lead().over(ordered)),
        next_event_at=nullable(e.event_at.lead().over(ordered)),
        next_customer_id=nullable(e.customer_id.lead().over(ordered)),
        next_seq=nullable(e.seq.lead().over(ordered)),
        first_event_at=e.event_at.first(include_null=True).over(whole),
        first_customer_id=e.customer_id.first(include_null=True).over(whole),
        call_started_at=e.event_at.min().over(whole),
        call_ended_at=e.event_at.max().over(whole),
        n_call_events=e.count().over(whole),
    )
    # The next event starts a visit (as in event_steps) or there is none: this one ends one.
    ends = e.filter(~(e.next_node_id == e.node_id).fill_null(False))
    is_final = ends.next_seq.isnull()
    ends = ends.mutate(
        is_final=is_final,
        # The key that left the visit: none when the call ends with it.
        exit_key=ibis.ifelse(is_final, ibis.null("string"), ends.key),
    )
    by_visit = ibis.window(group_by="call_id", order_by="seq")
    is_first = ends.seq.lag().over(by_visit).isnull()
    visits = ends.select(
        "call_id",
        "seq",
        "node_id",
        "next_node_id",
        "exit_key",
        "is_final",
        "call_started_at",
        "call_ended_at",
        "n_call_events",
        end_event_type=ends.event_type,
        customer_id=ibis.ifelse(
            is_first, ends.first_customer_id, ends.next_customer_id.lag().over(by_visit)
        ),
        visit_started_at=ibis.ifelse(
            is_first, ends.first_event_at, ends.next_event_at.lag().over(by_visit)
        ),
        entry_key=nullable(ends.key.lag().over(by_visit)),
        prev_visit_node_id=nullable(ends.node_id.lag().over(by_visit)),
        next_visit_at=ends.next_event_at,
        next_exit_key=nullable(ends.exit_key.lead().over(by_visit)),
    )
    back = settings.back_key
    entered_back = (visits.entry_key == back).fill_null(False)
    return visits.select(
        "call_id",
        "customer_id",
        "node_id",
        "visit_started_at",
        "prev_visit_node_id",
        next_visit_node_id=visits.next_node_id,
        entry_key=visits.entry_key,
        exit_key=visits.exit_key,
        dwell_seconds=seconds_between(
            ibis.coalesce(visits.next_visit_at, visits.call_ended_at), visits.visit_started_at
        ),
        is_backtrack_entry=entered_back,
        is_wrong_turn=(
            ~entered_back
            & visits.prev_visit_node_id.notnull()
            & (visits.exit_key == back).fill_null(False)
        ),
        leads_to_wrong_turn=(
            ~(visits.exit_key == back).fill_null(False)
            & (visits.next_exit_key == back).fill_null(False)
        ),
        seq=visits.seq,
        end_event_type=visits.end_event_type,
        is_call_end=visits.next_node_id.isnull(),
        is_final=visits.is_final,
        call_started_at=visits.call_started_at,
        call_ended_at=visits.call_ended_at,
        n_call_events=visits.n_call_events,
    )
