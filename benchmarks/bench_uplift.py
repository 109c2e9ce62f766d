"""Uplift (``touchpoint campaign uplift``) at three sizes: fitting the meta-learner on a
finished round and scoring the next audience, and the whole command's learning (five
out-of-fold fits for the comparison, one fit on the round, scoring; up to 100 k customers).

The data are one month of the synthetic ``mart_customer_360`` (``benchmarks/tags_data.py``,
every contract column), the features the default settings use, a 50 % randomised treatment
and an outcome whose planted uplift depends on age and the store-payment level. The round
and the next audience have the same size.

Run: ``python -m benchmarks uplift`` (sizes in customers via BENCH_UPLIFT_CUSTOMERS, e.g.
``10000,100000``).
"""

from __future__ import annotations

import os
from pathlib import Path

import causalml.inference.meta  # noqa: F401  (seconds to import: not part of the timing)
import ibis
import numpy as np
import pandas as pd

from benchmarks.harness import Case, record, run_case
from benchmarks.tags_data import synthetic_c360
from touchpoint.campaigns import (
    UpliftModel,
    load_campaign_settings,
    uplift_features,
    whom_to_treat_next,
)
from touchpoint.config import load_config

DATA = Path(__file__).resolve().parent / ".data"
CUSTOMERS = (10_000, 100_000, 1_000_000)
# The whole command fits six models: measured up to this size.
COMMAND_UP_TO = 100_000
CHUNK = 100_000
ACTION = "divert_store_payment_to_self_service"


def prepare(n_customers: int) -> Path:
    """A cached Parquet frame: the round's features, ``treated`` and ``outcome``."""
    path = DATA / f"uplift_{n_customers}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    config, settings = load_config(), load_campaign_settings().uplift
    patterns = (*settings.features, "pref_level_payment_store")
    parts = []
    for first in range(0, n_customers, CHUNK):
        c360 = ibis.memtable(
            synthetic_c360(config, min(CHUNK, n_customers - first), 1, seed=first, first_id=first)
        )
        parts.append(
            uplift_features(c360, c360.select("customer_id"), c360.month.max(), patterns)
            .to_pyarrow()
            .to_pandas()
        )
    frame = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(0)
    treated = rng.random(len(frame)) < 0.5
    age = frame.age_years.fillna(45).to_numpy()
    level = frame.pref_level_payment_store.fillna(0).to_numpy()
    uplift = 0.25 * np.clip((60 - age) / 40, 0, 1) * (level > 0)
    outcome = rng.random(len(frame)) < 0.3 + treated * uplift
    frame["treated"], frame["outcome"] = treated.astype("int8"), outcome.astype("int8")
    frame.to_parquet(str(path) + ".part")
    os.replace(str(path) + ".part", path)
    return path


def _learn(path: str) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_parquet(path)
    return frame, [c for c in frame.columns if c not in ("customer_id", "treated", "outcome")]


def fit_and_score(path: str) -> None:
    """Fit the default meta-learner on the round, score an audience of the same size."""
    frame, features = _learn(path)
    s = load_campaign_settings().uplift
    model = UpliftModel(
        learner=s.learner,
        max_iter=s.max_iter,
        learning_rate=s.learning_rate,
        max_leaf_nodes=s.max_leaf_nodes,
        min_samples_leaf=s.min_samples_leaf,
        l2_regularization=s.l2_regularization,
        random_state=s.seed,
        max_fit_rows=s.max_fit_rows,
    )
    model.fit(frame[features], frame.treated, frame.outcome).predict(frame[features])


def whole_command(path: str) -> None:
    """What the command computes: out-of-fold comparison, the fit, scoring and the pick."""
    frame, _ = _learn(path)
    whom_to_treat_next(
        frame,
        frame.drop(columns=["treated", "outcome"]),
        ACTION,
        load_campaign_settings().uplift,
        cost_difference_yuan=5.7,
        order_cost_yuan=0.05,
    )


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_UPLIFT_CUSTOMERS")
    return tuple(int(s) for s in chosen.split(",")) if chosen else CUSTOMERS


def _label(n: int) -> str:
    return f"{n / 1e6:.1f}M customers" if n >= 1e6 else f"{n / 1e3:.0f}k customers"


def main() -> None:
    results = []
    for n in _sizes():
        path = prepare(n)
        variants = [("fit + score (x-learner)", fit_and_score)]
        if n <= COMMAND_UP_TO:
            variants.append(("command: 5-fold comparison + fit + score", whole_command))
        for variant, func in variants:
            result = run_case(Case("uplift", variant, _label(n), n, func, (str(path),)))
            print(f"{_label(n):>15} {variant:<42} {result.seconds:8.1f} s", flush=True)
            results.append(result)
    record(
        "uplift",
        results,
        note=(
            "One month of the synthetic 360, the default features and meta-learner "
            "(`campaigns.uplift` in defaults.yaml: X-learner, 100 trees of 4 leaves, "
            "scikit-learn's histogram gradient boosting, a round above 200 k customers learnt "
            "from a sample of 200 k), a 50 % randomised round; the next "
            "audience is the same size as the round. Rows are customers. Measured with "
            "OMP_NUM_THREADS=1: the machine (2 cores) ran 10 to 16 other jobs, and the trees' "
            "OpenMP threads then wait for each other (10 k customers took 135 s with 2 threads, "
            "7 s with one). Treat the figures as upper bounds."
        ),
    )
