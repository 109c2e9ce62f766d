"""Survey strategies: the algebra (∩ across dimensions, ∪ within), exclusions, the quota."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.quality import StrategyError, select_surveys, strategy_from_text

DAY = dt.date(2026, 3, 2)


def _ts(h: int, m: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m))


CUSTOMERS = ibis.memtable(
    {
        "customer_id": ["c1", "c2", "c3", "c4"],
        "value_tier": ["gold", "diamond", "regular", "gold"],
        "region": ["north", "south", "north", "south"],
    }
)
# contact, customer, ended, channel, business, outcome, region
ROWS = [
    ("k1", "c1", _ts(9, 30), "agent", "payment", "resolved", None),
    ("k2", "c2", _ts(15, 0), "store", "complaint", "unresolved", "east"),
    ("k3", "c3", _ts(10, 0), "agent", "payment", "resolved", None),
    ("k4", "c4", _ts(20, 0), "agent", "bill_query", "resolved", None),
    ("k5", "c1", _ts(11, 0), "ivr", "payment", "resolved", None),
    ("k6", "c2", _ts(9, 0, DAY - dt.timedelta(days=1)), "store", "payment", "resolved", None),
]
CONTACTS = ibis.memtable(
    {
        name: [r[i] for r in ROWS]
        for i, name in enumerate(
            ["contact_id", "customer_id", "ended_at", "channel", "business", "outcome", "region"]
        )
    }
)


def _select(yaml_text: str, **kw) -> list[str]:
    s = strategy_from_text("id: s\nsurvey_channel: sms\ndaily_quota: 100\n" + yaml_text)
    t = select_surveys(CONTACTS, CUSTOMERS, s, DAY, **kw).to_pyarrow()
    return sorted(t["contact_id"].to_pylist())


def test_no_dimension_takes_each_customers_last_contact_of_the_day():
    # c1 has k1 (9:30) and k5 (11:00): the last one; k6 was the day before.
    assert _select("") == ["k2", "k3", "k4", "k5"]


def test_rules_inside_a_dimension_are_unioned():
    assert _select("dimensions: {customer_level: [gold]}") == ["k4", "k5"]
    assert _select("dimensions: {customer_level: [gold, diamond]}") == ["k2", "k4", "k5"]


def test_dimensions_are_intersected():
    text = """
dimensions:
  customer_level: [gold, diamond]
  time_window: [{from: "09:00", to: "12:00"}]
"""
    # gold/diamond: k1,k2,k4,k5; 9-12: k1,k3,k5; both: k1,k5 -> c1's last is k5.
    assert _select(text) == ["k5"]
    text2 = """
dimensions:
  time_window: [{from: "09:00", to: "10:00"}, {from: "14:00", to: "21:00"}]
  channel: [agent, store]
"""
    # windows: k1 (9:30), k2 (15:00), k4 (20:00); channels keep all three.
    assert _select(text2) == ["k1", "k2", "k4"]


def test_contact_region_first_then_the_customers():
    assert _select("dimensions: {region: [south]}") == ["k4"]  # k2's contact was in east
    assert _select("dimensions: {region: [east, north]}") == ["k2", "k3", "k5"]


def test_business_and_outcome():
    text = "dimensions: {business: [payment, complaint], outcome: [resolved]}"
    assert _select(text) == ["k3", "k5"]


def test_exclusions():
    past = ibis.memtable(
        {
            "customer_id": ["c3", "c4"],
            "sent_at": [
                _ts(8, 0, DAY - dt.timedelta(days=5)),
                _ts(8, 0, DAY - dt.timedelta(days=40)),
            ],
        }
    )
    assert _select("exclude: {surveyed_within_days: 30}", past_surveys=past) == ["k2", "k4", "k5"]
    tags = ibis.memtable(
        {
            "customer_id": ["c2", "c4"],
            "tag_id": ["sensitive_customer", "sensitive_customer"],
            "month": [dt.date(2026, 3, 1), dt.date(2026, 1, 1)],  # c4: not in the latest month
        }
    )
    assert _select("exclude: {tags: [sensitive_customer]}", tag_membership=tags) == [
        "k3",
        "k4",
        "k5",
    ]
    dnd = ibis.memtable({"customer_id": ["c1"]})
    assert _select("", do_not_disturb=dnd) == ["k2", "k3", "k4"]
    assert _select("exclude: {do_not_disturb: false}", do_not_disturb=dnd) == [
        "k2",
        "k3",
        "k4",
        "k5",
    ]


def test_quota_is_a_reproducible_nested_sample():
    def pick(quota: int, seed: str = "a") -> list[str]:
        s = strategy_from_text(f"id: s\nsurvey_channel: ivr\ndaily_quota: {quota}\nseed: {seed}")
        return select_surveys(CONTACTS, CUSTOMERS, s, DAY).to_pyarrow()["contact_id"].to_pylist()

    assert len(pick(2)) == 2
    assert pick(2) == pick(2)
    assert pick(3)[:2] == pick(2)  # raising the quota only adds
    assert pick(0) == []


def test_errors_name_line_and_field():
    text = """id: s
survey_channel: email
daily_quota: -1
dimensions:
  customer_level: []
  time_window:
    - {from: "12:00", to: "09:00"}
  colour: [red]
"""
    with pytest.raises(StrategyError) as err:
        strategy_from_text(text, "s.yaml")
    lines = str(err.value).splitlines()
    assert any(ln.startswith("s.yaml: line 2, column 17: survey_channel:") for ln in lines)
    assert any(ln.startswith("s.yaml: line 3, column 14: daily_quota:") for ln in lines)
    assert any("line 5, column 19: dimensions.customer_level: an empty list" in ln for ln in lines)
    assert any(
        "line 7, column 7: dimensions.time_window.0: from 12:00 must come" in ln for ln in lines
    )
    assert any("line 8, column 3: dimensions.colour: Extra inputs" in ln for ln in lines)
    with pytest.raises(StrategyError, match=r"s.yaml: line 2, column \d+: not valid YAML"):
        strategy_from_text("id: [\n", "s.yaml")


# -- properties ----------------------------------------------------------------------------

_CH = ["agent", "store", "ivr"]
_TIERS = ["gold", "diamond", "regular"]
contact_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # customer
        st.integers(0, 23),  # hour
        st.sampled_from(_CH),
    ),
    min_size=0,
    max_size=25,
)


@settings(max_examples=25, deadline=None)
@given(
    rows=contact_rows,
    quota=st.integers(0, 6),
    tiers=st.lists(st.sampled_from(_TIERS), min_size=1, max_size=3, unique=True),
    channels=st.lists(st.sampled_from(_CH), min_size=1, max_size=3, unique=True),
    dnd=st.sets(st.integers(0, 5)),
)
def test_selection_properties(rows, quota, tiers, channels, dnd):
    contacts = ibis.memtable(
        pa.table(
            {
                "contact_id": pa.array([f"k{i}" for i in range(len(rows))], pa.string()),
                "customer_id": pa.array([f"c{r[0]}" for r in rows], pa.string()),
                "ended_at": pa.array([_ts(r[1]) for r in rows], pa.timestamp("us")),
                "channel": pa.array([r[2] for r in rows], pa.string()),
                "business": pa.array(["payment"] * len(rows), pa.string()),
                "outcome": pa.array(["resolved"] * len(rows), pa.string()),
            }
        )
    )
    customers = ibis.memtable(
        {
            "customer_id": [f"c{i}" for i in range(6)],
            "value_tier": [_TIERS[i % 3] for i in range(6)],
            "region": ["x"] * 6,
        }
    )
    s = strategy_from_text(
        f"id: p\nsurvey_channel: sms\ndaily_quota: {quota}\n"
        f"dimensions: {{customer_level: {tiers}, channel: {channels}}}"
    )
    dnd_t = ibis.memtable(pa.table({"customer_id": pa.array([f"c{i}" for i in dnd], pa.string())}))
    got = select_surveys(contacts, customers, s, DAY, do_not_disturb=dnd_t).to_pyarrow()
    picked = got["contact_id"].to_pylist()
    by_id = {f"k{i}": r for i, r in enumerate(rows)}
    assert set(picked) <= set(by_id)  # selection ⊆ contacts
    assert len(picked) <= quota  # quota respected
    cust = [by_id[k][0] for k in picked]
    assert len(set(cust)) == len(cust)  # one per customer
    assert not set(cust) & dnd  # exclusions honoured
    for k in picked:  # every dimension holds
        c, _, ch = by_id[k]
        assert _TIERS[c % 3] in tiers and ch in channels
    eligible = {r[0] for r in rows if _TIERS[r[0] % 3] in tiers and r[2] in channels} - dnd
    assert len(picked) == min(quota, len(eligible))  # nobody eligible is left out below quota


def test_values_outside_the_configured_vocabularies_are_refused():
    from touchpoint.config import load_config

    text = """id: s
survey_channel: sms
daily_quota: 5
dimensions:
  channel: [agent, hotline_agent]
  customer_level: [gold, vip]
  region: [anywhere]
"""
    with pytest.raises(StrategyError) as err:
        strategy_from_text(text, "s.yaml", load_config())
    lines = str(err.value).splitlines()
    assert len(lines) == 2  # regions are display-only in the configuration: any is accepted
    assert lines[0].startswith(
        "s.yaml: line 5, column 20: dimensions.channel.1: 'hotline_agent' is not a configured "
        "channel; use one of: agent, app,"
    )
    assert lines[1].startswith("s.yaml: line 6, column 26: dimensions.customer_level.1: 'vip'")
    assert strategy_from_text(
        text.replace(", hotline_agent", "").replace(", vip", ""), "s.yaml", load_config()
    ).dimensions.channel == ("agent",)
