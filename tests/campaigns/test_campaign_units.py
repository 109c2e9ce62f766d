"""Campaign definitions, assignment and contact policy on hand-built cases and properties."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.campaigns import (
    CampaignError,
    SampleRatioWarning,
    apply_contact_policy,
    assign,
    assign_wave,
    campaign_from_data,
    is_global_holdout,
    load_campaign,
    load_campaign_settings,
    sample_ratio_check,
)
from touchpoint.campaigns._settings import ContactPolicy, FrequencyCap

T = dt.datetime
BASE = {
    "id": "divert_store_2026_03",
    "name": {"en": "Pay without the queue", "zh": "免排队缴费"},
    "action": "divert_store_payment_to_self_service",
    "audience": {"tags": ["store_payment_lover"]},
}


def test_a_bad_definition_names_file_line_and_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "id: c1\nname: {en: A, zh: 甲}\naction: send_flowers\naudience:\n  tags: [x]\n"
        "channels: [sms, fax]\nholdout_share: 1.5\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    text = str(err.value)
    assert "\n" not in text
    assert f"{path}, line 3, field 'action'" in text and "'send_flowers'" in text
    assert "line 6, field 'channels.1'" in text and "'fax'" in text
    assert "line 7, field 'holdout_share'" in text


def test_audience_needs_exactly_one_of_rule_or_tags():
    with pytest.raises(CampaignError, match="field 'audience': give exactly one"):
        campaign_from_data({**BASE, "audience": {"rule": "x > 1", "tags": ["a"]}})
    assert campaign_from_data(BASE).holdout_share == 0.1


def _audience(n: int, strata: int = 3, offset: int = 0):
    return ibis.memtable(
        {
            "customer_id": [f"C{i:06d}" for i in range(offset, offset + n)],
            "stratum": [i % strata for i in range(offset, offset + n)],
        }
    )


def test_holdout_is_stratified_and_exact_per_stratum():
    out = assign(_audience(3000), "camp", 0.1).to_pandas()
    per = out.groupby("stratum").group.apply(lambda g: (g == "holdout").sum())
    assert per.tolist() == [100, 100, 100]  # round(0.1 × 1000) in each stratum


def test_assignment_does_not_depend_on_row_order():
    a = assign(_audience(500), "camp", 0.2).to_pandas().set_index("customer_id").group
    shuffled = _audience(500).order_by(ibis.random())
    b = assign(shuffled, "camp", 0.2).to_pandas().set_index("customer_id").group
    assert a.sort_index().equals(b.sort_index())
    other = assign(_audience(500), "other", 0.2).to_pandas().set_index("customer_id").group
    assert not a.sort_index().equals(other.sort_index())  # a fresh draw per campaign


def test_a_later_wave_keeps_earlier_groups():
    first = assign(_audience(400), "camp", 0.1)
    later = assign_wave(_audience(400, offset=200), first, "camp", 0.1).to_pandas()
    before = first.to_pandas().set_index("customer_id").group
    kept = later[later.customer_id.isin(before.index)].set_index("customer_id").group
    assert len(kept) == 200 and (kept == before[kept.index]).all()
    new = later[~later.customer_id.isin(before.index)]
    assert len(new) == 200 and (new.group == "holdout").sum() == pytest.approx(20, abs=2)


def test_global_holdout_share():
    ids = _audience(20000)
    share = ids.select(g=is_global_holdout(ids.customer_id, "salt", 0.02)).g.mean().execute()
    assert share == pytest.approx(0.02, abs=0.004)


def test_sample_ratio_check_warns_on_a_mismatch():
    assert not sample_ratio_check(901, 99, 0.1).is_mismatch
    with pytest.warns(SampleRatioWarning, match="150 of 1000 held out"):
        result = sample_ratio_check(850, 150, 0.1)
    assert result.chi_square == pytest.approx(50**2 / 100 + 50**2 / 900)
    assert result.p_value < 1e-6


def _orders(rows):
    keys = ["work_order_id", "campaign_id", "customer_id", "channel", "priority", "sent_at"]
    return ibis.memtable(
        {k: [r[i] for r in rows] for i, k in enumerate(keys)},
        schema={
            "work_order_id": "string",
            "campaign_id": "string",
            "customer_id": "string",
            "channel": "string",
            "priority": "int64",
            "sent_at": "timestamp",
        },
    )


def test_policy_hand_built_case():
    policy = load_campaign_settings().policy  # sms: at most 2 in 30 days, quiet 21-08
    orders = _orders(
        [
            ("a", "x", "C1", "sms", 1, T(2026, 3, 1, 22)),
            ("b", "y", "C1", "sms", 5, T(2026, 3, 1, 10)),
            ("c", "x", "C2", "sms", 1, T(2026, 3, 1, 7)),
            ("d", "x", "C3", "sms", 1, T(2026, 3, 1, 10)),
            ("e", "x", "C4", "sms", 1, T(2026, 3, 1, 10)),
            ("f", "x", "C5", "sms", 1, T(2026, 3, 1, 10)),
            ("g", "x", "C6", "sms", 1, T(2026, 3, 1, 10)),
        ]
    )
    history = ibis.memtable(
        {
            "customer_id": ["C1", "C3", "C3", "C2"],
            "channel": ["sms"] * 4,
            "sent_at": [T(2026, 2, 20), T(2026, 2, 20), T(2026, 2, 25), T(2026, 1, 5)],
        }
    )
    out = (
        apply_contact_policy(
            orders,
            policy,
            history=history,
            do_not_disturb=ibis.memtable({"customer_id": ["C4"]}),
            opted_out=ibis.memtable({"customer_id": ["C5"]}),
            sensitive=ibis.memtable({"customer_id": ["C6"]}),
        )
        .to_pandas()
        .set_index("work_order_id")
    )
    assert out.hold_reason.to_dict() == {
        "a": "frequency_cap",  # C1: one in February, and campaign y (priority 5) goes first
        "b": None,
        "c": None,  # C2's January SMS is outside the 30 days
        "d": "frequency_cap",
        "e": "do_not_disturb",
        "f": "opted_out",
        "g": "sensitive",
    }
    assert out.sent_at["c"] == T(2026, 3, 1, 8)  # moved out of the quiet hours
    assert out.sent_at["a"] == T(2026, 3, 2, 8)


CUSTOMERS = st.sampled_from(["C1", "C2", "C3", "C4"])
CHANNELS = st.sampled_from(["sms", "app"])
MOMENTS = st.datetimes(min_value=T(2026, 3, 1), max_value=T(2026, 3, 20)).map(
    lambda t: t.replace(microsecond=0)
)


@settings(max_examples=12, deadline=None)
@given(
    orders=st.lists(
        st.tuples(CUSTOMERS, CHANNELS, st.integers(0, 3), MOMENTS, st.sampled_from("xyz")),
        min_size=1,
        max_size=12,
    ),
    history=st.lists(st.tuples(CUSTOMERS, CHANNELS, MOMENTS), max_size=8),
    dnd=st.lists(CUSTOMERS, max_size=2),
    max_orders=st.integers(0, 3),
    days=st.integers(1, 30),
)
def test_no_dispatched_order_breaks_a_cap_a_quiet_hour_or_dnd(
    orders, history, dnd, max_orders, days
):
    policy = ContactPolicy(
        frequency_caps=(FrequencyCap(channel="sms", max_orders=max_orders, days=days),),
        sensitive="allow",
    )
    table = _orders(
        [(f"o{i}", camp, cust, ch, pr, at) for i, (cust, ch, pr, at, camp) in enumerate(orders)]
    )
    hist = ibis.memtable(
        pa.table(
            {
                "customer_id": pa.array([h[0] for h in history], pa.string()),
                "channel": pa.array([h[1] for h in history], pa.string()),
                "sent_at": pa.array([h[2] for h in history], pa.timestamp("us")),
            }
        )
    )
    out = apply_contact_policy(
        table, policy, history=hist, do_not_disturb=ibis.memtable({"customer_id": dnd or ["-"]})
    ).to_pandas()
    assert len(out) == len(orders)
    sent = out[out.is_dispatched]
    assert not sent.customer_id.isin(dnd).any()
    hours = sent.sent_at.dt.hour
    assert ((hours >= 8) & (hours < 21)).all()
    for _, o in sent[sent.channel == "sms"].iterrows():
        prior = sum(
            1
            for c, ch, at in history
            if c == o.customer_id
            and ch == "sms"
            and o.sent_at - dt.timedelta(days=days) < at
            and at <= o.sent_at
        )
        same_batch = (
            (sent.customer_id == o.customer_id)
            & (sent.channel == "sms")
            & (sent.sent_at <= o.sent_at)
            & (sent.sent_at > o.sent_at - dt.timedelta(days=days))
        ).sum()
        assert prior + same_batch <= max_orders


@settings(max_examples=8, deadline=None)
@given(
    ids=st.lists(st.integers(0, 10**6), min_size=1, max_size=60, unique=True),
    share=st.floats(0.05, 0.5),
)
def test_same_inputs_same_assignment(ids, share):
    def run(order):
        audience = ibis.memtable(
            {"customer_id": [f"C{i}" for i in order], "stratum": [i % 2 for i in order]}
        )
        return assign(audience, "c", share).to_pandas().set_index("customer_id").group.sort_index()

    assert run(ids).equals(run(list(reversed(ids))))
