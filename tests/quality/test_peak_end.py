"""Peak and end of contacts, by hand; the planted peak-end rule recovered on a simulated world."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from touchpoint.quality import contact_peaks

T = dt.datetime(2026, 3, 2, 10)


def _s(sec: float) -> dt.datetime:
    return T + dt.timedelta(seconds=sec)


def test_peaks_by_hand():
    contacts = ibis.memtable(
        pa.table(
            {
                "contact_id": ["i1", "a1", "i2", "a2", "s1"],
                "customer_id": ["c1", "c1", "c2", "c2", "c3"],
                "started_at": pa.array([_s(0), _s(130), _s(0), _s(40), _s(0)], pa.timestamp("us")),
                "ended_at": pa.array(
                    [_s(50), _s(430), _s(30), _s(100), _s(600)], pa.timestamp("us")
                ),
                "channel": ["ivr", "agent", "ivr", "agent", "store"],
                "business": ["payment"] * 5,
                "outcome": ["transferred", "resolved", "transferred", "unresolved", "resolved"],
                "call_id": ["h1", "h1", "h2", "h2", None],
            }
        )
    )
    events = ibis.memtable(
        {
            "call_id": ["h1", "h1", "h1", "h1", "h2"],
            "node_id": ["root", "n2", "n2", "n2", "root"],
            "event_type": ["timeout", "invalid", "timeout", "key", "key"],
        }
    )
    p = contact_peaks(contacts, events).to_pandas().set_index("contact_id")
    assert p.loc["a1", "wait_seconds"] == 80 and p.loc["a2", "wait_seconds"] == 10
    assert p.loc["a1", "duration_seconds"] == 300
    assert p.loc["a1", "n_repeated_prompts"] == 3 and p.loc["a1", "peak_node_id"] == "n2"
    assert p.loc["a2", "n_repeated_prompts"] == 0 and p.loc["a2", "peak_node_id"] is None
    assert bool(p.loc["a1", "has_long_wait"]) and not p.loc["a2", "has_long_wait"]
    assert bool(p.loc["i1", "has_bad_peak"])  # three repeated prompts, no wait
    assert not p.loc["s1", "has_bad_peak"] and p.loc["s1", "wait_seconds"] == 0
    assert list(p.loc[["a1", "a2"], "is_resolved"]) == [True, False]


@pytest.mark.slow
def test_planted_rates_csat_and_peak_end_are_recovered(tmp_path):
    import json

    import yaml

    from touchpoint.config import load_config
    from touchpoint.ingest import ingest
    from touchpoint.quality import quality_tables
    from touchpoint.simulate import simulate
    from touchpoint.warehouse import connect

    result = simulate(tmp_path / "w", customers=20_000, months=2, seed=5)
    truth = json.loads((tmp_path / "w" / "truth" / "realised.json").read_text(encoding="utf-8"))
    planted = yaml.safe_load((tmp_path / "w" / "truth" / "params.yaml").read_text())["surveys"]
    con = connect(tmp_path / "w.duckdb")
    ingest(con, list(result.files.values()))
    names = ("stg_surveys", "stg_contacts", "stg_customers", "stg_ivr_events")
    t = quality_tables(*(con.table(n) for n in names), load_config())
    sat = t["mart_survey_satisfaction"].to_pandas()
    by = sat.groupby("survey_channel")[["n_sent", "n_replied"]].sum()
    for ch in ("sms", "ivr"):  # reply rates: exactly the realised ones
        assert by.loc[ch, "n_replied"] / by.loc[ch, "n_sent"] == pytest.approx(
            truth[f"{ch}_survey_reply_rate"], abs=1e-12
        )
    # Weighted CSAT of one month's SMS surveys against the share satisfied of all sent.
    from touchpoint.customers import load_customers_settings
    from touchpoint.quality import survey_replies, weighted_csat

    r = survey_replies(
        con.table("stg_surveys"),
        con.table("stg_contacts"),
        con.table("stg_customers"),
        load_customers_settings(),
    ).to_pandas()
    w = weighted_csat(r).set_index("survey_channel").loc["sms"]
    plain = r[r.survey_channel == "sms"].is_satisfied.dropna().astype(bool).mean()
    target = truth["sms_survey_csat"]
    assert abs(w.csat_weighted - target) < abs(plain - target) / 2
    assert w.csat_weighted_low < target < w.csat_weighted_high
    e = t["mart_peak_end_effects"].to_pandas().set_index("term")
    for term, key in (
        ("long_wait", "peak_end_long_wait"),
        ("resolved", "peak_end_resolved"),
        ("intercept", "peak_end_intercept"),
    ):
        assert e.loc[term, "ci_low"] < planted[key] < e.loc[term, "ci_high"], (term, e)
    assert e.loc["long_wait", "ci_high"] < 0 < e.loc["resolved", "ci_low"]  # the signs
    # Duration neglect: the planted rule ignores how long the contact lasted.
    assert e.loc["duration_minutes", "ci_low"] < 0 < e.loc["duration_minutes", "ci_high"]
    con.disconnect()
