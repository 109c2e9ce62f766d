"""Holdout rows of a work-orders file: the oracle of uplift models. They change nothing that
happens, and each gets exactly the effect it would have had had it been sent."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from touchpoint.errors import ConfigError
from touchpoint.simulate import continue_world, read_work_orders, simulate

pytestmark = pytest.mark.slow

ACTIONS = (
    "divert_store_payment_to_self_service",
    "divert_agent_to_self_service",
    "retention_offer",
)


def _digests(world):
    return {
        str(p.relative_to(world)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(world.rglob("*"))
        if p.is_file() and "state" not in p.parts and p.name != "world.json"
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("holdout_effects")
    simulate(root / "sent", customers=1500, months=2, seed=5)
    shutil.copytree(root / "sent", root / "listed")
    shutil.copytree(root / "sent", root / "all")
    ids = pq.read_table(root / "sent" / "customers.parquet").column("customer_id").to_pylist()
    orders = pd.DataFrame(
        {
            "work_order_id": [f"WO{i:06d}" for i in range(400)],
            "campaign_id": "c1",
            "customer_id": ids[:400],
            "action": [ACTIONS[i % 3] for i in range(400)],
        }
    )
    orders.iloc[:200].to_csv(root / "sent.csv", index=False)
    orders.assign(holdout=["false"] * 200 + ["true"] * 200).to_csv(root / "listed.csv", index=False)
    orders.to_csv(root / "all.csv", index=False)
    for name in ("sent", "listed", "all"):
        continue_world(root / name, root / f"{name}.csv", months=2)
    return root


def test_holdout_rows_change_nothing_but_add_their_truth(worlds):
    sent, listed = _digests(worlds / "sent"), _digests(worlds / "listed")
    assert set(listed) - set(sent) == {"truth/holdout_effects.parquet"}
    assert {k: listed[k] for k in sent} == sent


def test_a_holdout_row_gets_the_effect_it_would_have_had_if_sent(worlds):
    held = pq.read_table(worlds / "listed" / "truth" / "holdout_effects.parquet").to_pandas()
    sent = pq.read_table(worlds / "all" / "truth" / "treatment_effects.parquet").to_pandas()
    assert len(held) == 200 and set(held.work_order_id) == {f"WO{i:06d}" for i in range(200, 400)}
    both = held.merge(sent, on="work_order_id", suffixes=("", "_sent"))
    assert len(both) == 200
    # An annoyed customer who is sent a retention offer complains more, and a complaint
    # raises next month's hazard: the world "without" it then differs from the real one.
    feedback = (both.action == ACTIONS[2]) & both.is_annoyed
    assert feedback.sum() < 0.2 * (both.action == ACTIONS[2]).sum()
    both = both[~feedback]
    for column in ("planted_strength", "p_outcome_without", "p_outcome_with", "individual_effect"):
        np.testing.assert_allclose(both[column], both[f"{column}_sent"], rtol=0, atol=1e-12)
    store = held[held.action == ACTIONS[0]]
    assert store.individual_effect.mean() < -0.05  # a real effect, not zeros


def test_a_bad_holdout_flag_is_refused(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "work_order_id,campaign_id,customer_id,action,holdout\n"
        f"WO1,c1,C00000001,{ACTIONS[0]},maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="holdout must be true or false"):
        read_work_orders(path, ["sms"])
