"""Channel analytics on the simulated world equal the simulator's own realised figures."""

import pytest

KEYS = (
    "ivr_to_agent_60min_rate",
    "calls_per_dialling_customer_per_day",
    "hotline_redial_rate",
    "repeat_contact_rate",
    "first_contact_resolution_rate",
)


def test_measured_equals_realised(ingested_world):
    con, _, realised, _ = ingested_world
    measured = con.table("mart_channels_kpis").to_pyarrow().to_pylist()[0]
    for key in KEYS:
        assert measured[key] == pytest.approx(realised[key], abs=0.005), key


def test_escalation_by_region_equals_realised(ingested_world):
    con, _, realised, _ = ingested_world
    rows = con.table("mart_channels_escalation_by_region").to_pyarrow().to_pylist()
    measured = {row["region"]: row["ivr_to_agent_60min_rate"] for row in rows}
    truth = realised["ivr_to_agent_60min_rate_by_region"]
    assert set(measured) == set(truth)
    for region, rate in truth.items():
        assert measured[region] == pytest.approx(rate, abs=0.005), region
