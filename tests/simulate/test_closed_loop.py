"""The closed loop: a continued world applies work orders with their planted effect."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from touchpoint.cli import main
from touchpoint.errors import ConfigError
from touchpoint.simulate import continue_world, simulate

pytestmark = pytest.mark.slow  # each test simulates or continues a world

STORES = ["store", "partner_store"]


@pytest.fixture(scope="module")
def loop(tmp_path_factory, calibration_world):
    """The shared 12,000 customers × 2 months; a random half of February's store payers get a
    diversion SMS, and the world goes on for 2 months. A copy is continued too (determinism)."""
    root = tmp_path_factory.mktemp("loop")
    shutil.copytree(calibration_world.out_dir, root / "world")
    customers_before = pd.read_parquet(root / "world" / "customers.parquet")
    shutil.copytree(root / "world", root / "copy")
    payments = pd.read_parquet(root / "world" / "payments.parquet")
    february = payments[(payments.paid_at >= "2026-02-01") & payments.channel.isin(STORES)]
    payers = np.sort(february.customer_id.unique())
    treated = payers[np.random.default_rng(0).random(len(payers)) < 0.5]
    orders = pd.DataFrame(
        {
            "work_order_id": [f"WO{i:06d}" for i in range(len(treated))],
            "campaign_id": "divert_2026_03",
            "customer_id": treated,
            "channel": "sms",
            "action": "divert_store_payment_to_self_service",
            "sent_at": pd.Timestamp("2026-03-01 10:00"),
        }
    )
    orders.to_csv(root / "orders.csv", index=False)
    result = continue_world(root / "world", root / "orders.csv", months=2)
    copy = continue_world(root / "copy", root / "orders.csv", months=2)
    return dict(
        root=root,
        customers_before=customers_before,
        result=result,
        copy=copy,
        payers=payers,
        treated=treated,
        control=np.setdiff1d(payers, treated),
        february=february,
        later=pd.read_parquet(result.files["payments"]),
    )


def _store_payers(payments: pd.DataFrame) -> set:
    return set(payments[payments.channel.isin(STORES)].customer_id)


def test_measured_difference_matches_the_planted_average_effect(loop):
    effect = loop["result"].campaign_effects["divert_2026_03"]
    assert effect["n_treated"] == len(loop["treated"])
    later = _store_payers(loop["later"])
    treated_rate = np.isin(loop["treated"], list(later)).mean()
    control_rate = np.isin(loop["control"], list(later)).mean()
    # Randomised: the control estimates the treated's outcome without the work order.
    assert control_rate == pytest.approx(effect["mean_p_outcome_without"], abs=0.03)
    assert treated_rate == pytest.approx(effect["mean_p_outcome_with"], abs=0.03)
    assert treated_rate - control_rate == pytest.approx(effect["att"], abs=0.035)
    assert effect["att"] < -0.08  # a real, planted diversion


def test_individual_effects_are_heterogeneous_and_sum_to_the_campaign(loop):
    truth = loop["root"] / "world" / "truth"
    effects = pd.read_parquet(truth / "treatment_effects.parquet")
    campaigns = json.loads((truth / "campaign_effects.json").read_text(encoding="utf-8"))
    assert len(effects) == len(loop["treated"])
    assert effects.individual_effect.mean() == pytest.approx(campaigns["divert_2026_03"]["att"])
    assert (effects.individual_effect <= 0).all()
    assert effects.individual_effect.std() > 0.05
    customers = pd.read_parquet(loop["result"].files["customers"]).set_index("customer_id")
    effects = effects.join(customers, on="customer_id")
    age = 2026 - effects.birth_year
    # Planted: young customers move more than seniors, mzone more than gotone.
    assert (
        effects[age < 30].planted_strength.mean() > 2 * effects[age >= 50].planted_strength.mean()
    )
    by_brand = effects[~effects.is_annoyed].groupby("brand").planted_strength.mean()
    assert by_brand["mzone"] > by_brand["gotone"]
    # Annoyed customers get no diversion, and opt out rather than accept.
    assert (effects[effects.is_annoyed].planted_strength == 0).all()
    responses = pd.read_parquet(loop["result"].files["campaign_responses"])
    responses = responses[responses.work_order_id.str.startswith("WO")]
    assert len(responses) == len(loop["treated"])
    annoyed = responses.work_order_id.isin(effects[effects.is_annoyed].work_order_id)
    assert (responses[annoyed].response == "opted_out").mean() > 0.5
    assert (responses[~annoyed].response == "opted_out").mean() == 0


def test_control_group_regresses_to_the_mean(loop):
    """Heavy store payers of February pay in stores less in March without any work order:
    the part of a naive "diversion" figure that would have happened anyway."""
    february = loop["february"]
    control = loop["control"]
    counts = february[february.customer_id.isin(control)].customer_id.value_counts()
    heavy = counts[counts >= 2].index
    later = loop["later"]
    march = later[(later.paid_at < "2026-04-01") & later.channel.isin(STORES)]
    march_counts = march.customer_id.value_counts().reindex(heavy, fill_value=0)
    assert len(heavy) > 100
    assert march_counts.mean() < 0.6 * counts[heavy].mean()
    # Seed 002 reports 49.2 % of selected store payers "not paying in a store" three months
    # on, without a control group; here a large part of that happens with no work order.
    stayed_away = 1 - np.isin(control, list(_store_payers(march))).mean()
    assert stayed_away > 0.3


def test_continuing_is_deterministic_and_ids_do_not_collide(loop):
    result, copy = loop["result"], loop["copy"]
    for name, path in result.files.items():
        assert path.read_bytes() == copy.files[name].read_bytes(), name
    world = loop["root"] / "world"
    for entity, key in (
        ("contacts", "contact_id"),
        ("payments", "payment_id"),
        ("surveys", "survey_id"),
        ("campaign_responses", "work_order_id"),
    ):
        both = pd.concat(
            [pd.read_parquet(world / f"{entity}.parquet"), pd.read_parquet(result.files[entity])]
        )
        assert not both[key].duplicated().any(), entity
    surveys = pd.read_parquet(result.files["surveys"])
    contacts = pd.read_parquet(result.files["contacts"])
    assert surveys.contact_id.isin(contacts.contact_id).all()
    # The same customers, plus new subscribers who join during the continued months; the
    # snapshot has who left in the continued months.
    customers = pd.read_parquet(result.files["customers"])
    assert len(customers) == 12_000 + round(12_000 * 0.02 * 2)
    before = loop["customers_before"]
    same = customers.iloc[:12_000]
    assert (same.customer_id.to_numpy() == before.customer_id.to_numpy()).all()
    assert (same.join_date.to_numpy() == before.join_date.to_numpy()).all()
    joiners = customers.iloc[12_000:]
    assert (joiners.join_date >= pd.Timestamp("2026-03-01").date()).all()
    assert joiners.customer_id.isin(contacts.customer_id).any()
    left_later = customers.leave_date >= pd.Timestamp("2026-03-01").date()
    assert left_later.sum() > 0
    assert set(contacts.customer_id) <= set(customers.customer_id)
    world_json = json.loads((world / "truth" / "world.json").read_text(encoding="utf-8"))
    assert world_json["months"] == 4 and len(world_json["legs"]) == 2


def test_a_continued_world_ingests_without_quarantine(loop, tmp_path):
    from touchpoint.ingest import ingest
    from touchpoint.warehouse import connect

    world = loop["root"] / "world"
    files = sorted(p for p in world.glob("*.parquet"))
    con = connect(tmp_path / "w.duckdb")
    summaries = ingest(con, files)
    assert sum(s.n_quarantined for s in summaries) == 0
    assert con.table("stg_contacts").count().execute() == sum(
        s.n_loaded for s in summaries if s.entity == "contacts"
    )


def test_retention_offers_lower_churn_by_the_planted_effect(tmp_path):
    simulate(tmp_path, customers=8000, months=1, seed=21)
    ids = np.array([f"C{i:08d}" for i in range(8000)])
    treated = ids[np.random.default_rng(1).random(8000) < 0.5]
    pd.DataFrame(
        {
            "work_order_id": [f"R{i}" for i in range(len(treated))],
            "campaign_id": "retain",
            "customer_id": treated,
            "action": "retention_offer",
        }
    ).to_parquet(tmp_path / "retain.parquet")
    result = continue_world(tmp_path, tmp_path / "retain.parquet", months=3)
    effect = result.campaign_effects["retain"]
    customers = pd.read_parquet(result.files["customers"])
    in_network = customers[
        customers.leave_date.isna() | (customers.leave_date >= pd.Timestamp("2026-02-01").date())
    ]
    churned = in_network.set_index("customer_id").leave_date.notna()
    is_treated = churned.index.isin(treated)
    measured = churned[is_treated].mean() - churned[~is_treated].mean()
    assert effect["att"] < -0.01
    assert measured == pytest.approx(effect["att"], abs=0.012)


def test_bad_work_orders_are_refused_in_one_line(loop, tmp_path):
    world = loop["root"] / "copy"
    bad = tmp_path / "bad.csv"
    bad.write_text("work_order_id,campaign_id,customer_id,action\nX1,c,C00000001,give_gift\n")
    with pytest.raises(ConfigError, match="give_gift"):
        continue_world(world, bad, months=1)
    bad.write_text("work_order_id,campaign_id,customer_id,action\nX1,c,C99999999,retention_offer\n")
    with pytest.raises(ConfigError, match="not in the world"):
        continue_world(world, bad, months=1)
    bad.write_text(
        "work_order_id,campaign_id,customer_id,action\nW0000000000012,c,C00000001,retention_offer\n"
    )
    with pytest.raises(ConfigError, match="simulator's own"):
        continue_world(world, bad, months=1)


def test_cli_error_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--continue", str(tmp_path / "nowhere"), "--months", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "not a simulated world" in err and "Traceback" not in err


def test_leg_preference_truth_shows_the_planted_habit_change(loop):
    truth = loop["root"] / "world" / "truth"

    def store_weight(path):
        prefs = pd.read_parquet(path)
        return prefs[prefs.channel.isin(STORES)].groupby("customer_id").latent_weight.sum()

    before = store_weight(truth / "payment_preferences.parquet")
    after = store_weight(truth / "payment_preferences_2026-03_2026-04.parquet")
    change = (after - before).dropna()
    effects = pd.read_parquet(truth / "treatment_effects.parquet").set_index("customer_id")
    strong = effects.index[effects.planted_strength > 0.3]
    control = loop["control"]
    # Both groups regress towards their segment's habits; the treated lose much more.
    assert change.reindex(control).mean() < 0
    assert change.reindex(strong).mean() < change.reindex(control).mean() - 0.05


def test_unreadable_sent_at_is_refused(loop, tmp_path):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame(
        {
            "work_order_id": ["X1"],
            "campaign_id": ["c"],
            "customer_id": ["C00000001"],
            "action": ["retention_offer"],
            "sent_at": ["01/03/2026"],
        }
    ).to_parquet(bad)
    with pytest.raises(ConfigError, match="sent_at"):
        continue_world(loop["root"] / "copy", bad, months=1)


def test_a_gbk_csv_world_continues_in_gbk_csv(tmp_path):
    from touchpoint.ingest import ingest
    from touchpoint.warehouse import connect

    simulate(tmp_path, customers=400, months=1, seed=4, file_format="csv", encoding="gbk")
    orders = tmp_path / "truth" / "wo.csv"  # not beside the source files: ingest would read it
    orders.write_text(
        "work_order_id,campaign_id,customer_id,channel,action,sent_at\n"
        "A1,agents,C00000003,app,divert_agent_to_self_service,2026-02-03 09:30:00\n"
        "A2,agents,C00000007,app,divert_agent_to_self_service,\n",
        encoding="utf-8",
    )
    result = continue_world(tmp_path, orders, months=1)
    assert result.files["surveys"].name == "surveys_2026-02_2026-02.csv"
    assert "满意" in result.files["surveys"].read_bytes().decode("gb18030")
    responses = pd.read_csv(result.files["campaign_responses"], encoding="gb18030")
    mine = responses[responses.work_order_id.isin(["A1", "A2"])].set_index("work_order_id")
    sent = pd.to_datetime(mine.sent_at)
    assert sent["A1"] == pd.Timestamp("2026-02-03 09:30:00")
    assert sent["A2"] == pd.Timestamp("2026-02-01 10:00:00")  # blank: the first day, 10:00
    assert set(mine.channel) == {"app"}
    effects = pd.read_parquet(tmp_path / "truth" / "treatment_effects.parquet")
    assert set(effects.outcome) == {"chose_agent"}
    assert (effects.individual_effect <= 0).all()
    con = connect(tmp_path / "w.duckdb")
    summaries = ingest(con, sorted(tmp_path.glob("*.csv")))
    assert sum(s.n_quarantined for s in summaries) == 0


def test_the_planted_effect_follows_its_parameter(tmp_path):
    import yaml

    simulate(tmp_path / "base", customers=3000, months=1, seed=8)
    ids = [f"C{i:08d}" for i in range(0, 3000, 2)]
    pd.DataFrame(
        {
            "work_order_id": [f"D{i}" for i in range(len(ids))],
            "campaign_id": "divert",
            "customer_id": ids,
            "action": "divert_store_payment_to_self_service",
        }
    ).to_csv(tmp_path / "wo.csv", index=False)
    att = {}
    for effect in (0.0, 0.45, 0.9):
        world = tmp_path / f"effect_{effect}"
        shutil.copytree(tmp_path / "base", world)
        params = yaml.safe_load((world / "truth" / "params.yaml").read_text(encoding="utf-8"))
        params["treatments"]["actions"]["divert_store_payment_to_self_service"]["effect"] = effect
        (world / "truth" / "params.yaml").write_text(
            yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        result = continue_world(world, tmp_path / "wo.csv", months=2)
        att[effect] = result.campaign_effects["divert"]["att"]
    assert att[0.0] == 0.0
    assert att[0.9] < att[0.45] - 0.05 < -0.1

    # The state keeps habits by position: a reordered parameter file is refused.
    world = tmp_path / "effect_0.9"
    params = yaml.safe_load((world / "truth" / "params.yaml").read_text(encoding="utf-8"))
    (world / "truth" / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(ConfigError, match="same order"):
        continue_world(world, None, months=1)


def test_a_campaign_acting_on_two_outcomes_has_an_effect_per_outcome(tmp_path):
    simulate(tmp_path, customers=600, months=1, seed=6)
    orders = tmp_path / "truth" / "wo.csv"
    rows = ["work_order_id,campaign_id,customer_id,action"]
    rows += [f"S{i},mixed,C{i:08d},divert_store_payment_to_self_service" for i in range(0, 300, 2)]
    rows += [f"R{i},mixed,C{i:08d},retention_offer" for i in range(1, 300, 2)]
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    effect = continue_world(tmp_path, orders, months=1).campaign_effects["mixed"]
    effects = pd.read_parquet(tmp_path / "truth" / "treatment_effects.parquet")
    assert effect["att"] is None  # no single average over a payment channel and churn
    assert set(effect["by_outcome"]) == set(effects.outcome) and len(effect["by_outcome"]) == 2
    for outcome, rows_ in effects.groupby("outcome"):
        got = effect["by_outcome"][outcome]
        assert got["n_treated"] == len(rows_) == 150
        assert got["att"] == pytest.approx(rows_.individual_effect.mean())
    saved = json.loads((tmp_path / "truth" / "campaign_effects.json").read_text(encoding="utf-8"))
    assert saved["mixed"]["by_outcome"] == effect["by_outcome"]
