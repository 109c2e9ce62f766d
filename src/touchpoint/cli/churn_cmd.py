"""``touchpoint churn``: evaluate the churn model on any table; ``touchpoint retention``:
fit the shifted-beta-geometric model to a cohort table."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from touchpoint.churn import ShiftedBetaGeometric, evaluate_file, read_cohort_table
from touchpoint.cli.app import JsonOption, LangOption, app, console

churn_app = typer.Typer(
    help="Churn prediction: evaluate the model on any table.", no_args_is_help=True
)
retention_app = typer.Typer(
    help="Retention: the shifted-beta-geometric model of cohort retention.", no_args_is_help=True
)
app.add_typer(churn_app, name="churn")
app.add_typer(retention_app, name="retention")

_T = {
    "en": {
        "title": "Churn model, {folds}-fold stratified cross-validation of {file}",
        "rows": "{n:,} rows, {pos:,} {positive!r} ({rate:.1%}); {k} feature columns",
        "ignored": "set aside: {cols}",
        "measure": "Measure",
        "model": "LightGBM (mean ± sd)",
        "baseline": "Logistic baseline (mean ± sd)",
        "roc_auc": "ROC AUC",
        "pr_auc": "PR AUC",
        "top_decile_lift": "Top-decile lift",
        "drivers": "Strongest drivers (mean |SHAP|, held-out rows)",
        "feature": "Feature",
        "strength": "Mean |contribution|",
        "direction": "Direction",
        "more": "more of it, more churn",
        "less": "less of it, more churn",
        "value": "most churn: {value}",
        "sbg": "Shifted-beta-geometric fit of {file} ({n:,} customers, {t} periods)",
        "parameter": "Parameter",
        "estimate": "Estimate",
        "interval": "{level:.0%} interval",
        "loglik": "log-likelihood {ll:.1f}",
        "period": "Period",
        "observed": "Observed active",
        "survival": "Projected survival",
        "rate": "Retention rate",
        "expected": "Expected active",
        "lifetime": "Expected remaining lifetime of a new customer: {life:.2f} periods "
        "(over the next {h} periods)",
    },
    "zh": {
        "title": "离网模型：{file} 的 {folds} 折分层交叉验证",
        "rows": "{n:,} 行，{pos:,} 行为 {positive!r}（{rate:.1%}）；{k} 个特征列",
        "ignored": "已忽略：{cols}",
        "measure": "指标",
        "model": "LightGBM（均值 ± 标准差）",
        "baseline": "逻辑回归基线（均值 ± 标准差）",
        "roc_auc": "ROC AUC",
        "pr_auc": "PR AUC",
        "top_decile_lift": "前 10% 提升度",
        "drivers": "最强驱动因素（留出样本的平均 |SHAP|）",
        "feature": "特征",
        "strength": "平均 |贡献|",
        "direction": "方向",
        "more": "越高越易离网",
        "less": "越低越易离网",
        "value": "离网最多：{value}",
        "sbg": "{file} 的移位贝塔几何模型拟合（{n:,} 名客户，{t} 期）",
        "parameter": "参数",
        "estimate": "估计值",
        "interval": "{level:.0%} 置信区间",
        "loglik": "对数似然 {ll:.1f}",
        "period": "期",
        "observed": "实际在网",
        "survival": "预测留存",
        "rate": "留存率",
        "expected": "预计在网",
        "lifetime": "新客户的预期剩余在网期：{life:.2f} 期（未来 {h} 期内）",
    },
}


def _labels(lang: str) -> dict[str, str]:
    return _T.get(lang, _T["en"])


def _clean(value: Any) -> Any:
    """JSON has no NaN: None instead, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


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
) -> None:
    """Cross-validated evaluation of the churn model on any table with a target column."""
    result = evaluate_file(file, target, positive, folds=folds)
    if as_json:
        typer.echo(json.dumps(_clean(result), ensure_ascii=False, indent=2))
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
        typer.echo(json.dumps(_clean(document), ensure_ascii=False, indent=2))
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
