"""``touchpoint campaign uplift``: whom to treat next, learnt from a finished randomised round.

Thin adapter over :func:`touchpoint.campaigns.uplift_campaign`, which reads the campaign's
round, learns, compares the strategies and picks; this command hands it the one transaction
that replaces the campaign's rows of ``campaign_uplift_scores`` (one row per customer of the
next audience), ``campaign_uplift_comparison`` (one row per strategy) and
``campaign_uplift_curves`` (the Qini curves the report draws), and renders the result.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import pyarrow.csv as pa_csv
import typer

from touchpoint.campaigns import (
    UPLIFT_SCORES_TABLE,
    CampaignError,
    NoOutcomeYet,
    campaign_settings_from_config,
    uplift_campaign,
)
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    console,
)
from touchpoint.cli.campaign_cmd import campaign_app
from touchpoint.cli.common import (
    Column,
    number_cell,
    open_warehouse,
    percent_cell,
    print_json,
    rows_table,
)
from touchpoint.config import load_config
from touchpoint.labels import text
from touchpoint.warehouse import Delete, Insert, load_atomically


def said(key: str, lang: str, **values: object) -> str:
    """A message of this command, from ``labels/locales/uplift.yaml``, in ``lang``."""
    return text(f"uplift.{key}", lang, **values)


def _replacer(con, campaign_id: str):
    """The flow's writes, replacing the campaign's earlier rows, in one transaction."""

    def save(writes) -> None:
        load_atomically(
            con,
            deletes=[Delete(table, "campaign_id", (campaign_id,)) for table in writes],
            inserts=[Insert(table, data) for table, data in writes.items()],
        )

    return save


@campaign_app.command("uplift")
def uplift_cmd(
    campaign_id: Annotated[str, typer.Argument(help="A finished campaign with a holdout.")],
    max_orders: Annotated[
        int | None,
        typer.Option("--max-orders", help="Pick at most this many customers.", min=1),
    ] = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
    csv: CsvOption = None,
) -> None:
    """Learn who responds from the campaign's round; score and pick the next audience."""
    settings = campaign_settings_from_config(load_config(config))
    now = dt.datetime.now().replace(microsecond=0)
    with open_warehouse(warehouse, write=True) as con:
        try:
            result = uplift_campaign(
                con,
                campaign_id,
                now,
                settings=settings,
                save=_replacer(con, campaign_id),
                max_orders=max_orders,
            )
        except NoOutcomeYet as e:
            raise CampaignError(
                said("no_outcome", lang, campaign=e.campaign_id, month=e.month)
            ) from None
    if csv is not None:
        pa_csv.write_csv(result.scores, csv)
    if as_json:
        print_json(result.to_json())
        return
    console.print(
        said(
            "learnt",
            lang,
            campaign=campaign_id,
            n=result.n_learnt,
            month=result.learnt_month,
            ate=result.learnt_ate,
            outcome=result.outcome,
            folds=result.folds,
            learner=result.learner.upper(),
        )
    )
    comparison_rows = [
        {**row, "strategy_label": said(f"strategy_{row['strategy']}", lang)}
        for row in result.comparison
    ]
    columns = [
        Column("strategy_label", said("col_strategy", lang)),
        Column("qini_auc", said("col_qini", lang), number_cell(lang, 3), "right"),
        Column("auuc", said("col_auuc", lang), number_cell(lang, 3), "right"),
        Column("share_treated", said("col_share_treated", lang), percent_cell(lang, 0), "right"),
        Column("n_orders", said("col_n_orders", lang), number_cell(lang, 0), "right"),
        Column("uplift_at_share", said("col_uplift_at_share", lang), number_cell(lang, 3), "right"),
        Column(
            "saving_per_order_yuan",
            said("col_saving_per_order", lang),
            number_cell(lang, 2),
            "right",
        ),
        Column("saving_yuan", said("col_saving", lang), number_cell(lang, 0), "right"),
    ]
    console.print(rows_table(comparison_rows, columns, lang))
    console.print(
        said(
            "picked",
            lang,
            month=result.scored_month,
            n=result.n_scored,
            selected=result.n_selected,
            saving=result.expected_saving_yuan,
            per_order=result.expected_saving_yuan / max(result.n_selected, 1),
            table=UPLIFT_SCORES_TABLE,
        )
    )
    if csv is not None:
        console.print(said("csv_written", lang, n=result.scores.num_rows, path=Path(csv)))
