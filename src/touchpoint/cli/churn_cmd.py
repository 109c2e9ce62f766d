"""``touchpoint churn``: evaluate the churn model on any table; ``touchpoint retention``:
fit the shifted-beta-geometric model to a cohort table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow.csv as pa_csv
import typer
from rich.table import Table

from touchpoint.churn import (
    ShiftedBetaGeometric,
    churn_drivers,
    churn_evaluation,
    churn_settings_from_config,
    evaluate_file,
    lift_by_decile,
    read_cohort_table,
    retention_curves,
    retention_work_orders,
    segment_value_rows,
    top_risks,
)
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
)
from touchpoint.cli.common import (
    Column,
    number_cell,
    open_warehouse,
    percent_cell,
    print_json,
    show_rows,
)
from touchpoint.config import load_config
from touchpoint.labels import translate

churn_app = typer.Typer(
    help="Churn prediction: evaluate the model on any table.", no_args_is_help=True
)
retention_app = typer.Typer(
    help="Retention: the shifted-beta-geometric model of cohort retention.", no_args_is_help=True
)
app.add_typer(churn_app, name="churn")
app.add_typer(retention_app, name="retention")


class _Labels:
    """``t["key"]``: the text of ``churn.key`` in one language (locales/churn.yaml)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        return translate(f"churn.{key}", self.lang)


def _labels(lang: str) -> _Labels:
    return _Labels(lang)


@churn_app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file, one row per customer.")],
    target: Annotated[str, typer.Option("--target", help="Column that says who churned.")],
    positive: Annotated[
        str | None,
        typer.Option("--positive", help="Value of the target column that means churn."),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help="Folds.")] = 5,
    as_json: JsonOption = False,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Cross-validated evaluation of the churn model on any table with a target column."""
    result = evaluate_file(file, target, positive, folds=folds)
    if as_json:
        print_json(result)
        return
    t = _labels(lang)
    console.print(t["title"].format(folds=folds, file=file), highlight=False)
    console.print(
        t["rows"].format(
            n=result["n_rows"],
            pos=result["n_positive"],
            positive=result["positive"],
            rate=result["base_rate"],
            k=result["n_features"],
        ),
        highlight=False,
    )
    if result["ignored_columns"]:
        console.print(t["ignored"].format(cols=", ".join(result["ignored_columns"])))
    table = Table(t["measure"], t["model"], t["baseline"])
    for metric in ("roc_auc", "pr_auc", "top_decile_lift"):
        cells = [
            f"{s[metric]['mean']:.3f} ± {s[metric]['std']:.3f}"
            for s in (result["summary"]["lightgbm"], result["summary"]["logistic"])
        ]
        table.add_row(t[metric], *cells)
    console.print(table)
    drivers = Table(t["feature"], t["strength"], t["direction"], title=t["drivers"])
    for row in result["drivers"]:
        if row["top_value"] is not None:
            direction = t["value"].format(value=row["top_value"])
        elif row["direction"] is None:
            direction = ""
        else:
            direction = t["more"] if row["direction"] > 0 else t["less"]
        drivers.add_row(row["feature"], f"{row['mean_abs_contribution']:.3f}", direction)
    console.print(drivers)


@retention_app.command("fit")
def fit(
    file: Annotated[
        Path, typer.Argument(help="CSV or Parquet cohort table: period, customers still active.")
    ],
    period: Annotated[str, typer.Option("--period", help="Period column.")] = "period",
    active: Annotated[str, typer.Option("--active", help="Active-customers column.")] = "active",
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, max=1000, help="Periods to project.")
    ] = 12,
    as_json: JsonOption = False,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Fit the shifted-beta-geometric model (Fader & Hardie 2007) to one cohort and project it."""
    counts = read_cohort_table(file, period, active)
    model = ShiftedBetaGeometric().fit(counts)
    fitted = model.result
    projection = model.projection(max(horizon, len(counts) - 1))
    for row in projection:
        t_ = row["period"]
        row["observed_active"] = counts[t_] if t_ < len(counts) else None
    life = model.expected_remaining_lifetime(0, horizon=horizon)
    if as_json:
        document = {
            "file": str(file),
            "alpha": fitted.alpha,
            "beta": fitted.beta,
            "alpha_interval": list(fitted.alpha_interval),
            "beta_interval": list(fitted.beta_interval),
            "level": fitted.level,
            "log_likelihood": fitted.log_likelihood,
            "n_customers": fitted.n_customers,
            "n_periods": fitted.n_periods,
            "expected_remaining_lifetime": life,
            "lifetime_horizon": horizon,
            "projection": projection,
        }
        print_json(document)
        return
    t = _labels(lang)
    console.print(
        t["sbg"].format(file=file, n=int(fitted.n_customers), t=fitted.n_periods), highlight=False
    )
    params = Table(t["parameter"], t["estimate"], t["interval"].format(level=fitted.level))
    for name, value, (lo, hi) in (
        ("alpha", fitted.alpha, fitted.alpha_interval),
        ("beta", fitted.beta, fitted.beta_interval),
    ):
        params.add_row(name, f"{value:.3f}", f"[{lo:.3f}, {hi:.3f}]")
    console.print(params)
    console.print(t["loglik"].format(ll=fitted.log_likelihood))
    table = Table(t["period"], t["observed"], t["survival"], t["rate"], t["expected"])
    for row in projection:
        table.add_row(
            str(row["period"]),
            "" if row["observed_active"] is None else f"{row['observed_active']:,.0f}",
            f"{row['survival']:.1%}",
            "" if row["retention_rate"] is None else f"{row['retention_rate']:.1%}",
            f"{row['expected_active']:,.0f}",
        )
    console.print(table)
    console.print(t["lifetime"].format(life=life, h=horizon))


@churn_app.command("work-orders")
def work_orders_cmd(
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget", min=0, help="Budget in yuan (default: churn_analytics.work_orders)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the list a campaign can take (CSV).")
    ] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Retention work orders within the budget: churn risk x value, with the reason to act on."""
    settings = churn_settings_from_config(load_config(config))
    with open_warehouse(warehouse) as con:
        result = retention_work_orders(con, settings, budget, lang)
    if out is not None:
        pa_csv.write_csv(result, out)
    t = _labels(lang)
    show_rows(
        result,
        [
            Column("rank", t["wo_rank"], justify="right"),
            Column("customer_id", t["wo_customer"]),
            Column("segment_name", t["wo_segment"]),
            Column("churn_probability", t["wo_risk"], percent_cell(lang), "right"),
            Column("arpu_yuan", t["wo_arpu"], number_cell(lang, 1), "right"),
            Column("expected_loss_yuan", t["wo_loss"], number_cell(lang, 0), "right"),
            Column("reason", t["wo_reason"]),
            Column("hint", t["wo_hint"]),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t["wo_none"],
    )
    if out is not None and not as_json:
        console.print(t["wo_written"].format(n=result.num_rows, out=out))


@churn_app.command("scores")
def scores_cmd(
    top: Annotated[int, typer.Option("--top", min=1, help="How many customers.")] = 20,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only customers whose first reason is this.")
    ] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """The customers most at risk of leaving next month, with their reasons."""
    settings = churn_settings_from_config(load_config(config))
    if reason is not None and reason not in settings.reasons:
        raise typer.BadParameter(
            f"unknown reason {reason!r}; one of {', '.join(settings.reasons)}",
            param_hint="--reason",
        )
    with open_warehouse(warehouse) as con:
        result = top_risks(con, settings, lang, top, reason)
    t = _labels(lang)
    show_rows(
        result,
        [
            Column("risk_rank", t["wo_rank"], justify="right"),
            Column("customer_id", t["wo_customer"]),
            Column("churn_probability", t["wo_risk"], percent_cell(lang), "right"),
            Column("risk_decile", t["decile"], justify="right"),
            Column("reasons", t["reasons"]),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
    )


@churn_app.command("evaluation")
def evaluation_cmd(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """The churn model and its baseline measured on the held-out month, and lift per tenth."""
    with open_warehouse(warehouse) as con:
        result = churn_evaluation(con)
        lift = lift_by_decile(con) if not as_json and not csv else None
    t = _labels(lang)
    three = number_cell(lang, 3)
    show_rows(
        result,
        [
            Column("model", t["model_name"]),
            Column("test_month", t["test_month"]),
            Column("n", t["customers"], justify="right"),
            Column("n_churners", t["churners"], justify="right"),
            Column("roc_auc", t["roc_auc"], three, "right"),
            Column("pr_auc", t["pr_auc"], three, "right"),
            Column("top_decile_lift", t["top_decile_lift"], three, "right"),
            Column("calibration_error", t["calibration_error"], three, "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
    )
    if lift is not None and lift.num_rows:
        show_rows(
            lift,
            [
                Column("decile", t["decile"], justify="right"),
                Column("n", t["customers"], justify="right"),
                Column("observed_rate", t["observed_rate"], percent_cell(lang), "right"),
                Column("lift", t["lift"], number_cell(lang, 2), "right"),
            ],
            lang=lang,
        )


@churn_app.command("drivers")
def drivers_cmd(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """The churn model's features, strongest first, with the reason each counts towards."""
    reasons = churn_settings_from_config(load_config(config)).reasons
    with open_warehouse(warehouse) as con:
        result = churn_drivers(con)
    t = _labels(lang)

    def reason_name(value, _row) -> str:
        return getattr(reasons[value], f"name_{lang}") if value in reasons else "–"

    def direction(value, row) -> str:
        if row.get("top_value") is not None:
            return t["value"].format(value=row["top_value"])
        if value is None:
            return ""
        return t["more"] if value > 0 else t["less"]

    show_rows(
        result,
        [
            Column("rank", t["wo_rank"], justify="right"),
            Column("feature", t["feature"]),
            Column("reason", t["wo_reason"], reason_name),
            Column("mean_abs_contribution", t["strength"], number_cell(lang, 3), "right"),
            Column("direction", t["direction"], direction),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
    )


@retention_app.command("curves")
def curves_cmd(
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="Only this join year (e.g. 2024).")
    ] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Kaplan–Meier retention of each join-year cohort by month of tenure, with its interval."""
    with open_warehouse(warehouse) as con:
        result = retention_curves(con, cohort)
    t = _labels(lang)
    pct = percent_cell(lang)
    show_rows(
        result,
        [
            Column("cohort", t["cohort"]),
            Column("period", t["tenure_month"], justify="right"),
            Column("n_at_risk", t["at_risk"], justify="right"),
            Column("n_left", t["left"], justify="right"),
            Column("survival", t["survival_km"], pct, "right"),
            Column("survival_low", t["low"], pct, "right"),
            Column("survival_high", t["high"], pct, "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
    )


@retention_app.command("value")
def segment_value_cmd(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Lifetime value per segment: the sBG of each segment's cohort x its mean ARPU."""
    with open_warehouse(warehouse) as con:
        result = segment_value_rows(con)
    t = _labels(lang)
    show_rows(
        result,
        [
            Column("segment_name", t["wo_segment"]),
            Column("n_customers", t["sv_customers"], justify="right"),
            Column("alpha", "alpha", number_cell(lang, 3), "right"),
            Column("beta", "beta", number_cell(lang, 3), "right"),
            Column("expected_months", t["sv_months"], number_cell(lang, 1), "right"),
            Column("mean_arpu_yuan", t["wo_arpu"], number_cell(lang, 1), "right"),
            Column(
                "lifetime_value_yuan",
                t["sv_value"],
                number_cell(lang, 0),
                "right",
            ),
            Column("note", t["sv_note"]),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
    )
