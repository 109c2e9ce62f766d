"""Stage 1: the replay cube, every IVR step aggregated by the call's ending and the move."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from touchpoint.contract.columns import require_columns
from touchpoint.ivr._journeys import back_key, repeated_prompt
from touchpoint.ivr._settings import IvrSettings
from touchpoint.ivr.menu_design._settings import MenuDesignSettings

EVENT_COLUMNS = ("call_id", "seq", "event_at", "node_id", "event_type", "key")


def menu_replay_cube(
    ivr_events: ir.Table, settings: MenuDesignSettings, ivr_settings: IvrSettings | None = None
) -> ir.Table:
    """``int_ivr_menu_replay``: every IVR step, aggregated by the call's ending and the move.

    One window pass over each call (ordered by ``seq``) gives every step its next node, the
    time to the next step, the time since the previous step and the call's last node and
    event type; the steps are then counted and their times summed. The same pass counts what
    the IVR's node statistics need of a step's neighbours (back keys, repeated prompts), so
    that ``mart_ivr_node_stats`` is summed from this cube instead of windowing the events
    once more (:func:`touchpoint.ivr.replay_node_counts`).

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events``: one row per step of an IVR call.
    ivr_settings
        The IVR analytics' settings (back key, prompt and call-start event types) for
        ``n_back_keys`` and ``n_repeated_prompts``; their defaults when ``None``.

    Returns
    -------
    ibis.Table
        One row per terminal node × terminal event type × node × event type × key × next
        node: ``n_events``, ``seconds_to_next`` (sum of the time until the call's next step:
        the time the caller spent at the node after the step), ``turn_seconds`` (sum of the
        time from the previous step to the next one: what one action at the node costs),
        ``first_event_at``, ``last_event_at``, ``n_back_keys`` (key steps pressing the IVR's
        back key) and ``n_repeated_prompts`` (``is_repeated_prompt`` of
        :func:`touchpoint.ivr.event_steps`). ``key`` is kept only for steps that move to
        another node; ``next_node_id`` is null for a call's last step.
    """
    require_columns(ivr_events, "ivr_events", EVENT_COLUMNS)
    ivr = ivr_settings if ivr_settings is not None else IvrSettings()
    e = ivr_events
    # One frame for every window function, so the engine sorts each call once.
    w = ibis.window(group_by="call_id", order_by="seq", rows=(None, None))
    next_at = e.event_at.lead().over(w)
    prev_at = e.event_at.lag().over(w)
    next_node = e.node_id.lead().over(w)
    same_as_prev = (e.node_id.lag().over(w) == e.node_id).fill_null(False)
    steps = e.select(
        "node_id",
        "event_type",
        "event_at",
        terminal_node_id=e.node_id.last().over(w),
        terminal_event_type=e.event_type.last().over(w),
        # Nullable casts: a lead is null on a call's last step, whatever the source's schema.
        next_node_id=next_node.cast("string"),
        key_pressed=e.key.cast("string"),
        ms_to_next=next_at.delta(e.event_at, unit="millisecond").cast("int64"),
        ms_turn=next_at.delta(prev_at, unit="millisecond").cast("int64"),
        # As event_steps defines them.
        is_back_key=back_key(e.event_type, e.key, ivr),
        is_repeated_prompt=repeated_prompt(
            e.event_type, same_as_prev, e.event_type.lag().over(w), ivr
        ),
    )
    moves = steps.next_node_id.notnull() & (steps.next_node_id != steps.node_id)
    steps = steps.mutate(key=ibis.ifelse(moves, steps.key_pressed, ibis.null("string")))
    return steps.group_by(
        [
            "terminal_node_id",
            "terminal_event_type",
            "node_id",
            "event_type",
            "key",
            "next_node_id",
        ]
    ).agg(
        n_events=steps.count(),
        seconds_to_next=(steps.ms_to_next.sum() / 1000.0).fill_null(0.0),
        turn_seconds=(steps.ms_turn.sum() / 1000.0).fill_null(0.0),
        first_event_at=steps.event_at.min(),
        last_event_at=steps.event_at.max(),
        n_back_keys=steps.is_back_key.sum().cast("int64"),
        n_repeated_prompts=steps.is_repeated_prompt.sum().cast("int64"),
    )
