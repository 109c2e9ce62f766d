"""``touchpoint segments`` and ``touchpoint lifecycle``: the segment and lifecycle marts; and
the customer card's behaviour section (segment, lifecycle stage, churn risk and reasons)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import RenderableType
from rich.table import Table

from touchpoint import segments
from touchpoint.churn import churn_settings_from_config, customer_churn
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
)
from touchpoint.cli.common import Column, number_cell, open_warehouse, percent_cell, show_rows
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext, CardSection
from touchpoint.config import load_config
from touchpoint.labels import format_percent, translate

segments_app = typer.Typer(help="Behavioural segments of customers.", no_args_is_help=True)
lifecycle_app = typer.Typer(help="Lifecycle stages of customers.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")
app.add_typer(lifecycle_app, name="lifecycle")


def _t(key: str, lang: str) -> str:
    return translate(f"segments.{key}", lang)


@segments_app.command("list")
def list_segments(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """The segments: name, what sets each apart, size and plain means (latest month)."""
    with open_warehouse(warehouse) as con:
        result = segments.segment_profiles(con, lang)
    t = lambda k: _t(k, lang)  # noqa: E731
    show_rows(
        result,
        [
            Column("segment", t("segment")),
            Column("name", t("name")),
            Column("description", t("description")),
            Column("n_customers", t("customers"), number_cell(lang, 0), "right"),
            Column("share", t("share"), percent_cell(lang), "right"),
            Column("mean_arpu_yuan", t("arpu"), number_cell(lang, 1), "right"),
            Column("mean_contacts_3m", t("contacts"), number_cell(lang, 1), "right"),
            Column("digital_share_3m", t("digital"), percent_cell(lang), "right"),
            Column("mean_tenure_months", t("tenure"), number_cell(lang, 1), "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t("no_rows"),
    )


@segments_app.command("migration")
def migration(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Customers moving between segments from the second-to-last month into the last."""
    with open_warehouse(warehouse) as con:
        result = segments.segment_migration(con)
    t = lambda k: _t(k, lang)  # noqa: E731
    show_rows(
        result,
        [
            Column("from_month", t("from_month")),
            Column("from_segment", t("from_segment")),
            Column("to_segment", t("to_segment")),
            Column("n_customers", t("customers"), number_cell(lang, 0), "right"),
            Column("share", t("share"), percent_cell(lang), "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t("no_rows"),
    )


@segments_app.command("stability")
def stability(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Month to month: the share keeping their segment, and the ARI between refits."""
    with open_warehouse(warehouse) as con:
        result = segments.segment_stability(con)
    t = lambda k: _t(k, lang)  # noqa: E731
    show_rows(
        result,
        [
            Column("from_month", t("from_month")),
            Column("to_month", t("to_month")),
            Column("n_customers", t("customers"), number_cell(lang, 0), "right"),
            Column("share_kept", t("kept"), percent_cell(lang), "right"),
            Column("refit_ari", t("refit_ari"), number_cell(lang, 3), "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t("no_rows"),
    )


@lifecycle_app.command("stages")
def stages(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """The latest month's customers by lifecycle stage, with the recommended action."""
    settings = segments.lifecycle_settings_from_config(load_config(config))
    with open_warehouse(warehouse) as con:
        result = segments.lifecycle_summary(con, settings, lang)
    t = lambda k: _t(k, lang)  # noqa: E731
    show_rows(
        result,
        [
            Column("name", t("stage")),
            Column("n_customers", t("customers"), number_cell(lang, 0), "right"),
            Column("share", t("share"), percent_cell(lang), "right"),
            Column("action", t("action")),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t("no_rows"),
    )


@lifecycle_app.command("transitions")
def transitions(
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Stage flows from the second-to-last month into the last."""
    settings = segments.lifecycle_settings_from_config(load_config(config))
    with open_warehouse(warehouse) as con:
        result = segments.lifecycle_transitions_latest(con)
    t = lambda k: _t(k, lang)  # noqa: E731

    def stage(v: Any, row: dict) -> str:
        return getattr(settings.stages[v], f"name_{lang}") if v in settings.stages else str(v)

    show_rows(
        result,
        [
            Column("from_month", t("from_month")),
            Column("from_stage", t("from_stage"), stage),
            Column("to_stage", t("to_stage"), stage),
            Column("n_customers", t("customers"), number_cell(lang, 0), "right"),
            Column("share", t("share"), percent_cell(lang), "right"),
        ],
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=t("no_rows"),
    )


# ---- the customer card's behaviour section -------------------------------------------------
def collect_behaviour(ctx: CardContext) -> dict[str, Any] | None:
    """Segment and stage (touchpoint.segments) and the churn risk with its top reasons."""
    data = segments.customer_behaviour(ctx.con, ctx.customer_id) or {}
    data |= customer_churn(ctx.con, ctx.customer_id) or {}
    if "stage" in data:
        stage = segments.lifecycle_settings_from_config(ctx.config).stages[data["stage"]]
        data["stage_name"] = getattr(stage, f"name_{ctx.lang}")
        data["action"] = getattr(stage, f"action_{ctx.lang}")
    return data or None


def render_behaviour(data: dict[str, Any], ctx: CardContext) -> RenderableType:
    lang = ctx.lang
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if "segment" in data:
        name = data.get(f"name_{lang}", str(data["segment"]))
        grid.add_row(_t("card_segment", lang), f"{name} — {data.get(f'description_{lang}', '')}")
    if "stage" in data:
        grid.add_row(_t("card_stage", lang), data["stage_name"])
        grid.add_row(_t("card_action", lang), data["action"])
    if "churn_probability" in data:
        decile = _t("card_decile", lang).format(decile=data["risk_decile"])
        grid.add_row(
            _t("card_risk", lang), f"{format_percent(data['churn_probability'], lang)} ({decile})"
        )
        reasons = churn_settings_from_config(ctx.config).reasons
        names = [
            getattr(reasons[r], f"name_{lang}") if r in reasons else r
            for r in data.get("reasons", [])
        ]
        grid.add_row(_t("card_reasons", lang), ", ".join(names) or "–")
    return grid


CARD_SECTIONS.append(CardSection("behaviour", collect_behaviour, render_behaviour))
