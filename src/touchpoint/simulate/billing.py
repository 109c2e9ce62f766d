"""Money: the month's payments, ARPU and loyalty points moving on, and the monthly bill."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.rows import events_of
from touchpoint.simulate.timing import sample_times


def payments(
    params: SimParams, leg, month, arpu: np.ndarray, payment_habits: np.ndarray
) -> dict[str, np.ndarray]:
    """The month's payments: a Poisson number per customer in the network, at bill-cycle
    times, in a channel drawn from ``payment_habits``, for a share of ``arpu``."""
    cm = month.key
    n_pay = kr.poisson(kr.fold(cm, Site.N_PAYMENTS), params.payments.per_month) * month.alive
    pc, pk = events_of(kr.fold(cm, Site.PAYMENT), n_pay)
    pt = sample_times(pk, month.start, np.ones(len(pc), dtype=bool), month.weights)
    ok = (pt >= month.lo[pc]) & (pt < month.hi[pc])
    pc, pt, pk = pc[ok], pt[ok], pk[ok]
    return dict(
        customer=pc,
        at_us=pt,
        channel=leg.pay_channels[kr.categorical(kr.fold(pk, Site.CHANNEL), payment_habits[pc])],
        amount=np.round(
            arpu[pc] * kr.uniform(kr.fold(pk, Site.AMOUNT), *params.payments.amount_of_arpu) / 10
        )
        * 10,
        key=pk,
        month=np.full(len(pc), month.number),
    )


def move_arpu_and_points(params: SimParams, state, month) -> None:
    """ARPU follows each customer's trend with noise; points grow with it while in the network
    (``state.arpu`` and ``state.points`` updated)."""
    cm = month.key
    arpu = (
        state.arpu
        * state.population.arpu_trend
        * kr.lognormal(kr.fold(cm, Site.ARPU_CHANGE), 0, params.population.arpu_monthly_noise)
    )
    state.arpu = arpu
    state.points = (
        state.points
        + (arpu * kr.uniform(kr.fold(cm, Site.POINTS), *params.population.points_per_yuan)).astype(
            np.int64
        )
        * month.alive
    )


def bills(params: SimParams, state, month) -> dict[str, np.ndarray]:
    """One bill per customer in the network this month: usage in proportion to ARPU, points,
    and sometimes arrears."""
    billed = np.flatnonzero(month.alive)
    b = params.bills
    bm = month.key[billed]
    barpu = state.arpu[billed]
    return dict(
        customer=billed,
        month_us=np.full(len(billed), month.start),
        arpu=np.round(barpu, 2),
        voice=np.round(
            barpu * kr.uniform(kr.fold(bm, Site.BILL_VOICE), *b.voice_minutes_per_yuan), 1
        ),
        data=np.round(barpu * kr.uniform(kr.fold(bm, Site.BILL_DATA), *b.data_mb_per_yuan), 1),
        sms=kr.poisson(kr.fold(bm, Site.BILL_SMS), b.sms_per_month),
        points=state.points[billed],
        arrears=np.where(
            kr.uniform(kr.fold(bm, Site.BILL_ARREARS)) < b.arrears_share,
            np.round(
                barpu * kr.uniform(kr.fold(bm, Site.BILL_ARREARS_AMOUNT), *b.arrears_of_bill), 2
            ),
            0.0,
        ),
    )
