"""Query functions over the churn and retention marts (pyarrow or JSON-ready; the command
line, the report and the customer card only render them)."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.churn._build import CALIBRATION_MART, DRIVERS_MART, EVALUATION_MART, SCORES_MART
from touchpoint.churn._retention_build import CURVES_MART
from touchpoint.churn._settings import ChurnSettings
from touchpoint.churn._value import SEGMENT_VALUE_MART
from touchpoint.labels import to_rows
from touchpoint.query import optional_table, require_table

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
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
    """Scored customers per band of churn probability: ``bins`` equal bands from 0 to the
    highest probability scored (monthly churn is a few per cent: bands over [0, 1] would put
    everyone in the first), as ``bin_start``, ``bin_end``, ``n``. Counted in the warehouse,
    so a million scores do not travel to the report."""
    t = require_table(con, SCORES_MART)
    top = to_rows(t.aggregate(top=t.churn_probability.max()).to_pyarrow())[0]["top"]
    width = (top or 1.0) / bins
    band = (t.churn_probability / width).floor().cast("int64").clip(0, bins - 1)
    counts = t.group_by(band=band).agg(n=t.count())
    return (
        counts.select(
            bin_start=counts.band.cast("float64") * width,
            bin_end=(counts.band + 1).cast("float64") * width,
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
    reasons = [r[k] for k in REASON_COLUMNS if r[k] not in (None, "", "none")]
    return {
        "churn_probability": r["churn_probability"],
        "risk_decile": r["risk_decile"],
        "reasons": reasons,
    }


def top_risks(
    con: ibis.BaseBackend,
    settings: ChurnSettings,
    lang: str = "en",
    limit: int = 20,
    reason: str | None = None,
) -> pa.Table:
    """The ``limit`` customers most at risk (optionally only those whose first reason is
    ``reason``), with their reasons named in ``lang``."""
    t = require_table(con, SCORES_MART)
    if reason is not None:
        t = t.filter(t.reason_1 == reason)
    rows = to_rows(
        t.order_by(["risk_rank", "customer_id"])
        .limit(limit)
        .select("risk_rank", "customer_id", "churn_probability", "risk_decile", *REASON_COLUMNS)
        .to_pyarrow()
    )

    def name(r: str | None) -> str | None:
        if r in (None, "", "none"):
            return None
        return getattr(settings.reasons[r], f"name_{lang}") if r in settings.reasons else r

    out = [
        {
            "risk_rank": r["risk_rank"],
            "customer_id": r["customer_id"],
            "churn_probability": r["churn_probability"],
            "risk_decile": r["risk_decile"],
            "reasons": ("、" if lang == "zh" else ", ").join(
                n for n in map(name, (r[c] for c in REASON_COLUMNS)) if n
            ),
        }
        for r in rows
    ]
    schema = pa.schema(
        [
            ("risk_rank", pa.int64()),
            ("customer_id", pa.string()),
            ("churn_probability", pa.float64()),
            ("risk_decile", pa.int64()),
            ("reasons", pa.string()),
        ]
    )
    return pa.Table.from_pylist(out, schema=schema)


def churn_drivers(con: ibis.BaseBackend) -> pa.Table:
    """The model's features by mean |contribution| on the held-out month, strongest first."""
    return require_table(con, DRIVERS_MART).order_by("rank").to_pyarrow()


def lift_by_decile(con: ibis.BaseBackend) -> pa.Table:
    """Per tenth of the held-out month's customers, most at risk first (``decile`` 1): the
    share who left and its lift over the month's overall rate (from the calibration mart)."""
    t = require_table(con, CALIBRATION_MART)
    overall = (t.observed_rate * t.n).sum() / t.n.sum()
    return (
        t.select(
            decile=t.bin.max().over() + 1 - t.bin,
            n=t.n,
            observed_rate=t.observed_rate,
            lift=t.observed_rate / overall,
        )
        .order_by("decile")
        .to_pyarrow()
    )


def retention_curves(con: ibis.BaseBackend, cohort: str | None = None) -> pa.Table:
    """Kaplan–Meier retention per join-year cohort (or of ``cohort`` only) and month of
    tenure, with its interval."""
    t = require_table(con, CURVES_MART)
    if cohort is not None:
        t = t.filter(t.cohort == cohort)
    return t.order_by(["cohort", "period"]).to_pyarrow()
