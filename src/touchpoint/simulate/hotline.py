"""Hotline calls: IVR walks, transfers to agents and same-day redials, wave by wave."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.ivr_walk import COMPLETE, TRANSFER, walk_calls
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.timing import DAY_US

OUTCOME_RESOLVED, OUTCOME_TRANSFERRED, OUTCOME_ABANDONED, OUTCOME_UNRESOLVED = range(4)


@dataclass
class Calls:
    """One row per hotline call plus its IVR events (``event_call`` indexes the calls); a
    chunk's calls end up in customer and start order."""

    customer: np.ndarray
    business: np.ndarray
    start_us: np.ndarray
    ivr_end_us: np.ndarray
    ivr_outcome: np.ndarray
    terminal: np.ndarray
    is_transferred: np.ndarray
    agent_start_us: np.ndarray
    agent_end_us: np.ndarray
    agent_resolved: np.ndarray
    redialled: np.ndarray  # the caller dialled again the same day after this call
    event_call: np.ndarray
    event_seq: np.ndarray
    event_us: np.ndarray
    event_node: np.ndarray
    event_type: np.ndarray
    event_key: np.ndarray
    key: np.ndarray  # per call: its random key (uint64), from its need and its place in redials
    month: np.ndarray  # per call: the month simulated (counted from params.start_month)


def _leaf_for(
    menu: Menu, businesses: list[str], business: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    target = np.zeros(len(business), dtype=np.int64)
    u = kr.fold(keys, Site.LEAF)
    for b, name in enumerate(businesses):
        mask = business == b
        leaves, weights = menu.leaves_by_business[name]
        target[mask] = leaves[kr.choice(u[mask], weights)]
    return target


def simulate_calls(
    params: SimParams,
    menu: Menu,
    businesses: list[str],
    keys: np.ndarray,
    customer: np.ndarray,
    business: np.ndarray,
    start_us: np.ndarray,
    is_seeker: np.ndarray,
    escalation: np.ndarray,
    alive_until_us: np.ndarray,
) -> Calls:
    """First calls of each need, then redials the same day while callers keep dialling.

    ``keys`` are the needs' random keys; ``escalation`` is each customer's regional factor on
    pressing 0 at once when redialling; ``alive_until_us`` the end of their time in the
    network (no call after it). A call's draws are keyed by its need and its redial number.
    """
    hot, ivr = params.hotline, params.ivr
    waves: list[dict] = []
    calls_today = np.ones(len(customer), dtype=np.int64)
    n_before = 0
    keys = kr.fold(keys, Site.CALL)
    while len(customer):
        walk = walk_calls(menu, ivr, _leaf_for(menu, businesses, business, keys), is_seeker, keys)
        ivr_end = start_us + walk.end_ms * 1000
        transferred = walk.terminal == TRANSFER
        queue = (
            (kr.exponential(kr.fold(keys, Site.QUEUE), hot.agent_queue_seconds) * 1e6).astype(
                np.int64
            )
            // 1_000_000
            * 1_000_000
        )
        agent_start = ivr_end + queue + 1_000_000
        agent_end = agent_start + (
            kr.gamma2(kr.fold(keys, Site.AGENT_TIME), params.contacts.duration_seconds["agent"] / 2)
            * 1e6
        ).astype(np.int64)
        agent_resolved = transferred & (
            kr.uniform(kr.fold(keys, Site.AGENT_RESOLVED)) < hot.agent_resolve_rate
        )
        outcome = np.select(
            [walk.terminal == COMPLETE, transferred, walk.failed_service],
            [OUTCOME_RESOLVED, OUTCOME_TRANSFERRED, OUTCOME_UNRESOLVED],
            OUTCOME_ABANDONED,
        )
        waves.append(
            dict(
                customer=customer,
                business=business,
                start_us=start_us,
                ivr_end_us=ivr_end,
                ivr_outcome=outcome,
                terminal=walk.terminal,
                is_transferred=transferred,
                agent_start_us=np.where(transferred, agent_start, 0),
                agent_end_us=np.where(transferred, agent_end, 0),
                agent_resolved=agent_resolved,
                event_call=walk.call + n_before,
                event_seq=walk.seq,
                event_us=start_us[walk.call] + walk.offset_ms * 1000,
                event_node=walk.node,
                event_type=walk.event_type,
                event_key=walk.key,
                key=keys,
            )
        )
        n_before += len(customer)
        # Redials: callers dial again the same day, more often when the call did not help.
        resolved = (walk.terminal == COMPLETE) | agent_resolved
        p_redial = np.where(resolved, hot.redial_after_resolved, hot.redial_after_unresolved)
        last_end = np.where(transferred, agent_end, ivr_end)
        gap = (
            (
                kr.exponential(kr.fold(keys, Site.REDIAL_GAP), hot.redial_gap_minutes * 60) * 1e6
            ).astype(np.int64)
            // 1_000_000
            * 1_000_000
        )
        next_start = last_end + gap + 1_000_000
        again = (
            (kr.uniform(kr.fold(keys, Site.REDIAL)) < p_redial)
            & (calls_today < hot.max_calls_per_day)
            & (next_start // DAY_US == start_us // DAY_US)
            & (next_start < alive_until_us[customer])
        )
        waves[-1]["redialled"] = again
        customer, business, start_us = customer[again], business[again], next_start[again]
        calls_today = calls_today[again] + 1
        keys = kr.fold(keys[again], Site.REDIAL)
        is_seeker = kr.uniform(kr.fold(keys, Site.SEEKER)) < np.minimum(
            hot.redial_zero_out * escalation[customer], 1.0
        )
    if not waves:
        empty = np.zeros(0, dtype=np.int64)
        return Calls(
            *[empty] * 16, np.zeros(0, dtype=object), np.zeros(0, np.uint64), np.zeros(0, np.int64)
        )
    calls = {k: np.concatenate([w[k] for w in waves]) for k in waves[0]}
    return Calls(**calls, month=np.zeros(len(calls["customer"]), dtype=np.int64))
