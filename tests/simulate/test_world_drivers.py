"""The simulated world's planted drivers, measured back from the files it writes.

One world for the module. Every expected value is read from the parameters the world was
simulated with (``load_params``), never typed in; each tolerance is about three standard
errors at this world's size, so a driver that is not planted (a factor of 1) fails.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from touchpoint.simulate import load_params, simulate

pytestmark = pytest.mark.slow  # an 8,000 × 6 world

CUSTOMERS, MONTHS, SEED = 8000, 6, 23
DIGITAL = ["web", "app"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """8,000 customers × 6 months (seed 23), the source files read back with the truth.

    Complaints (0.01 a month by default) and the base churn hazard (0.009) are raised to 0.04
    and 0.02 so that next month's churn after a complaint counts about 160 churners instead of
    about 20; every factor the tests check keeps its default.
    """
    params = load_params(complaints__per_month=0.04, churn__monthly_base=0.02)
    out = tmp_path_factory.mktemp("drivers")
    result = simulate(out, customers=CUSTOMERS, months=MONTHS, seed=SEED, params=params)
    truth = pd.read_parquet(out / "truth" / "customers.parquet")
    customers = (
        pd.read_parquet(result.files["customers"])
        .merge(truth, on="customer_id", validate="one_to_one")
        .set_index("customer_id")
    )
    first = pd.Timestamp(params.start_month)
    months = [first + pd.DateOffset(months=m) for m in range(MONTHS + 1)]
    joined = pd.to_datetime(customers.join_date)
    left = pd.to_datetime(customers.leave_date)
    in_network = left.fillna(months[-1]).clip(upper=months[-1]) - joined.clip(lower=first)
    contacts = pd.read_parquet(result.files["contacts"]).join(customers.segment, on="customer_id")
    return SimpleNamespace(
        params=params,
        realised=result.realised,
        customers=customers,
        days=in_network.dt.days.clip(lower=0),  # per customer: days in the network
        months=months,
        contacts=contacts,
        complaints=pd.read_parquet(result.files["complaints"]),
        bills=pd.read_parquet(result.files["bills"]),
        orders=pd.read_parquet(result.files["orders"]),
    )


def _month(at: pd.Series, world) -> pd.Series:
    """The simulated month (0 = ``start_month``) of each timestamp."""
    first = world.months[0]
    return (at.dt.year - first.year) * 12 + at.dt.month - first.month


def _call_resolved(contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per hotline call: customer, start and whether any of its rows was resolved."""
    calls = contacts[contacts.call_id.notna()]
    return (
        calls.assign(is_resolved=calls.outcome == "resolved")
        .groupby("call_id")
        .agg(
            customer_id=("customer_id", "first"),
            started_at=("started_at", "min"),
            is_resolved=("is_resolved", "any"),
        )
    )


def _churn_panel(world) -> pd.DataFrame:
    """One row per customer and month from the second month on, for those in the network on
    its first day: did they leave that month, and last month's complaint and unresolved
    contact (a hotline call none of whose rows is resolved, or another unresolved contact)."""
    complaints = world.complaints
    complained = set(zip(complaints.customer_id, _month(complaints.created_at, world), strict=True))
    calls = _call_resolved(world.contacts)
    other = world.contacts[world.contacts.call_id.isna()]
    unresolved = pd.concat(
        [
            calls.loc[~calls.is_resolved, ["customer_id", "started_at"]],
            other.loc[other.outcome != "resolved", ["customer_id", "started_at"]],
        ]
    )
    unresolved = set(zip(unresolved.customer_id, _month(unresolved.started_at, world), strict=True))
    faults = world.contacts[world.contacts.business == "fault_report"]
    faulted = set(zip(faults.customer_id, _month(faults.started_at, world), strict=True))
    bills = world.bills[world.bills.arrears_yuan > 0]
    in_arrears = set(
        zip(bills.customer_id, _month(pd.to_datetime(bills.bill_month), world), strict=True)
    )
    c = world.customers
    joined, left = pd.to_datetime(c.join_date), pd.to_datetime(c.leave_date)
    below = world.params.churn.arpu_decline_below
    rows = []
    for m in range(1, MONTHS):
        start, end = world.months[m], world.months[m + 1]
        at_risk = c.index[(joined < start) & (left.isna() | (left >= start))]
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": at_risk,
                    "churned": (left[at_risk] < end).to_numpy(),
                    "complained": [(i, m - 1) in complained for i in at_risk],
                    "unresolved": [(i, m - 1) in unresolved for i in at_risk],
                    "faulted": [(i, m - 1) in faulted for i in at_risk],
                    "in_arrears": [(i, m - 1) in in_arrears for i in at_risk],
                    "reason": c.churn_reason[at_risk].to_numpy(),
                    "arpu_falling": (c.arpu_trend[at_risk] < below).to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _risk_ratio(panel: pd.DataFrame, exposed: str, stratum: str) -> float:
    """Mantel-Haenszel ratio of next month's churn, exposed over not, within strata."""
    numerator = denominator = 0.0
    for _, s in panel.groupby(stratum):
        n, n_exposed = len(s), s[exposed].sum()
        numerator += s.churned[s[exposed]].sum() * (n - n_exposed) / n
        denominator += s.churned[~s[exposed]].sum() * n_exposed / n
    return numerator / denominator


def test_arpu_is_skewed_and_follows_brand_medians_and_tier_factors(world):
    population, segments = world.params.population, world.params.segments
    first_bill = world.bills.sort_values("bill_month").groupby("customer_id").first()
    c = world.customers.join(first_bill.arpu_yuan, how="inner")
    # Log-normal, and a mix of brands and tiers on top: the mean is far above the median.
    assert c.arpu_yuan.mean() / c.arpu_yuan.median() > np.exp(population.arpu_sigma**2 / 2)
    # Raw medians of regular customers are ordered as the planted brand medians ...
    regular = c[c.value_tier == "regular"]
    medians = regular.groupby("brand").arpu_yuan.median()
    planted = pd.Series(population.arpu_median_yuan)
    assert list(medians.sort_values().index) == list(planted.sort_values().index)
    # ... and, the segment's ARPU factor divided out, equal to them.
    of_segment = c.segment.map({k: s.arpu for k, s in segments.items()})
    c = c.assign(base=c.arpu_yuan / of_segment)
    brand_median = c[c.value_tier == "regular"].groupby("brand").base.median()
    for brand, median in planted.items():
        assert brand_median[brand] == pytest.approx(median, rel=0.1), brand
    # The tier factor: the geometric mean over the brand's planted median.
    log_ratio = np.log(c.base / c.brand.map(planted))
    factor = np.exp(log_ratio.groupby(c.value_tier).mean())
    for tier, planted_factor in population.arpu_tier_factor.items():
        # (About 70 diamond customers, all gotone: a standard error of 5 %.)
        assert factor[tier] == pytest.approx(planted_factor, rel=0.2), tier
    assert list(factor.sort_values().index) == ["regular", "silver", "gold", "diamond"]
    # What is left is the planted log-normal spread (plus a month's 5 % change).
    residual = log_ratio - np.log(c.value_tier.map(population.arpu_tier_factor))
    assert residual.std() == pytest.approx(population.arpu_sigma, abs=0.03)


def test_sensitive_customers_complain_at_the_planted_factor(world):
    per_customer = world.complaints.groupby("customer_id").size()
    n = per_customer.reindex(world.customers.index, fill_value=0)
    sensitive = world.customers.is_sensitive
    assert 0.02 < sensitive.mean() < 0.06  # population.sensitive_share: 4 %
    rate = n.groupby(sensitive).sum() / world.days.groupby(sensitive).sum()  # per day
    assert rate[True] / rate[False] == pytest.approx(
        world.params.complaints.sensitive_factor, rel=0.15
    )


def _lean(segment) -> dict[str, float]:
    """A segment's factor on each contact channel, as defaults.yaml describes its leans."""
    return {
        "ivr": segment.hotline,
        "agent": segment.hotline * segment.agent,
        "web": segment.digital,
        "app": segment.digital,
        "wap": segment.digital,
        "store": segment.store,
        "partner_store": segment.store,
    }


def test_segments_tilt_the_channel_and_scale_the_needs(world):
    params = world.params
    needs = params.contacts.needs_per_month
    planted = {}
    for name, segment in params.segments.items():
        lean = _lean(segment)
        share = 0.0
        for business, weights in params.contacts.channel_weights.items():
            tilted = {c: w * lean.get(c, 1.0) for c, w in weights.items()}
            share += needs[business] * sum(tilted.get(c, 0) for c in DIGITAL) / sum(tilted.values())
        planted[name] = share / sum(needs.values())
    # A need is a customer's first contact about a business on a date: redials, agent legs
    # and same-day follow-ups elsewhere are not new needs.
    c = world.contacts[world.contacts.channel != "agent"]
    needs_seen = (
        c.assign(date=c.started_at.dt.date)
        .sort_values("started_at")
        .drop_duplicates(["customer_id", "business", "date"])
    )
    digital = needs_seen.channel.isin(DIGITAL).groupby(needs_seen.segment).mean()
    for name, share in planted.items():
        assert digital[name] == pytest.approx(share, abs=0.03), name
    assert digital["young_generation"] > 2 * max(digital["good_friend"], digital["occasional"])
    # A segment's `needs` factor scales its needs per day in the network.
    segment = world.customers.segment
    per_day = needs_seen.groupby("segment").size() / world.days.groupby(segment).sum()
    factor = {k: s.needs for k, s in params.segments.items()}
    assert per_day["watch_list"] / per_day["occasional"] == pytest.approx(
        factor["watch_list"] / factor["occasional"], rel=0.15
    )


def test_a_complaint_and_a_falling_arpu_raise_churn_by_their_factors(world):
    churn = world.params.churn
    panel = _churn_panel(world)
    assert panel.churned.sum() > 500
    rate = panel.groupby("complained").churned.mean()
    assert rate[True] > 1.5 * rate[False]
    # A complaint follows an unresolved contact (complaints.unresolved_factor × as often) ...
    complaints = panel.groupby("unresolved").complained.mean()
    assert complaints[True] / complaints[False] == pytest.approx(
        world.params.complaints.unresolved_factor, rel=0.2
    )
    # ... which raises churn too (churn.unresolved_factor): compare within the same status.
    assert _risk_ratio(panel, "complained", "unresolved") == pytest.approx(
        churn.complaint_factor, rel=0.25
    )
    # A falling ARPU (a trend under arpu_decline_below a month) is independent of the others.
    assert _risk_ratio(panel, "arpu_falling", "unresolved") == pytest.approx(
        churn.arpu_decline_factor, rel=0.2
    )


def test_a_fault_and_an_unpaid_bill_raise_churn_and_name_its_reason(world):
    """Product quality (a fault reported last month, in any channel) and management (last
    month's bill left partly unpaid) drive churn like the other reasons, and a churner's
    planted reason follows the drivers they had."""
    churn = world.params.churn
    panel = _churn_panel(world)
    # A fault report is often unresolved, which raises churn too: compare within the status.
    assert _risk_ratio(panel, "faulted", "unresolved") == pytest.approx(churn.fault_factor, rel=0.3)
    assert _risk_ratio(panel, "in_arrears", "unresolved") == pytest.approx(
        churn.arrears_factor, rel=0.3
    )
    churners = panel[panel.churned]
    for driver, reason in (("faulted", "product_quality"), ("in_arrears", "management")):
        share = churners.groupby(driver).reason.apply(lambda r, reason=reason: (r == reason).mean())
        # The reason's weight is log(factor) + floor with the driver, the floor without it.
        assert share[True] > 2 * share[False], (driver, share.to_dict())


def test_orders_follow_the_planted_rate_and_the_digital_lean(world):
    params = world.params
    digital = world.customers.segment.map({k: s.digital for k, s in params.segments.items()})
    months_in_network = world.days / 30.4375  # mean days of a month
    expected = (months_in_network * params.orders.per_month * digital).sum()
    assert len(world.orders) == pytest.approx(expected, rel=0.06)
    assert set(world.orders.action) == {"subscribe", "unsubscribe"}
    n = world.orders.groupby("customer_id").size().reindex(world.customers.index, fill_value=0)
    segment = world.customers.segment
    rate = n.groupby(segment).sum() / world.days.groupby(segment).sum()
    young, occasional = params.segments["young_generation"], params.segments["occasional"]
    assert rate["young_generation"] / rate["occasional"] == pytest.approx(
        young.digital / occasional.digital, rel=0.2
    )


def test_bills_follow_each_customers_planted_arpu_trend(world):
    bills = world.bills.join(world.customers.arpu_trend, on="customer_id").sort_values(
        ["customer_id", "bill_month"]
    )
    change = np.log(bills.arpu_yuan).groupby(bills.customer_id).diff()
    # Month on month, a bill moves by the customer's trend times a small noise of mean 0.
    noise = (change - np.log(bills.arpu_trend)).dropna()
    assert abs(noise.mean()) < 0.003
    # (the bill is rounded to the fen, which adds a little to the planted noise)
    assert noise.std() == pytest.approx(world.params.population.arpu_monthly_noise, rel=0.1)
    per_customer = (
        pd.DataFrame({"change": change, "trend": np.log(bills.arpu_trend)})
        .dropna()
        .groupby(bills.customer_id)
        .mean()
    )
    slope = np.polyfit(per_customer.trend, per_customer.change, 1)[0]
    assert slope == pytest.approx(1.0, abs=0.1)
    below = np.log(world.params.churn.arpu_decline_below)
    falling = per_customer.trend < below
    assert per_customer.change[falling].mean() < below < per_customer.change.mean()


def test_callers_redial_the_same_day_at_the_planted_odds(world):
    hotline = world.params.hotline
    calls = _call_resolved(world.contacts).sort_values(["customer_id", "started_at"])
    date = calls.started_at.dt.date
    redialled = calls.customer_id.eq(calls.customer_id.shift(-1)) & date.eq(date.shift(-1))
    assert redialled.mean() == pytest.approx(world.realised["hotline_redial_rate"], abs=1e-12)
    by_outcome = redialled.groupby(calls.is_resolved).mean()
    assert by_outcome[True] == pytest.approx(hotline.redial_after_resolved, abs=0.03)
    assert by_outcome[False] == pytest.approx(hotline.redial_after_unresolved, abs=0.05)


def test_the_population_has_the_planted_brands_tiers_regions_and_flags(world):
    population = world.params.population
    c = world.customers
    n = len(c)

    def within(share, planted):
        # three standard errors of a share among n customers
        return abs(share - planted) <= 3 * np.sqrt(planted * (1 - planted) / n) + 1e-9

    brands = c.brand.value_counts(normalize=True)
    for brand, planted in population.brands.items():
        assert within(brands.get(brand, 0.0), planted), brand
    regions = c.region.value_counts(normalize=True)
    total = sum(r.weight for r in population.regions.values())
    assert set(regions.index) == set(population.regions)
    for region, r in population.regions.items():
        assert within(regions[region], r.weight / total), region
    for brand, tiers in population.tiers_by_brand.items():
        in_brand = c[c.brand == brand]
        shares = in_brand.value_tier.value_counts(normalize=True)
        for tier, planted in tiers.items():
            k = len(in_brand)
            assert (
                abs(shares.get(tier, 0.0) - planted)
                <= 3 * np.sqrt(planted * (1 - planted) / k) + 1e-9
            ), (brand, tier)
    assert within(c.is_group_key_person.mean(), population.group_key_person_share)
    assert within(c.is_family_plan.mean(), population.family_plan_share)


def test_an_unresolved_contact_raises_next_months_churn_by_its_factor(world):
    panel = _churn_panel(world)
    # Complaints follow unresolved contacts and raise churn too: compare within that status.
    assert _risk_ratio(panel, "unresolved", "complained") == pytest.approx(
        world.params.churn.unresolved_factor, rel=0.25
    )
