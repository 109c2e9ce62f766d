"""Customers and their latent traits: brand, tier, region, segment, value and channel habits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams

DAY_US = 86_400_000_000


def pick(h: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """One key of ``weights`` per key ``h``, drawn in proportion to the values, as indexes."""
    return kr.choice(h, list(weights.values()))


@dataclass
class Population:
    index: np.ndarray  # global customer number
    brand: np.ndarray  # indexes into params.population.brands
    tier: np.ndarray  # 0 diamond, 1 gold, 2 silver, 3 regular
    region: np.ndarray
    segment: np.ndarray
    arpu_yuan: np.ndarray  # at the start
    arpu_trend: np.ndarray  # monthly factor
    birth_year: np.ndarray
    is_female: np.ndarray
    is_group_key_person: np.ndarray
    is_family_plan: np.ndarray
    is_sensitive: np.ndarray
    join_us: np.ndarray  # join time, microseconds since the epoch
    preferences: np.ndarray  # [customer, business, channel] latent channel weights (sum 1)
    baseline: np.ndarray  # [customer, business, channel] the segment's habits
    payment_preferences: np.ndarray  # [customer, payment channel] latent weights (sum 1)
    payment_baseline: np.ndarray  # [customer, payment channel] the segment's payment habits
    habit: np.ndarray  # [customer, business, channel] own long-run habit: months drift around it
    payment_habit: np.ndarray  # [customer, payment channel] the same for payments


TIERS = ("diamond", "gold", "silver", "regular")


def _tilt(params: SimParams, channels: list[str]) -> np.ndarray:
    """[segment, channel] factors that tilt a segment's channel weights."""
    rows = []
    for seg in params.segments.values():
        factor = {
            "ivr": seg.hotline,
            "agent": seg.hotline * seg.agent,
            "web": seg.digital,
            "app": seg.digital,
            "wap": seg.digital,
            "mobile_pay": seg.digital,
            "store": seg.store,
            "partner_store": seg.store,
            "kiosk": np.sqrt(seg.store * seg.digital),
            "sms": 1.0,
        }
        rows.append([factor.get(c, 1.0) for c in channels])
    return np.array(rows)


def draw_population(
    params: SimParams,
    seed: int,
    first: int,
    n: int,
    months: int,
    businesses: list[str],
    channels: list[str],
    first_month: int = 0,
    all_new: bool = False,
) -> Population:
    """``n`` customers numbered from ``first``. Some join inside ``months`` months from
    ``first_month`` (all of them when ``all_new``: the new subscribers of a continued world).
    Every trait is keyed by (seed, site, customer number): a customer is the same whatever
    block it is drawn in."""
    pop = params.population
    index = np.arange(first, first + n)
    ck = kr.key(seed, Site.CUSTOMER, index)

    def u(site):
        return kr.uniform(kr.fold(ck, site))

    brand = pick(kr.fold(ck, Site.BRAND), pop.brands)
    brand_names = list(pop.brands)
    tier = np.full(n, 3)
    tier_u = u(Site.TIER)
    for b, name in enumerate(brand_names):
        shares = pop.tiers_by_brand.get(name, {})
        edges = np.cumsum([shares.get(t, 0.0) for t in TIERS[:3]])
        mask = brand == b
        tier[mask] = np.searchsorted(edges, tier_u[mask], side="right")
    region = pick(kr.fold(ck, Site.REGION), {k: r.weight for k, r in pop.regions.items()})
    segment = pick(kr.fold(ck, Site.SEGMENT), {k: s.share for k, s in params.segments.items()})
    seg_arpu = np.array([s.arpu for s in params.segments.values()])
    median = np.array([pop.arpu_median_yuan[b] for b in brand_names])[brand]
    tier_factor = np.array([pop.arpu_tier_factor[t] for t in TIERS])[tier]
    arpu = (
        median
        * tier_factor
        * seg_arpu[segment]
        * kr.lognormal(kr.fold(ck, Site.ARPU), 0.0, pop.arpu_sigma)
    )
    bounds = month_bounds(params.start_month, first_month + months)[first_month:]
    start, span = bounds[0], bounds[-1] - bounds[0] - DAY_US  # new joiners join inside the period
    is_new = (u(Site.NEW_JOINER) < pop.new_joins_per_month * months) | all_new
    tenure_days = kr.exponential(kr.fold(ck, Site.TENURE), 3 * 365) + 30
    join = np.where(is_new, start + u(Site.JOIN_DAY) * span, start - tenure_days * DAY_US)
    join = (join // DAY_US) * DAY_US  # join dates are whole days

    # Channel habits: baseline weights per business, tilted by segment, then each customer's own.
    baseline, payment_baseline = baselines(params, segment, businesses, channels)
    concentration = params.contacts.preference_concentration
    b, c = baseline.shape[1:]
    cells = np.arange(b * c).reshape(1, b, c)
    preferences = kr.gamma(
        kr.fold(kr.fold(ck, Site.PREFERENCES)[:, None, None], cells),
        np.maximum(baseline * concentration * len(channels) / 3, 1e-9),
    )
    preferences /= preferences.sum(axis=-1, keepdims=True)
    p = payment_baseline.shape[1]
    payment_preferences = kr.gamma(
        kr.fold(kr.fold(ck, Site.PAYMENT_PREFERENCES)[:, None], np.arange(p)[None, :]),
        np.maximum(payment_baseline * concentration * 2, 1e-9),
    )
    payment_preferences /= payment_preferences.sum(axis=-1, keepdims=True)

    return Population(
        index=index,
        brand=brand,
        tier=tier,
        region=region,
        segment=segment,
        arpu_yuan=arpu,
        arpu_trend=kr.normal(kr.fold(ck, Site.ARPU_TREND), 1.0, pop.arpu_trend_sigma),
        birth_year=kr.integers(kr.fold(ck, Site.BIRTH_YEAR), 1950, 2008),
        is_female=u(Site.FEMALE) < 0.48,
        is_group_key_person=u(Site.GROUP_KEY) < pop.group_key_person_share,
        is_family_plan=u(Site.FAMILY) < pop.family_plan_share,
        is_sensitive=u(Site.SENSITIVE) < pop.sensitive_share,
        join_us=join.astype(np.int64),
        preferences=preferences,
        baseline=baseline,
        payment_preferences=payment_preferences,
        payment_baseline=payment_baseline,
        habit=preferences.copy(),
        payment_habit=payment_preferences.copy(),
    )


def baselines(
    params: SimParams, segment: np.ndarray, businesses: list[str], channels: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The segment's habits, around which each customer's own habit is drawn: [customer,
    business, channel] channel weights and [customer, payment channel] payment weights, from
    the segment's tilt (rows sum to 1)."""
    weights = params.contacts.channel_weights
    base = np.array([[weights[b].get(c, 0.0) for c in channels] for b in businesses])  # [B, C]
    baseline = base[None, :, :] * _tilt(params, channels)[segment][:, None, :]
    baseline /= baseline.sum(axis=-1, keepdims=True)
    pay_channels = list(params.payments.channel_weights)
    pay_base = (
        np.array([params.payments.channel_weights[c] for c in pay_channels])[None, :]
        * _tilt(params, pay_channels)[segment]
    )
    pay_base /= pay_base.sum(axis=-1, keepdims=True)
    return baseline, pay_base


def month_bounds(start: dt.date, months: int) -> np.ndarray:
    """Microsecond timestamps of the first instant of each month, and of the month after the last."""
    firsts = [np.datetime64(start, "M") + i for i in range(months + 1)]
    return np.array([np.datetime64(f, "us").astype(np.int64) for f in firsts])
