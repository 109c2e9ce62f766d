"""Channel KPIs by period, channel and dimension, pinned on hand-built contacts."""

import datetime as dt

import pytest
import yaml

from touchpoint.channels import KPI_MARTS, ChannelsSettings, build, channel_kpis, kpis_for
from touchpoint.config import DEFAULT_CONFIG_PATH, load_config


def _kpis(stg, rows, config, period, by=None, customers=None) -> list[dict]:
    """The KPI mart rows of one period and dimension, as the pipeline builds them."""
    tables = {"stg_contacts": stg.contacts(rows)}
    if customers is not None:
        tables["stg_customers"] = customers
    tables |= build(tables, config)
    mart = tables[KPI_MARTS[period]]
    rows = mart.filter(mart.dimension == (by or "all"))
    live = kpis_for(tables, config, period, by)
    # The mart (when it holds the dimension) and the live computation give the same rows.
    got = live.order_by(["period_start", "dimension_value", "channel"]).to_pyarrow().to_pylist()
    if by is None or by in ChannelsSettings().mart_dimensions[period]:
        stored = rows.order_by(["period_start", "dimension_value", "channel"])
        assert stored.to_pyarrow().to_pylist() == got
    return got


def test_cost_uses_the_configured_cost_per_contact(stg, run, tmp_path):
    at = stg.at
    rows = (
        [{"customer_id": "a", "started_at": at(9 + i), "channel": "agent"} for i in range(2)]
        + [
            {"customer_id": "b", "started_at": at(9 + i), "channel": "ivr", "call_id": f"c{i}"}
            for i in range(3)
        ]
        + [{"customer_id": "c", "started_at": at(9), "channel": "store"}]
    )
    tables = {"stg_contacts": stg.contacts(rows)}
    totals = {r["channel"]: r for r in run("mart_channels_totals", tables)}
    assert totals["agent"]["cost_yuan"] == pytest.approx(2 * 0.77)
    assert totals["ivr"]["cost_yuan"] == pytest.approx(3 * 0.018)
    assert totals["store"]["cost_yuan"] == pytest.approx(6.0)
    [kpis] = run("mart_channels_kpis", tables)
    assert kpis["cost_yuan"] == pytest.approx(1.54 + 0.054 + 6.0)

    # The operator's own figures: a config file with other costs changes the result.
    defaults = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    channels = [
        {**c, "cost_per_contact_yuan": 2.5 if c["id"] == "agent" else 0.0}
        for c in defaults["channels"]
    ]
    path = tmp_path / "costs.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "channels": channels}), encoding="utf-8")
    [kpis] = run("mart_channels_kpis", tables, cfg=load_config(path))
    assert kpis["cost_yuan"] == pytest.approx(5.0)


def test_shares_sum_to_one_and_reach_per_period_and_region(stg, config):
    at = stg.at
    rows = [
        {"customer_id": "a", "started_at": at(9), "channel": "web", "region": "north"},
        {"customer_id": "a", "started_at": at(10), "channel": "web", "region": "north"},
        {"customer_id": "a", "started_at": at(11), "channel": "agent", "region": "north"},
        {"customer_id": "b", "started_at": at(11), "channel": "agent", "region": "north"},
        {"customer_id": "c", "started_at": at(12), "channel": "store", "region": "south"},
        {"customer_id": "d", "started_at": at(12), "channel": "store", "region": None},
        {"customer_id": "a", "started_at": at(9, day=1), "channel": "app", "region": "north"},
    ]
    kpis = _kpis(stg, rows, config, "day", "region")
    day0_north = {
        r["channel"]: r
        for r in kpis
        if r["period_start"] == dt.date(2024, 3, 4) and r["dimension_value"] == "north"
    }
    assert {c: r["n_contacts"] for c, r in day0_north.items()} == {"web": 2, "agent": 2}
    assert {c: r["n_customers"] for c, r in day0_north.items()} == {"web": 1, "agent": 2}
    assert day0_north["web"]["contacts_per_customer"] == 2
    assert day0_north["web"]["contact_share"] == pytest.approx(0.5)
    assert day0_north["web"]["customer_share"] == pytest.approx(0.5)  # a of {a, b}
    assert day0_north["agent"]["customer_share"] == pytest.approx(1.0)
    assert day0_north["web"]["self_service_share"] == pytest.approx(0.5)
    assert {r["dimension"] for r in kpis} == {"region"}
    assert sorted({r["dimension_value"] for r in kpis}) == ["north", "south", "unknown"]
    groups: dict = {}
    for r in kpis:
        key = (r["period_start"], r["dimension_value"])
        groups[key] = groups.get(key, 0) + r["contact_share"]
    assert len(groups) == 4
    assert all(total == pytest.approx(1.0) for total in groups.values())


def test_brand_and_tier_come_from_the_customer_profile(stg, config):
    at = stg.at
    customers = stg.customers(
        [
            {"customer_id": "a", "brand": "mzone", "value_tier": "gold"},
            {"customer_id": "b", "brand": "easyown", "value_tier": "regular"},
        ]
    )
    rows = [
        {"customer_id": "a", "started_at": at(9), "channel": "web"},
        {"customer_id": "b", "started_at": at(9), "channel": "web"},
        {"customer_id": "z", "started_at": at(9), "channel": "web"},  # not in stg_customers
    ]
    brands = _kpis(stg, rows, config, "month", "brand", customers)
    assert sorted((r["dimension_value"], r["n_contacts"]) for r in brands) == [
        ("easyown", 1),
        ("mzone", 1),
        ("unknown", 1),
    ]
    tiers = _kpis(stg, rows, config, "month", "value_tier", customers)
    assert sorted(r["dimension_value"] for r in tiers) == ["gold", "regular", "unknown"]


def test_month_over_month_change_compares_with_the_previous_calendar_month(stg, config):
    rows = []
    for month, n in ((1, 4), (2, 6), (4, 3)):  # nothing in March
        for i in range(n):
            started = dt.datetime(2024, month, 10 + i, 9)
            rows.append({"customer_id": f"u{i % 2}", "started_at": started, "channel": "agent"})
    got = _kpis(stg, rows, config, "month")
    assert [r["period_start"] for r in got] == [dt.date(2024, m, 1) for m in (1, 2, 4)]
    assert [r["n_contacts_previous"] for r in got] == [None, 4, None]
    assert got[1]["n_contacts_change_rate"] == pytest.approx(0.5)
    assert got[1]["cost_change_rate"] == pytest.approx(0.5)
    assert got[1]["n_customers_change_rate"] == pytest.approx(0.0)  # u0, u1 both months
    assert got[2]["n_contacts_change_rate"] is None  # March had none: no comparison


def test_weeks_start_on_monday_and_days_on_the_start_date(stg, config):
    rows = [
        {
            "customer_id": "a",
            "started_at": dt.datetime(2024, 3, 10, 23, 50),  # Sunday
            "ended_at": dt.datetime(2024, 3, 11, 0, 20),
            "channel": "web",
        },
        {"customer_id": "a", "started_at": dt.datetime(2024, 3, 11, 8), "channel": "web"},  # Mon
    ]
    weeks = _kpis(stg, rows, config, "week")
    assert [(r["period_start"], r["n_contacts"]) for r in weeks] == [
        (dt.date(2024, 3, 4), 1),
        (dt.date(2024, 3, 11), 1),
    ]
    assert weeks[1]["n_contacts_change_rate"] == 0
    days = _kpis(stg, rows, config, "day")
    assert [r["period_start"] for r in days] == [dt.date(2024, 3, 10), dt.date(2024, 3, 11)]


def test_kpi_marts_stack_every_dimension(stg, run):
    at = stg.at
    rows = [{"customer_id": "a", "started_at": at(9), "channel": "web", "business": "payment"}]
    monthly = run("mart_channels_kpis_monthly", {"stg_contacts": stg.contacts(rows)})
    assert sorted((r["dimension"], r["dimension_value"]) for r in monthly) == [
        ("all", "all"),
        ("brand", "unknown"),
        ("business", "payment"),
        ("region", "north"),
        ("value_tier", "unknown"),
    ]
    assert {r["period"] for r in monthly} == {"month"}


def test_bad_arguments_are_refused(stg, config):
    tables = {"stg_contacts": stg.contacts([{"customer_id": "a", "started_at": stg.at(9)}])}
    volume = build(tables, config)["mart_channels_volume_daily"]
    with pytest.raises(ValueError, match="period='year'"):
        channel_kpis(volume, volume, "year")
    with pytest.raises(ValueError, match="by='plan'"):
        channel_kpis(volume, volume, "day", "plan")
