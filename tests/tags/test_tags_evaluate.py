"""Membership, since, entries and exits on hand-made 360s; rule edits and versions; catalogues."""

from __future__ import annotations

import ibis
import pytest
from tag_samples import APR, FEB, JAN, MAR, catalogue, tag

from touchpoint.errors import RuleError
from touchpoint.tags import (
    DEFAULT_CATALOGUE_PATH,
    catalogue_from_data,
    catalogue_problems,
    check_catalogue,
    customer_360_schema,
    load_catalogue,
    resolve_versions,
    tag_changes,
    tag_membership,
)

# Four months of three customers. u1 complains in Jan, Feb, Apr (a gap in Mar); u2 in Mar, Apr;
# u3 only in Jan and leaves the network after Feb (no rows in Mar, Apr).
C360 = {
    "customer_id": ["u1"] * 4 + ["u2"] * 4 + ["u3"] * 2,
    "month": [JAN, FEB, MAR, APR] * 2 + [JAN, FEB],
    "n_complaints_3m": [2, 3, 1, 2, 0, 0, 2, 4, 2, 1],
    "brand": ["gotone"] * 4 + ["mzone"] * 4 + ["gotone"] * 2,
    "arpu_yuan": [100.0, 100.0, None, 100.0, 20.0, 30.0, 40.0, 50.0, 80.0, 80.0],
}


def table():
    return ibis.memtable(C360)


def members(rule, **extra):
    cat = catalogue(tag("t", rule, **extra))
    rows = tag_membership(table(), cat).to_pyarrow().to_pylist()
    return sorted((r["customer_id"], str(r["month"]), str(r["since"])) for r in rows)


def test_members_and_since_match_the_hand_count():
    assert members("n_complaints_3m >= 2") == [
        ("u1", "2024-01-01", "2024-01-01"),
        ("u1", "2024-02-01", "2024-01-01"),
        ("u1", "2024-04-01", "2024-04-01"),  # the March gap starts a new run
        ("u2", "2024-03-01", "2024-03-01"),
        ("u2", "2024-04-01", "2024-03-01"),
        ("u3", "2024-01-01", "2024-01-01"),
    ]


def test_scope_limits_members():
    assert members("n_complaints_3m >= 2", applies_to={"brands": ["mzone"]}) == [
        ("u2", "2024-03-01", "2024-03-01"),
        ("u2", "2024-04-01", "2024-03-01"),
    ]
    assert members("n_complaints_3m >= 2", applies_to={"rule": "arpu_yuan >= 80"}) == [
        ("u1", "2024-01-01", "2024-01-01"),
        ("u1", "2024-02-01", "2024-01-01"),
        ("u1", "2024-04-01", "2024-04-01"),
        ("u3", "2024-01-01", "2024-01-01"),
    ]


def test_null_values_never_make_a_member():
    assert [m[:2] for m in members("arpu_yuan >= 100")] == [
        ("u1", "2024-01-01"),
        ("u1", "2024-02-01"),
        ("u1", "2024-04-01"),
    ]


def test_entered_and_left_per_month():
    cat = catalogue(tag("t", "n_complaints_3m >= 2"), tag("nobody", "n_complaints_3m > 99"))
    membership = tag_membership(table(), cat)
    rows = tag_changes(membership, table(), cat).to_pyarrow().to_pylist()
    got = {
        (r["tag_id"], str(r["month"])): (r["n_members"], r["n_entered"], r["n_left"]) for r in rows
    }
    assert got == {
        ("t", "2024-01-01"): (2, None, None),  # first month: nothing to compare with
        ("t", "2024-02-01"): (1, 0, 1),  # u3 drops (complaints 1)
        ("t", "2024-03-01"): (1, 1, 1),  # u2 enters, u1 leaves the tag
        ("t", "2024-04-01"): (2, 1, 0),  # u1 back
        ("nobody", "2024-01-01"): (0, None, None),
        ("nobody", "2024-02-01"): (0, 0, 0),
        ("nobody", "2024-03-01"): (0, 0, 0),
        ("nobody", "2024-04-01"): (0, 0, 0),
    }
    # The flow balances: members = previous members + entered - left.
    for tag_id in ("t", "nobody"):
        series = [
            got[(tag_id, m)] for m in ("2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01")
        ]
        for before, now in zip(series, series[1:], strict=False):
            assert now[0] == before[0] + now[1] - now[2]


def test_leaving_the_network_counts_as_leaving_the_tag():
    cat = catalogue(tag("gotone", "brand = 'gotone'"))
    rows = tag_changes(tag_membership(table(), cat), table(), cat).to_pyarrow().to_pylist()
    march = next(r for r in rows if str(r["month"]) == "2024-03-01")
    assert (march["n_members"], march["n_entered"], march["n_left"]) == (1, 0, 1)


def test_a_rule_edit_changes_membership_and_bumps_the_version():
    old = catalogue(tag("t", "n_complaints_3m >= 2"), tag("u", "brand = 'mzone'"))
    new = catalogue(tag("t", "n_complaints_3m >= 3"), tag("u", "brand = 'mzone'"))
    history = [
        {"tag_id": t.id, "version": t.version, "fingerprint": t.fingerprint(old.parameters)}
        for t in old.tags
    ]
    resolved = resolve_versions(new, history)
    assert [(t.id, t.version) for t in resolved.tags] == [("t", 2), ("u", 1)]
    rows = tag_membership(table(), resolved).filter(ibis._.tag_id == "t").to_pyarrow().to_pylist()
    assert sorted((r["customer_id"], str(r["month"]), r["version"]) for r in rows) == [
        ("u1", "2024-02-01", 2),
        ("u2", "2024-04-01", 2),
    ]
    # Going back to the old rule finds its old version again; whitespace is not an edit.
    history += [{"tag_id": "t", "version": 2, "fingerprint": new.tags[0].fingerprint({})}]
    again = resolve_versions(catalogue(tag("t", "n_complaints_3m  >=  2")), history)
    assert again.tags[0].version == 1


def test_a_parameter_change_is_an_edit_of_the_tags_that_use_it():
    before = catalogue(
        tag("t", "n_complaints_3m >= $k"), tag("u", "arpu_yuan > 1"), parameters={"k": 2}
    )
    after = catalogue(
        tag("t", "n_complaints_3m >= $k"), tag("u", "arpu_yuan > 1"), parameters={"k": 3}
    )
    history = [
        {"tag_id": t.id, "version": 1, "fingerprint": t.fingerprint(before.parameters)}
        for t in before.tags
    ]
    assert [t.version for t in resolve_versions(after, history).tags] == [2, 1]


def test_declared_version_is_kept_when_higher():
    history = [{"tag_id": "t", "version": 1, "fingerprint": "old"}]
    bumped = resolve_versions(catalogue(tag("t", "a > 1", version=5)), history)
    assert bumped.tags[0].version == 5


def test_catalogue_problems_are_all_collected_with_positions(config):
    cat = catalogue(
        tag("sensitive_customer", "n_complaints_3m >= 2 and n_complaint_3m > 0"),
        tag("ok", "is_new_subscriber"),
        tag("bad_scope", "is_new_subscriber", applies_to={"brands": ["nokia"], "rule": "arpu > 1"}),
        tag(
            "bad_hint",
            "points < 3900",
            hint={
                "channel": "pigeon",
                "script": {"en": "s", "zh": "s"},
                "timing": {"en": "t", "zh": "t"},
            },
        ),
    )
    problems = catalogue_problems(cat, customer_360_schema(config), config)
    assert problems == [
        "tag sensitive_customer: rule column 26: unknown column 'n_complaint_3m' (did you mean 'n_complaints_3m'?)",
        "tag bad_scope: applies_to.rule column 1: unknown column 'arpu' (did you mean 'arpu_yuan'?)",
        "tag bad_scope: applies_to.brands: 'nokia' is not configured (expected one of easyown, gotone, mzone)",
        "tag bad_hint: hint.channel: 'pigeon' is not configured (expected one of agent, app, ivr, kiosk, mobile_pay, partner_store, sms, store, wap, web)",
    ]
    with pytest.raises(
        RuleError, match=r"^x\.yaml: 4 problem\(s\): tag sensitive_customer: rule column 26"
    ):
        check_catalogue(cat, customer_360_schema(config), config, source="x.yaml")


def test_structural_problems_name_the_tag_and_field():
    data = {
        "version": "v",
        "tags": [tag("a", "x > 1"), {**tag("b", "x"), "name": {"en": "B"}}, tag("a", "y")],
    }
    with pytest.raises(RuleError) as info:
        catalogue_from_data(data, "f.yaml")
    assert "tag b: name.zh: Field required" in str(info.value)
    data["tags"] = [tag("a", "x > 1"), tag("a", "y")]
    with pytest.raises(RuleError, match="tag id 'a' appears twice"):
        catalogue_from_data(data, "f.yaml")
    with pytest.raises(RuleError, match=r"tag Bad Id: id: String should match pattern"):
        catalogue_from_data({"version": "v", "tags": [tag("Bad Id", "x")]}, "f.yaml")


def test_default_catalogue_holds_the_seed_tags_and_fits_the_contract(config):
    cat = load_catalogue(DEFAULT_CATALOGUE_PATH)
    assert {t.id for t in cat.tags} == {
        "vip_diamond",
        "vip_gold",
        "vip_silver",
        "group_key_person",
        "sensitive_customer",
        "suggestion_customer",
        "new_business_lover",
        "family_business_customer",
        "e_channel_preference",
        "negative_value_customer",
        "identity_customer",
        "store_payment_lover",
        "hotline_agent_lover",
        "new_subscriber",
    }
    assert catalogue_problems(cat, customer_360_schema(config), config) == []
    for t in cat.tags:
        assert t.name.en and t.name.zh and t.definition.zh and t.hint.script.zh and t.owner


def test_default_catalogue_on_a_realistic_360_matches_pandas(config, realistic_360, c360_table):
    """Every default tag, evaluated end to end, equals the same rule written in pandas."""
    cat = check_catalogue(load_catalogue(), c360_table.schema(), config)
    got = tag_membership(c360_table, cat).to_pandas()
    got["month"] = got.month.dt.date
    df = realistic_360.to_pandas()
    p = cat.parameters
    expected = {
        "vip_diamond": df.value_tier == "diamond",
        "vip_gold": df.value_tier == "gold",
        "vip_silver": df.value_tier == "silver",
        "group_key_person": df.is_group_key_person,
        "sensitive_customer": df.n_complaints_3m >= p["sensitive_min_complaints_3m"],
        "suggestion_customer": (df.n_surveys_dissatisfied_3m >= p["suggestion_min_dissatisfied_3m"])
        & (
            df.n_surveys_dissatisfied_3m
            >= p["suggestion_min_dissatisfied_share"] * df.n_surveys_replied_3m
        ),
        "new_business_lover": df.n_orders_subscribe_3m >= p["new_business_min_orders_3m"],
        "family_business_customer": df.is_family_plan | (df.n_family_or_group_orders_3m > 0),
        "e_channel_preference": df.n_contacts_3m_web + df.n_contacts_3m_kiosk + df.n_contacts_3m_app
        >= p["e_channel_min_contacts_3m"],
        "negative_value_customer": df.net_contribution_yuan < 0,
        "identity_customer": df.is_identity_customer,
        "store_payment_lover": df.pref_level_payment_store >= p["store_payment_min_level"],
        "hotline_agent_lover": df.pref_level_agent >= p["agent_min_level"],
        "new_subscriber": df.is_new_subscriber,
    }
    for tag_id, mask in expected.items():
        want = set(zip(df.customer_id[mask], df.month[mask], strict=True))
        mine = got[got.tag_id == tag_id]
        assert set(zip(mine.customer_id, mine.month, strict=True)) == want, tag_id
        assert 0 < len(want) < len(df), f"{tag_id} should mark some but not all rows"
    assert not got.duplicated(["customer_id", "tag_id", "month"]).any()
    assert (got.since <= got.month).all()


def test_only_parameters_a_rule_uses_enter_its_fingerprint():
    one = catalogue(tag("t", "n_complaints_3m >= $k"), parameters={"k": 2, "k2": 5})
    two = catalogue(tag("t", "n_complaints_3m >= $k"), parameters={"k": 2, "k2": 6})
    assert one.tags[0].fingerprint(one.parameters) == two.tags[0].fingerprint(two.parameters)
    three = catalogue(tag("t", "n_complaints_3m >= $k"), parameters={"k": 3, "k2": 5})
    assert three.tags[0].fingerprint(three.parameters) != one.tags[0].fingerprint(one.parameters)
