"""Tag validation: outcome lifts with Katz intervals, hand-computed; the planted churn driver."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pyarrow as pa
import pytest
from tag_samples import APR, FEB, JAN, MAR, catalogue, tag

from touchpoint.tags import (
    check_catalogue,
    katz_interval,
    lift_table,
    load_catalogue,
    tag_validation,
)

Z95 = 1.959963984540054

# Two members (m1, m2: n_complaints_3m >= 2) and three non-members over Jan-Mar; March is the
# last month, so only the Jan and Feb rows have a known "next month".
C360 = {
    "customer_id": [
        "m1",
        "m1",
        "m2",
        "m2",
        "m2",
        "n1",
        "n1",
        "n1",
        "n2",
        "n2",
        "n2",
        "n3",
        "n3",
        "n3",
    ],
    "month": [JAN, FEB, JAN, FEB, MAR, JAN, FEB, MAR, JAN, FEB, MAR, JAN, FEB, MAR],
    "n_complaints_3m": [2, 2, 3, 2, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0],
    "n_complaints": [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0],
    "leave_date": [dt.date(2024, 2, 10)] * 2 + [None] * 3 + [dt.date(2024, 3, 5)] * 3 + [None] * 6,
}
RESPONSES = {
    "work_order_id": ["w1", "w2", "w3"],
    "customer_id": ["m1", "n2", "n3"],
    "sent_at": [
        dt.datetime(2024, 2, 3, 10),
        dt.datetime(2024, 3, 1, 9),
        dt.datetime(2024, 2, 20, 9),
    ],
    "response": ["accepted", "declined", "no_response"],
}


def katz_by_hand(a, n1, c, n0):
    lift = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return lift, lift * math.exp(-Z95 * se), lift * math.exp(Z95 * se)


@pytest.fixture
def validation():
    cat = catalogue(tag("sensitive", "n_complaints_3m >= 2"))
    rows = (
        tag_validation(
            ibis.memtable(C360),
            cat,
            campaign_responses=ibis.memtable(RESPONSES),
        )
        .to_pyarrow()
        .to_pylist()
    )
    return {r["outcome"]: r for r in rows}


def test_churn_lift_counts_and_interval_by_hand(validation):
    # Members' known months: m1 Jan (leaves in Feb: churn), m1 Feb, m2 Jan, m2 Feb -> 1 of 4.
    # Non-members: n1 Jan, n1 Feb (leaves in Mar: churn), n2 x2, n3 x2 -> 1 of 6.
    row = validation["churn_next_month"]
    assert (
        row["n_members"],
        row["n_member_events"],
        row["n_nonmembers"],
        row["n_nonmember_events"],
    ) == (4, 1, 6, 1)
    assert row["member_rate"] == 0.25 and row["nonmember_rate"] == pytest.approx(1 / 6)
    lift, low, high = katz_by_hand(1, 4, 1, 6)
    assert lift == pytest.approx(1.5)
    assert (row["lift"], row["lift_low"], row["lift_high"]) == pytest.approx((lift, low, high))
    assert (low, high) == pytest.approx((0.127356, 17.66701), rel=1e-5)
    assert row["is_discriminating"] is False  # the interval contains 1


def test_complaint_next_month(validation):
    # m2's Feb row has a complaint (-> m2 Jan), n2's Mar row (-> n2 Feb); m1 has no Mar row.
    row = validation["complaint_next_month"]
    assert (
        row["n_members"],
        row["n_member_events"],
        row["n_nonmembers"],
        row["n_nonmember_events"],
    ) == (4, 1, 6, 1)


def test_campaign_response_with_a_zero_cell_uses_the_half_correction(validation):
    # Work orders sent in Feb (m1, n3) judge the Jan rows, the one sent in Mar (n2) the Feb row.
    row = validation["campaign_accepted_next_month"]
    assert (
        row["n_members"],
        row["n_member_events"],
        row["n_nonmembers"],
        row["n_nonmember_events"],
    ) == (1, 1, 2, 0)
    # a=1, b=0, c=0, d=2 -> 0.5 added to every cell: a=1.5 of 2, c=0.5 of 3.
    lift, low, high = katz_by_hand(1.5, 2, 0.5, 3)
    assert lift == pytest.approx(4.5)
    assert (row["lift"], row["lift_low"], row["lift_high"]) == pytest.approx((lift, low, high))
    assert row["lift_raw"] is None  # no non-member accepted: the plain ratio is infinite


def test_the_raw_ratio_sits_beside_a_corrected_lift():
    counts = ibis.memtable(
        {
            "n_members": [20, 100],
            "n_member_events": [0, 30],
            "n_nonmembers": [400, 1000],
            "n_nonmember_events": [40, 50],
        }
    )
    zero, plain = lift_table(counts).to_pyarrow().to_pylist()
    # 0 of 20 members against 40 of 400: the plain ratio is 0, the corrected point is not.
    assert zero["lift_raw"] == 0.0
    assert zero["lift"] == pytest.approx((0.5 / 21) / (40.5 / 401))
    # Without a zero cell the two agree: 0.3 / 0.05.
    assert plain["lift_raw"] == pytest.approx(6.0) == plain["lift"]


def test_without_campaign_responses_there_is_no_campaign_outcome():
    rows = tag_validation(
        ibis.memtable(C360), catalogue(tag("s", "n_complaints_3m >= 2"))
    ).to_pyarrow()
    assert sorted(set(rows["outcome"].to_pylist())) == ["churn_next_month", "complaint_next_month"]


def test_a_clear_difference_is_flagged_as_discriminating():
    counts = ibis.memtable(
        {
            "n_members": [100, 0],
            "n_member_events": [30, 0],
            "n_nonmembers": [1000, 50],
            "n_nonmember_events": [50, 5],
        }
    )
    rows = lift_table(counts).to_pyarrow().to_pylist()
    lift, low, high = katz_by_hand(30, 100, 50, 1000)
    assert (rows[0]["lift"], rows[0]["lift_low"], rows[0]["lift_high"]) == pytest.approx(
        (6.0, low, high)
    )
    assert low > 1 and rows[0]["is_discriminating"] is True
    assert rows[1]["lift"] is None and rows[1]["is_discriminating"] is None  # no members
    assert katz_interval(30, 100, 50, 1000) == pytest.approx((lift, low, high))


def test_confidence_level_widens_the_interval():
    counts = ibis.memtable(
        {
            "n_members": [100],
            "n_member_events": [20],
            "n_nonmembers": [400],
            "n_nonmember_events": [40],
        }
    )
    r90 = lift_table(counts, 0.90).to_pyarrow().to_pylist()[0]
    r99 = lift_table(counts, 0.99).to_pyarrow().to_pylist()[0]
    assert r99["lift_low"] < r90["lift_low"] < 2 < r90["lift_high"] < r99["lift_high"]
    assert r90["lift_low"] == pytest.approx(2 * math.exp(-1.6448536 * 0.25))


def test_planted_churn_driver_shows_in_the_sensitive_tag(config, c360_table):
    """The synthetic 360 plants churn rising with complaints: the sensitive tag must lift churn."""
    cat = check_catalogue(load_catalogue(), c360_table.schema(), config)
    rows = {
        (r["tag_id"], r["outcome"]): r
        for r in tag_validation(c360_table, cat).to_pyarrow().to_pylist()
    }
    sensitive = rows[("sensitive_customer", "churn_next_month")]
    assert sensitive["lift_low"] > 1.5 and sensitive["is_discriminating"] is True
    # Tags drawn independently of churn have a lift near 1.
    assert (
        rows[("vip_silver", "churn_next_month")]["lift_low"]
        < 1
        < rows[("vip_silver", "churn_next_month")]["lift_high"]
    )


def test_churn_also_reads_the_following_rows_has_left_in_month():
    # n2's leave date is missing, but its March row says it left that month.
    rows = dict(C360, has_left_in_month=[False] * 10 + [True] + [False] * 3)
    result = tag_validation(ibis.memtable(rows), catalogue(tag("s", "n_complaints_3m >= 2")))
    churn = next(r for r in result.to_pyarrow().to_pylist() if r["outcome"] == "churn_next_month")
    assert (churn["n_nonmembers"], churn["n_nonmember_events"]) == (6, 2)


def test_an_empty_360_gives_empty_marts_and_null_lifts(config, realistic_360):
    from touchpoint.tags import tag_changes, tag_membership

    empty = ibis.memtable(realistic_360.slice(0, 0))
    cat = load_catalogue()
    membership = tag_membership(empty, cat)
    assert membership.count().to_pyarrow().as_py() == 0
    assert tag_changes(membership, empty, cat).count().to_pyarrow().as_py() == 0
    rows = tag_validation(empty, cat).to_pyarrow().to_pylist()
    assert len(rows) == 28 and all(r["lift"] is None for r in rows)
    assert rows[0]["confidence"] == 0.95


def _with_no_leavers(rows):
    table = pa.table(rows)
    return ibis.memtable(table.append_column("leave_date", pa.nulls(len(table), pa.date32())))


def _clustered_360(n_members, heavy_members, n_others, heavy_others):
    """Customers over Jan-Apr (outcomes known for Jan-Mar): the heavy ones complain in Feb,
    Mar and Apr, so all three of their known months have a complaint next month."""
    rows = {"customer_id": [], "month": [], "n_complaints_3m": [], "n_complaints": []}
    groups = (("m", n_members, heavy_members, 5), ("o", n_others, heavy_others, 0))
    for prefix, n, heavy, flag in groups:
        for i in range(n):
            for month in (JAN, FEB, MAR, APR):
                rows["customer_id"].append(f"{prefix}{i}")
                rows["month"].append(month)
                rows["n_complaints_3m"].append(flag)
                rows["n_complaints"].append(int(i < heavy and month != JAN))
    return _with_no_leavers(rows)


def _cluster_se(events_per_customer, months_per_customer):
    """Cluster-robust standard error of ln(rate), written out customer by customer."""
    e = [float(x) for x in events_per_customer]
    m = [float(x) for x in months_per_customer]
    k, p = len(e), sum(e) / sum(m)
    squares = sum((ei - p * mi) ** 2 for ei, mi in zip(e, m, strict=True))
    return k / (k - 1) * squares / sum(e) ** 2


def test_clustered_complaints_widen_the_interval_by_customer():
    # 40 members, 10 of whom complain every month (30 of 120 member-months); 60 others, 6 of
    # whom do (18 of 180). Each customer's three known months move together.
    c360 = _clustered_360(40, 10, 60, 6)
    rows = tag_validation(c360, catalogue(tag("sensitive", "n_complaints_3m >= 2")))
    row = {r["outcome"]: r for r in rows.to_pyarrow().to_pylist()}["complaint_next_month"]
    assert (row["n_members"], row["n_member_events"]) == (120, 30)
    assert (row["n_nonmembers"], row["n_nonmember_events"]) == (180, 18)
    assert (row["member_n_customers"], row["nonmember_n_customers"]) == (40, 60)
    assert row["variance"] == "cluster"
    var = _cluster_se([3] * 10 + [0] * 30, [3] * 40) + _cluster_se([3] * 6 + [0] * 54, [3] * 60)
    lift = (30 / 120) / (18 / 180)
    assert row["lift"] == pytest.approx(lift)
    low, high = lift * math.exp(-Z95 * math.sqrt(var)), lift * math.exp(Z95 * math.sqrt(var))
    assert (row["lift_low"], row["lift_high"]) == pytest.approx((low, high))
    # Wider than Katz's, which counts the 300 customer-months as 300 independent customers.
    _, katz_low, katz_high = katz_by_hand(30, 120, 18, 180)
    assert row["lift_low"] < katz_low and row["lift_high"] > katz_high
    # No churn at all: the zero-corrected Katz interval.
    assert {r["outcome"]: r for r in rows.to_pyarrow().to_pylist()}["churn_next_month"][
        "variance"
    ] == "katz"


def test_few_customers_keep_the_katz_interval():
    rows = tag_validation(
        _clustered_360(40, 10, 60, 6),
        catalogue(tag("sensitive", "n_complaints_3m >= 2")),
        cluster_min_customers=41,
    )
    row = {r["outcome"]: r for r in rows.to_pyarrow().to_pylist()}["complaint_next_month"]
    assert row["variance"] == "katz"
    lift, low, high = katz_by_hand(30, 120, 18, 180)
    assert (row["lift"], row["lift_low"], row["lift_high"]) == pytest.approx((lift, low, high))


def test_one_month_per_customer_gives_katz_times_the_small_sample_factor():
    # With one known month per customer, Σ(e - p)^2 / E^2 = 1/E - 1/M: the cluster variance is
    # Katz's times k / (k - 1) on each side.
    rows = {"customer_id": [], "month": [], "n_complaints_3m": [], "n_complaints": []}
    for prefix, n, heavy, flag in (("m", 50, 20, 5), ("o", 80, 8, 0)):
        for i in range(n):
            for month in (JAN, FEB):
                rows["customer_id"].append(f"{prefix}{i}")
                rows["month"].append(month)
                rows["n_complaints_3m"].append(flag)
                rows["n_complaints"].append(int(i < heavy and month == FEB))
    out = tag_validation(
        _with_no_leavers(rows), catalogue(tag("sensitive", "n_complaints_3m >= 2"))
    )
    row = {r["outcome"]: r for r in out.to_pyarrow().to_pylist()}["complaint_next_month"]
    var = 50 / 49 * (1 / 20 - 1 / 50) + 80 / 79 * (1 / 8 - 1 / 80)
    lift = (20 / 50) / (8 / 80)
    assert row["lift_high"] == pytest.approx(lift * math.exp(Z95 * math.sqrt(var)))


def test_a_scoped_tag_counts_only_its_scope_beside_tags_that_apply_to_everyone():
    # The 360 above; "rich_only" applies only to customers with arpu_yuan >= 100, who are
    # m0-m19 (members) and o0-o29 (non-members); "everyone" has no scope.
    table = _clustered_360(40, 10, 60, 6).to_pyarrow()
    arpu = [
        150.0 if cid in {f"m{i}" for i in range(20)} | {f"o{i}" for i in range(30)} else 50.0
        for cid in table["customer_id"].to_pylist()
    ]
    c360 = ibis.memtable(table.append_column("arpu_yuan", pa.array(arpu)))
    cat = catalogue(
        tag("everyone", "n_complaints_3m >= 2"),
        tag("rich_only", "n_complaints_3m >= 2", applies_to={"rule": "arpu_yuan >= 100"}),
    )
    rows = tag_validation(c360, cat).to_pyarrow().to_pylist()
    got = {(r["tag_id"], r["outcome"]): r for r in rows}
    everyone, rich = (
        got["everyone", "complaint_next_month"],
        got["rich_only", "complaint_next_month"],
    )
    assert (everyone["n_members"], everyone["n_nonmembers"]) == (120, 180)
    # In scope: m0-m19 (members; m0-m9 heavy) and o0-o29 (non-members; o0-o5 heavy).
    assert (rich["n_members"], rich["n_member_events"]) == (60, 30)
    assert (rich["n_nonmembers"], rich["n_nonmember_events"]) == (90, 18)
    assert (rich["member_n_customers"], rich["nonmember_n_customers"]) == (20, 30)
    assert rich["nonmember_events_sq"] == 6 * 9 and rich["nonmember_months_sq"] == 30 * 9
