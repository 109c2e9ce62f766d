"""Churn and segments at three sizes: the speed targets of issue #14.

At 1 M customers × 6 months: features + training in at most 3 minutes, scoring with reasons
in at most 60 s, segments in at most 60 s, peak memory under 6 GB. Each stage runs in a
fresh process (its own peak memory) on the same warehouse:

- ``churn: features + training``: the rows the step needs read from the churn features
  (``read_churn_data``: months chosen and training customers sampled in Ibis, the condition
  pushed to the customer 360's scan; numbers as float32), the two LightGBM fits (the
  measured model and the one that scores), their calibrators and the logistic baseline,
  i.e. the step ``churn`` without its two scoring passes; ``, before``: as the step was
  before (the whole feature table into pandas, months sliced and sampled there);
- ``churn: scoring with reasons``: the fitted model (saved by the stage before) scores the
  latest month with probabilities, tree-SHAP contributions grouped into reasons and ranks,
  written to the warehouse; ``, LightGBM's SHAP``: the same with LightGBM's
  ``pred_contrib`` instead of the pattern tables of ``touchpoint.churn._treeshap``;
  ``, before``: the model and rows of the "before" training, LightGBM's SHAP;
- ``churn: whole step``: the step ``churn`` as ``touchpoint run`` runs it (both of the
  above, the measures on the held-out month and the scored hold-out), marts written;
- ``segments: whole step``: the step ``segments`` (features, k chosen by silhouette, k-means
  fitted and every customer-month predicted, profiles, migration, stability), marts written.

Input: the simulator's world (seed 3) of N customers × 6 months, ingested as ``stg_*``
tables and run through the customer steps once (cached under ``BENCH_BEHAVIOUR_DATA``,
default ``benchmarks/.data/``).

Run: ``python -m benchmarks behaviour`` (sizes via BENCH_BEHAVIOUR_SIZES=100000,1000000;
stages via BENCH_BEHAVIOUR_STAGES, parts of the variant names, ``-part`` to leave out:
e.g. ``training,scoring,-before``).
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import duckdb

from benchmarks.harness import Case, record, run_cases
from touchpoint.config import load_config
from touchpoint.warehouse import connect, write_table

DATA = Path(os.environ.get("BENCH_BEHAVIOUR_DATA", Path(__file__).resolve().parent / ".data"))
SIZES = (100_000, 300_000, 1_000_000)
MONTHS = 6
ENTITIES = ("customers", "contacts", "payments", "bills", "orders", "complaints", "surveys")


def prepare(n_customers: int) -> tuple[Path, int]:
    """The cached world of ``n_customers`` and a warehouse holding its ``stg_*`` tables and
    the customer marts; returns the warehouse and its number of customer-months."""
    from touchpoint.customers import build_360, build_contacts, build_preference
    from touchpoint.simulate import simulate

    data_dir = DATA / f"customers_{n_customers}"
    if not (data_dir / "truth" / "world.json").exists():
        simulate(data_dir, customers=n_customers, months=MONTHS, seed=3)
    warehouse = data_dir / "behaviour.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        have = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        for name in ENTITIES:
            if f"stg_{name}" not in have:
                con.execute(
                    f"CREATE TABLE stg_{name} AS SELECT * FROM read_parquet(?)",
                    [str(data_dir / f"{name}.parquet")],
                )
    finally:
        con.close()
    if "mart_customer_360" not in have:
        config = load_config()
        ibis_con = connect(warehouse)
        tables = {f"stg_{name}": ibis_con.table(f"stg_{name}") for name in ENTITIES}
        for step in (build_contacts, build_preference, build_360):
            for name, expr in step(tables, config).items():
                write_table(ibis_con, name, expr)
                tables[name] = ibis_con.table(name)
        ibis_con.disconnect()
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT COUNT(*) FROM mart_customer_360").fetchone()[0]
    con.close()
    return warehouse, rows


def _model_file(warehouse: str, which: str) -> Path:
    return Path(warehouse).with_suffix(f".churn_model_{which}.pkl")


def _old_training_rows(rows, settings):
    """The sample before this work: a seeded row sample of the training months, in pandas."""
    import numpy as np

    cap = settings.model.max_train_rows
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(settings.model.random_state)
    return rows.iloc[np.sort(rng.choice(len(rows), cap, replace=False))]


def churn_features_and_training_before(warehouse: str) -> None:
    """As the step did before the 1M work: every feature row into pandas (dates and ids as
    Python objects, numbers as float64), months sliced and sampled there, then every fit;
    the final model and the latest month's rows saved for the scoring stage."""
    from touchpoint.churn import churn_features, churn_settings_from_config
    from touchpoint.churn._features import LABEL, feature_columns
    from touchpoint.churn._model import baseline_frame, logistic_baseline
    from touchpoint.churn._predict import make_model

    settings = churn_settings_from_config(load_config())
    con = connect(warehouse, read_only=True)
    features = churn_features(
        con.table("mart_customer_360"), con.table("stg_contacts"), settings
    ).to_pandas()
    con.disconnect()
    columns = feature_columns(list(features.columns))
    months = sorted(features.loc[features[LABEL].notna(), "month"].unique())

    def rows(ms):
        return features[features["month"].isin(ms)]

    def fit(train_months, cal_months):
        train, cal = _old_training_rows(rows(train_months), settings), rows(cal_months)
        return make_model(settings).fit(
            train[columns],
            train[LABEL].astype(bool),
            X_calibration=cal[columns],
            y_calibration=cal[LABEL].astype(bool),
        )

    fit(months[:-2], [months[-2]])  # the measured model
    base_rows = _old_training_rows(rows(months[:-1]), settings)
    logistic_baseline(base_rows[columns]).fit(
        baseline_frame(base_rows[columns]), base_rows[LABEL].astype(bool)
    )
    final = fit(months[:-1], [months[-1]])  # the model that scores
    latest = features[features["month"] == features["month"].max()]
    latest = latest.drop(columns=[LABEL]).reset_index(drop=True)  # not known yet
    with _model_file(warehouse, "before").open("wb") as out:
        pickle.dump((final, latest), out)


def churn_features_and_training(warehouse: str) -> None:
    """The rows the step needs read from the features (months chosen and training customers
    sampled in Ibis, numbers as float32), then every fit of the step ``churn`` (measured
    model, final model, calibrators, logistic baseline); the final model and the latest
    month's rows are saved for the scoring stage."""
    import pandas as pd

    from touchpoint.churn import churn_features, churn_settings_from_config
    from touchpoint.churn._predict import fit_churn_models, month_blocks, read_churn_data

    settings = churn_settings_from_config(load_config())
    con = connect(warehouse, read_only=True)
    c360, contacts = con.table("mart_customer_360"), con.table("stg_contacts")
    data = read_churn_data(lambda keep: churn_features(c360, contacts, settings, keep), settings)
    fits = fit_churn_models(data, settings)
    blocks = month_blocks(data, data.latest, settings.model.score_block_rows)
    latest = pd.concat(list(blocks), ignore_index=True)
    con.disconnect()
    del data
    with _model_file(warehouse, "after").open("wb") as out:
        pickle.dump((fits.final, latest), out)


def _scoring(warehouse: str, which: str, lightgbm_shap: bool) -> None:
    from touchpoint.churn import churn_settings_from_config
    from touchpoint.churn._model import _CORES
    from touchpoint.churn._predict import score_with_reasons

    settings = churn_settings_from_config(load_config())
    with _model_file(warehouse, which).open("rb") as source:
        model, latest = pickle.load(source)
    contributions = None
    if lightgbm_shap:  # LightGBM's own tree SHAP, as before this work
        import pandas as pd

        X = latest[list(model.feature_names_in_)]
        values = model.booster_.predict(model._encoded(X), pred_contrib=True, num_threads=_CORES)
        contributions = pd.DataFrame(
            values, columns=[*model.feature_names_in_, "(bias)"], index=X.index
        )
    scores = score_with_reasons(model, latest, settings, contributions)
    con = connect(warehouse)
    write_table(con, "bench_churn_scores", scores)
    con.disconnect()


def churn_scoring_before(warehouse: str) -> None:
    """As before: the model and rows of the "before" training, LightGBM's tree SHAP."""
    _scoring(warehouse, "before", lightgbm_shap=True)


def churn_scoring_lightgbm_shap(warehouse: str) -> None:
    """The new training's model and rows, with LightGBM's tree SHAP (``pred_contrib``)."""
    _scoring(warehouse, "after", lightgbm_shap=True)


def churn_scoring(warehouse: str) -> None:
    """The latest month scored with reasons by the saved model (tree SHAP by pattern
    tables, touchpoint.churn._treeshap), written to the warehouse."""
    _scoring(warehouse, "after", lightgbm_shap=False)


def _step(warehouse: str, module: str) -> None:
    import importlib

    build = importlib.import_module(module).build
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = {name: con.table(name) for name in ("mart_customer_360", "stg_contacts")}
    for name, expr in build(tables, load_config()).items():
        write_table(con, name, expr)
    con.disconnect()


def churn_step(warehouse: str) -> None:
    _step(warehouse, "touchpoint.churn")


def segments_step(warehouse: str) -> None:
    _step(warehouse, "touchpoint.segments")


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_BEHAVIOUR_SIZES")
    return tuple(int(x) for x in chosen.split(",")) if chosen else SIZES


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def main() -> None:
    results, notes = [], []
    load_before = os.getloadavg()
    for n in _sizes():
        started = time.perf_counter()
        warehouse, rows = prepare(n)
        print(f"  data {n:,} customers: {rows:,} customer-months "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        size = f"{_label(n)} customers × {MONTHS} months"
        notes.append(f"{_label(n)}: {rows:,} customer-months")
        w = str(warehouse)
        cases = [
                Case("behaviour", "churn: features + training, before", size, rows,
                     churn_features_and_training_before, (w,)),
                Case("behaviour", "churn: features + training", size, rows,
                     churn_features_and_training, (w,)),
                Case("behaviour", "churn: scoring with reasons, before", size, rows // MONTHS,
                     churn_scoring_before, (w,)),
                Case("behaviour", "churn: scoring with reasons, LightGBM's SHAP", size,
                     rows // MONTHS, churn_scoring_lightgbm_shap, (w,)),
                Case("behaviour", "churn: scoring with reasons", size, rows // MONTHS,
                     churn_scoring, (w,)),
                Case("behaviour", "churn: whole step", size, rows, churn_step, (w,)),
                Case("behaviour", "segments: whole step", size, rows, segments_step, (w,)),
        ]  # fmt: skip
        stages = os.environ.get("BENCH_BEHAVIOUR_STAGES")  # e.g. "training,scoring,-before"
        if stages:
            wanted = [s for s in stages.split(",") if not s.startswith("-")]
            unwanted = [s[1:] for s in stages.split(",") if s.startswith("-")]
            cases = [
                c
                for c in cases
                if (not wanted or any(s in c.variant for s in wanted))
                and not any(s in c.variant for s in unwanted)
            ]
        results += run_cases(cases)
    load_after = os.getloadavg()
    record(
        "behaviour",
        results,
        note="Input: the simulator's world (seed 3); " + "; ".join(notes) + ". rows/s counts "
        "customer-months (the scoring stage: the latest month's customers). Load average "
        f"(1, 5, 15 min) {', '.join(f'{x:.1f}' for x in load_before)} before, "
        f"{', '.join(f'{x:.1f}' for x in load_after)} after: other jobs share the 2 cores, so "
        "CPU seconds are the steadier figure. Targets at 1M (issue #14): features + training "
        "≤ 180 s, scoring with reasons ≤ 60 s, segments ≤ 60 s, peak memory < 6 GB.",
    )


if __name__ == "__main__":
    main()
