"""Satisfaction surveys: SMS after agent and store contacts, IVR after calls that stayed in
the IVR, answered by the peak-end rule."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.hotline import OUTCOME_RESOLVED, Calls
from touchpoint.simulate.keyed_random import Site

SATISFIED, NEUTRAL, DISSATISFIED = 0, 1, 2


def surveys(params, calls: Calls, contacts, channels):
    """SMS surveys after agent and store contacts, IVR surveys after calls that stayed in the IVR.

    Satisfaction follows the peak and the end of the contact (peak-end rule): the worst moment
    (a long wait for the agent, a transfer) and whether it ended resolved. A survey's draws
    are keyed by the contact it asks about.
    """
    sv = params.surveys
    store = channels.index("store")
    # Agent legs of hotline calls.
    a = np.flatnonzero(
        calls.is_transferred
        & (kr.uniform(kr.fold(calls.key, Site.SURVEY_AGENT)) < sv.sms_after_agent)
    )
    wait = (calls.agent_start_us[a] - calls.ivr_end_us[a]) / 1e6
    logit = (
        sv.peak_end_intercept
        + sv.peak_end_resolved * calls.agent_resolved[a]
        + sv.peak_end_long_wait * (wait > sv.long_wait_seconds)
    )
    agent_good = 1 / (1 + np.exp(-logit))
    # Store visits.
    s = np.flatnonzero(
        (contacts["channel"] == store)
        & (kr.uniform(kr.fold(contacts["key"], Site.SURVEY_STORE)) < sv.sms_after_agent)
    )
    store_good = np.where(contacts["outcome"][s] == OUTCOME_RESOLVED, 0.8, 0.15)
    # Calls that ended in the IVR.
    i = np.flatnonzero(
        ~calls.is_transferred
        & (kr.uniform(kr.fold(calls.key, Site.SURVEY_IVR)) < sv.ivr_after_call)
    )
    ivr_good = np.where(calls.ivr_outcome[i] == OUTCOME_RESOLVED, 0.75, 0.2)
    customer = np.concatenate([calls.customer[a], contacts["customer"][s], calls.customer[i]])
    sent = (
        np.concatenate([calls.agent_end_us[a], contacts["end_us"][s], calls.ivr_end_us[i]])
        + 300_000_000
    )
    # The contact the survey asks about: ("agent", call) / ("other", contact row) / ("ivr", call).
    kind = np.concatenate([np.zeros(len(a)), np.ones(len(s)), np.full(len(i), 2)]).astype(np.int8)
    ref = np.concatenate([a, s, i])
    p_good = np.concatenate([agent_good, store_good, ivr_good])
    keys = kr.fold(np.concatenate([calls.key[a], contacts["key"][s], calls.key[i]]), Site.SURVEY)
    month = np.concatenate([calls.month[a], contacts["month"][s], calls.month[i]])
    u = kr.uniform(kr.fold(keys, Site.SATISFACTION))
    satisfaction = np.where(
        u < p_good, SATISFIED, np.where(u < p_good + (1 - p_good) * 0.35, NEUTRAL, DISSATISFIED)
    )
    is_sms = kind != 2
    resolved = np.concatenate(
        [
            calls.agent_resolved[a],
            contacts["outcome"][s] == OUTCOME_RESOLVED,
            calls.ivr_outcome[i] == OUTCOME_RESOLVED,
        ]
    )
    # Unresolved contacts draw `unresolved_reply_factor` times the replies of resolved ones,
    # split evenly around each channel's reply rate (a constant per row, never a mean over the
    # chunk: the world must not depend on how customers are chunked).
    half = np.sqrt(sv.unresolved_reply_factor)
    factor = np.where(resolved, 1 / half, half)
    p_reply = np.where(is_sms, sv.sms_reply_rate, sv.ivr_reply_rate) * factor
    replied = kr.uniform(kr.fold(keys, Site.REPLIED)) < np.minimum(p_reply, 1.0)
    replied_at = (
        sent
        + (kr.exponential(kr.fold(keys, Site.REPLY_DELAY), 900) * 1e6).astype(np.int64)
        // 1_000_000
        * 1_000_000
        + 1_000_000
    )
    return dict(
        customer=customer,
        kind=kind,
        ref=ref,
        sent_us=sent,
        is_sms=is_sms,
        replied=replied,
        replied_us=replied_at,
        satisfaction=satisfaction,
        text_draw=kr.uniform(kr.fold(keys, Site.REPLY_TEXT)),
        key=keys,
        month=month,
    )
