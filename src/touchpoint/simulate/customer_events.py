"""A customer-month's complaints, product orders and marketing offers."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.rows import events_of
from touchpoint.simulate.timing import DAY_US, HOUR_US, sample_times


def complaints(
    params: SimParams, leg, month, unresolved: np.ndarray, annoyed: np.ndarray
) -> dict[str, np.ndarray]:
    """Complaints: more from sensitive customers, after an unresolved contact, and from
    customers a work order annoyed (those extra ones are about marketing harassment)."""
    pop, cm = leg.pop, month.key
    harassed = np.where(annoyed, params.treatments.annoyance.complaint_factor, 1.0)
    rate = (
        params.complaints.per_month
        * np.where(pop.is_sensitive, params.complaints.sensitive_factor, 1.0)
        * np.where(unresolved, params.complaints.unresolved_factor, 1.0)
        * harassed
    )
    cc, ck = events_of(
        kr.fold(cm, Site.COMPLAINT),
        kr.poisson(kr.fold(cm, Site.N_COMPLAINTS), rate) * month.alive,
    )
    ct = sample_times(ck, month.start, np.zeros(len(cc), dtype=bool), month.weights)
    ok = (ct >= month.lo[cc]) & (ct < month.hi[cc])
    cc, ct, ck = cc[ok], ct[ok], ck[ok]
    is_harassment = kr.uniform(kr.fold(ck, Site.HARASSMENT)) < 1 - 1 / harassed[cc]
    return dict(
        customer=cc,
        at_us=ct,
        is_harassment=is_harassment,
        key=ck,
        month=np.full(len(cc), month.number),
    )


def orders(params: SimParams, leg, month) -> dict[str, np.ndarray]:
    """Product orders, more from digital segments, in the channel preferred for new business."""
    pop, cm = leg.pop, month.key
    oc, ok_ = events_of(
        kr.fold(cm, Site.ORDER),
        kr.poisson(kr.fold(cm, Site.N_ORDERS), params.orders.per_month * leg.seg_digital)
        * month.alive,
    )
    ot = sample_times(ok_, month.start, np.zeros(len(oc), dtype=bool), month.weights)
    ok = (ot >= month.lo[oc]) & (ot < month.hi[oc])
    oc, ot, ok_ = oc[ok], ot[ok], ok_[ok]
    nb = leg.businesses.index("new_business")
    return dict(
        customer=oc,
        at_us=ot,
        channel=kr.categorical(kr.fold(ok_, Site.CHANNEL), pop.preferences[oc, nb]),
        key=ok_,
        month=np.full(len(oc), month.number),
    )


def offers(params: SimParams, state, month) -> dict[str, np.ndarray]:
    """Marketing offers (SMS, in the first days of the month); ``state.recent_offers`` counts
    them, halved each month."""
    cm = month.key
    sent_offer = month.alive & (
        kr.uniform(kr.fold(cm, Site.OFFER)) < params.campaigns.offers_per_month
    )
    state.recent_offers = state.recent_offers / 2 + sent_offer
    who = np.flatnonzero(sent_offer)
    return dict(
        customer=who,
        month=np.full(len(who), month.number),
        at_us=month.start
        + (kr.uniform(kr.fold(cm, Site.OFFER_AT))[who] * (3 * DAY_US)).astype(np.int64)
        // 1_000_000
        * 1_000_000
        + 10 * HOUR_US,
        key=kr.fold(cm[who], Site.OFFER),
    )
