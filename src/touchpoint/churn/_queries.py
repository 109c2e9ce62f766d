"""Query functions over the churn and retention marts (pyarrow or JSON-ready; the command
line, the report and the customer card only render them)."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.churn._build import CALIBRATION_MART, EVALUATION_MART, SCORES_MART
from touchpoint.churn._settings import ChurnSettings
from touchpoint.churn._value import SEGMENT_VALUE_MART
from touchpoint.labels import to_rows
from touchpoint.query import optional_table, require_table

EVALUATION_COLUMNS = (
    "model",
    "test_month",
    "n",
    "n_churners",
    "roc_auc",
    "pr_auc",
    "top_decile_lift",
    "calibration_error",
)


def churn_evaluation(con: ibis.BaseBackend) -> pa.Table:
    """The models measured on the held-out month (rows without a measurement left out: a
    world too short to hold a month out has only a note)."""
    t = require_table(con, EVALUATION_MART)
    return t.filter(t.roc_auc.notnull()).select(*EVALUATION_COLUMNS).order_by("model").to_pyarrow()


def risk_histogram(con: ibis.BaseBackend, bins: int = 40) -> pa.Table:
    """Scored customers per band of churn probability (``bins`` equal bands of [0, 1]):
    ``bin_start``, ``bin_end``, ``n``. Counted in the warehouse, so a million scores do not
    travel to the report."""
    t = require_table(con, SCORES_MART)
    band = (t.churn_probability * bins).floor().cast("int64").clip(0, bins - 1)
    counts = t.group_by(band=band).agg(n=t.count())
    return (
        counts.select(
            bin_start=counts.band.cast("float64") / bins,
            bin_end=(counts.band + 1).cast("float64") / bins,
            n=counts.n,
        )
        .order_by("bin_start")
        .to_pyarrow()
    )


def reason_counts(con: ibis.BaseBackend, settings: ChurnSettings, lang: str = "en") -> pa.Table:
    """Scored customers by their first reason (reasons of the configured taxonomy only), most
    frequent first: ``reason``, ``name`` in ``lang``, ``controllable``, ``n``."""
    t = require_table(con, SCORES_MART)
    known = t.filter(t.reason_1.isin(list(settings.reasons)))
    counts = to_rows(known.group_by(reason=known.reason_1).agg(n=known.count()).to_pyarrow())
    rows = [
        {
            "reason": r["reason"],
            "name": getattr(settings.reasons[r["reason"]], f"name_{lang}"),
            "controllable": settings.reasons[r["reason"]].controllable,
            "n": r["n"],
        }
        for r in sorted(counts, key=lambda r: (-r["n"], r["reason"]))
    ]
    schema = pa.schema(
        [
            ("reason", pa.string()),
            ("name", pa.string()),
            ("controllable", pa.bool_()),
            ("n", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def churn_calibration(con: ibis.BaseBackend) -> pa.Table:
    """LightGBM's calibration on the held-out month: per tenth, mean predicted and observed."""
    return require_table(con, CALIBRATION_MART).order_by("bin").to_pyarrow()


def segment_value_rows(con: ibis.BaseBackend) -> pa.Table:
    """Lifetime value per segment (the sBG of each segment's cohort × its mean ARPU)."""
    return require_table(con, SEGMENT_VALUE_MART).order_by("segment").to_pyarrow()


def customer_churn(con: ibis.BaseBackend, customer_id: str) -> dict[str, Any] | None:
    """The customer's churn probability, risk decile and reasons (strongest first); ``None``
    when the scores have not been built or the customer is not scored."""
    scores = optional_table(con, SCORES_MART)
    if scores is None:
        return None
    rows = to_rows(scores.filter(scores.customer_id == customer_id).limit(1).to_pyarrow())
    if not rows:
        return None
    r = rows[0]
    reasons = [
        r[k]
        for k in sorted(k for k in r if k.startswith("reason_") and k[7:].isdigit())
        if r[k] not in (None, "", "none")
    ]
    return {
        "churn_probability": r["churn_probability"],
        "risk_decile": r["risk_decile"],
        "reasons": reasons,
    }
