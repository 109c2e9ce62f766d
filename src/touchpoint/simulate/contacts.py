"""Needs and the contacts they make: hotline calls (:mod:`.hotline`), contacts in the other
channels, and the follow-ups of those that did not help."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.hotline import OUTCOME_RESOLVED, Calls, simulate_calls
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.rows import concat_rows, whole_seconds_us
from touchpoint.simulate.timing import HOUR_US, sample_times

HOTLINE = ("ivr", "agent")


def month_contacts(
    params: SimParams, menu: Menu, leg, month, habits: np.ndarray, channels: list[str]
) -> tuple[Calls, dict[str, np.ndarray]]:
    """The month's needs, each taken to a channel drawn from ``habits``: the hotline calls,
    and the contacts elsewhere (follow-ups of failed calls and contacts included).

    A need's key: its customer-month, business and ordinal within them.
    """
    n, nb = leg.n, len(leg.businesses)
    cm, lo, hi = month.key, month.lo, month.hi
    counts = (
        kr.poisson(
            kr.fold(kr.fold(cm, Site.NEEDS)[:, None], np.arange(nb)[None, :]),
            leg.need_rates[None, :] * leg.seg_needs[:, None],
        )
        * month.alive[:, None]
    )
    cell = np.repeat(np.arange(n * nb), counts.ravel())
    k = np.arange(len(cell)) - np.repeat(np.cumsum(counts.ravel()) - counts.ravel(), counts.ravel())
    cust, biz = cell // nb, cell % nb
    need_keys = kr.fold(kr.fold(cm, Site.NEED)[cust], k * nb + biz)
    t = sample_times(need_keys, month.start, leg.is_bill_business[biz], month.weights)
    keep_rows = (t >= lo[cust]) & (t < hi[cust])
    cust, biz, t = cust[keep_rows], biz[keep_rows], t[keep_rows]
    need_keys = need_keys[keep_rows]
    channel = kr.categorical(kr.fold(need_keys, Site.CHANNEL), habits[cust, biz])
    is_hot = np.isin(channel, leg.hotline_idx)
    calls = simulate_calls(
        params,
        menu,
        leg.businesses,
        need_keys[is_hot],
        cust[is_hot],
        biz[is_hot],
        t[is_hot],
        channel[is_hot] == leg.agent,
        leg.escalation,
        hi,
    )
    calls.month[:] = month.number
    tried = hotline_follow_ups(params, calls, channels, habits, hi)
    contacts = other_contacts(
        params,
        channels,
        np.concatenate([need_keys[~is_hot], tried["key"]]),
        np.concatenate([cust[~is_hot], tried["customer"]]),
        np.concatenate([biz[~is_hot], tried["business"]]),
        np.concatenate([t[~is_hot], tried["start_us"]]),
        np.concatenate([channel[~is_hot], tried["channel"]]),
        leg.pop,
        hi,
    )
    contacts["month"] = np.full(len(contacts["customer"]), month.number)
    return calls, contacts


def had_unresolved(n: int, calls: Calls, contacts: dict[str, np.ndarray]) -> np.ndarray:
    """Per customer: a call or contact this month that did not solve the need."""
    unresolved = np.zeros(n, dtype=bool)
    unresolved[calls.customer[(calls.ivr_outcome != OUTCOME_RESOLVED) & ~calls.agent_resolved]] = (
        True
    )
    unresolved[contacts["customer"][contacts["outcome"] != OUTCOME_RESOLVED]] = True
    return unresolved


def had_business(
    n: int, businesses: list[str], business: str, calls: Calls, contacts: dict[str, np.ndarray]
) -> np.ndarray:
    """Per customer: a call or contact this month about ``business`` (none when the
    parameters leave the business out)."""
    had = np.zeros(n, dtype=bool)
    if business in businesses:
        b = businesses.index(business)
        had[calls.customer[calls.business == b]] = True
        had[contacts["customer"][contacts["business"] == b]] = True
    return had


def hotline_follow_ups(
    params: SimParams, calls: Calls, channels: list[str], habits: np.ndarray, alive_until
) -> dict[str, np.ndarray]:
    """Callers whose last call of the day did not help (hung up, failed self service, an agent
    who could not solve it) often try another channel within a day: the first contact of each
    such try, in a channel drawn from the customer's habits for the business outside the
    hotline. Its key is the call's, folded."""
    gave_up = ~calls.redialled & (calls.ivr_outcome != OUTCOME_RESOLVED) & ~calls.agent_resolved
    keys = kr.fold(calls.key, Site.HOTLINE_FOLLOW_UP)
    tries = gave_up & (kr.uniform(keys) < params.contacts.hotline_cross_channel_repeat)
    last_end = np.where(calls.is_transferred, calls.agent_end_us, calls.ivr_end_us)
    start = follow_up_start(keys, last_end)
    tries &= start < alive_until[calls.customer]
    cust, biz, keys = calls.customer[tries], calls.business[tries], keys[tries]
    prefs = outside_hotline(habits[cust, biz].copy(), channels)
    return dict(
        customer=cust,
        business=biz,
        start_us=start[tries],
        channel=kr.categorical(kr.fold(keys, Site.CHANNEL), prefs),
        key=keys,
    )


def follow_up_start(keys: np.ndarray, end_us: np.ndarray) -> np.ndarray:
    """When a follow-up of a contact ending at ``end_us`` starts: 0.3 to 20 hours later, in
    whole seconds."""
    gap = kr.uniform(kr.fold(keys, Site.FOLLOW_UP_GAP), 0.3, 20)
    return end_us + (gap * HOUR_US).astype(np.int64) // 1_000_000 * 1_000_000


def outside_hotline(prefs: np.ndarray, channels: list[str]) -> np.ndarray:
    """``prefs`` (changed in place) with no weight on the hotline: its follow-ups are redials."""
    prefs[:, [channels.index(c) for c in HOTLINE]] = 0
    prefs += 1e-9
    return prefs


def other_contacts(params, channels, keys, cust, biz, t, channel, pop, alive_until):
    """Contacts outside the hotline; an unresolved one is often followed up elsewhere within a
    day. ``keys`` are the needs' keys; a follow-up's key is its contact's, folded."""
    parts = []
    follow_up = 0
    resolve_by_channel = np.array([params.contacts.resolve_rate.get(c, 0.8) for c in channels])
    duration_by_channel = np.array(
        [params.contacts.duration_seconds.get(c, 120.0) for c in channels]
    )
    while len(cust) and follow_up < 3:
        end = t + whole_seconds_us(kr.fold(keys, Site.DURATION), duration_by_channel[channel])
        outcome = np.where(
            kr.uniform(kr.fold(keys, Site.RESOLVED)) < resolve_by_channel[channel],
            OUTCOME_RESOLVED,
            3,
        )
        parts.append(
            dict(
                customer=cust,
                business=biz,
                start_us=t,
                end_us=end,
                channel=channel,
                outcome=outcome,
                key=keys,
            )
        )
        again = (outcome != OUTCOME_RESOLVED) & (
            kr.uniform(kr.fold(keys, Site.FOLLOW_UP)) < params.contacts.cross_channel_repeat
        )
        nt = follow_up_start(keys, end)
        again &= nt < alive_until[cust]
        prefs = pop.preferences[cust[again], biz[again]].copy()
        prefs[np.arange(again.sum()), channel[again]] = 0  # try somewhere else
        prefs = outside_hotline(prefs, channels)
        cust, biz, t = cust[again], biz[again], nt[again]
        keys = kr.fold(keys[again], Site.FOLLOW_UP)
        channel = kr.categorical(kr.fold(keys, Site.CHANNEL), prefs)
        follow_up += 1
    return concat_rows(parts) or dict(
        customer=np.zeros(0, np.int64),
        business=np.zeros(0, np.int64),
        start_us=np.zeros(0, np.int64),
        end_us=np.zeros(0, np.int64),
        channel=np.zeros(0, np.int64),
        outcome=np.zeros(0, np.int64),
        key=np.zeros(0, np.uint64),
    )
