"""``touchpoint campaign uplift``: whom to treat next, learnt from a finished randomised round.

Thin adapter over :func:`touchpoint.campaigns.whom_to_treat_next`. Reads the campaign's
assignment (``campaign_assignments``), the 360 and the payments; writes, in one transaction,
``campaign_uplift_scores`` (one row per customer of the next audience) and
``campaign_uplift_comparison`` (one row per strategy), replacing the campaign's earlier rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import typer

from touchpoint.campaigns import (
    ASSIGNMENTS_TABLE,
    OUTCOME,
    STRATUM_COLUMN,
    TREATMENT,
    CampaignError,
    campaign_settings_from_config,
    is_global_holdout,
    select_audience,
    uplift_features,
    uplift_outcomes,
    whom_to_treat_next,
)
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    console,
)
from touchpoint.cli.campaign_cmd import _definition, _table, campaign_app
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

SCORES_TABLE = "campaign_uplift_scores"
COMPARISON_TABLE = "campaign_uplift_comparison"


def said(key: str, lang: str, **values: object) -> str:
    """A message of this command, from ``labels/locales/uplift.yaml``, in ``lang``."""
    return text(f"uplift.{key}", lang, **values)


def _arrow(frame) -> pa.Table:
    """``frame`` with the warehouse's types: months as dates, times in microseconds."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            kind = pa.date32() if field.name.endswith("_month") else pa.timestamp("us")
            table = table.set_column(i, field.name, table.column(i).cast(kind))
    return table


def _next_audience(con, campaign, settings, assignment):
    """The campaign's audience in the 360's latest month, as ``campaign create`` draws it,
    without the customers this campaign already treated."""
    c360, membership = con.table("mart_customer_360"), _table(con, "mart_tag_membership")
    audience = select_audience(c360, campaign, membership=membership)
    audience = audience.filter(
        ~is_global_holdout(
            audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
        )
    )
    if settings.policy.sensitive == "exclude" and membership is not None:
        sensitive = membership.filter(membership.tag_id == settings.policy.sensitive_tag)
        audience = audience.anti_join(sensitive, "customer_id")
    treated = assignment.filter(assignment.group == TREATMENT)
    return audience.anti_join(treated, "customer_id").select("customer_id")


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
    up = settings.uplift
    now = dt.datetime.now().replace(microsecond=0)
    with open_warehouse(warehouse, write=True) as con:
        _, campaign = _definition(con, campaign_id)
        if campaign.action not in OUTCOME:
            raise CampaignError(
                f"campaign {campaign_id!r}: uplift is learnt for {', '.join(OUTCOME)} so far, "
                f"not {campaign.action}"
            )
        a = con.table(ASSIGNMENTS_TABLE)
        a = a.filter(a.campaign_id == campaign_id)
        baseline = pd.Timestamp(a.audience_month.min().execute()).date()
        c360, payments = con.table("mart_customer_360"), con.table("stg_payments")
        latest = pd.Timestamp(c360.month.max().execute()).date()
        if latest <= baseline:
            raise CampaignError(said("no_outcome", lang, campaign=campaign_id, month=baseline))
        patterns = (*up.features, STRATUM_COLUMN[campaign.action])
        outcomes = uplift_outcomes(
            a,
            payments,
            ibis.literal(baseline),
            store_channels=settings.store_channels,
            destinations=settings.self_service_payment_channels,
        )
        learn = (
            uplift_features(c360, a, ibis.literal(baseline), patterns)
            .join(outcomes, "customer_id")
            .order_by("customer_id")
            .to_pandas()
        )
        nxt = _next_audience(con, campaign, settings, a)
        next_features = (
            uplift_features(c360, nxt, ibis.literal(latest), patterns)
            .order_by("customer_id")
            .to_pandas()
        )
        result = whom_to_treat_next(
            learn,
            next_features,
            campaign.action,
            up,
            cost_difference_yuan=settings.moved_cost_difference_yuan.get(campaign.action, 0.0),
            order_cost_yuan=settings.work_order_cost_yuan.get(campaign.channels[0], 0.0),
            max_orders=max_orders,
        )
        stamp = {"learnt_month": pd.Timestamp(baseline), "scored_at": pd.Timestamp(now)}
        scores = _arrow(
            result.scores.assign(
                campaign_id=campaign_id, scored_month=pd.Timestamp(latest), **stamp
            )
        )
        comparison = _arrow(result.comparison.assign(campaign_id=campaign_id, **stamp))
        load_atomically(
            con,
            deletes=[
                Delete(SCORES_TABLE, "campaign_id", (campaign_id,)),
                Delete(COMPARISON_TABLE, "campaign_id", (campaign_id,)),
            ],
            inserts=[Insert(SCORES_TABLE, scores), Insert(COMPARISON_TABLE, comparison)],
        )
    if csv is not None:
        pa_csv.write_csv(scores, csv)
    picked = result.scores[result.scores.selected]
    summary = {
        "campaign_id": campaign_id,
        "learnt_month": baseline,
        "n_learnt": result.n_learnt,
        "learnt_ate": result.learnt_ate,
        "outcome": OUTCOME[campaign.action],
        "learner": up.learner,
        "folds": up.folds,
        "scored_month": latest,
        "n_scored": len(result.scores),
        "n_selected": len(picked),
        "expected_saving_yuan": float(picked.expected_saving_yuan.sum()),
    }
    comparison_rows = result.comparison.to_dict("records")
    if as_json:
        print_json(
            {
                **summary,
                "comparison": comparison_rows,
                "qini_curves": result.curves.to_dict("records"),
            }
        )
        return
    console.print(
        said(
            "learnt",
            lang,
            campaign=campaign_id,
            n=result.n_learnt,
            month=baseline,
            ate=result.learnt_ate,
            outcome=OUTCOME[campaign.action],
            folds=up.folds,
            learner=up.learner.upper(),
        )
    )
    for row in comparison_rows:
        row["strategy_label"] = said(f"strategy_{row['strategy']}", lang)
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
            month=latest,
            n=len(result.scores),
            selected=len(picked),
            saving=summary["expected_saving_yuan"],
            per_order=summary["expected_saving_yuan"] / max(len(picked), 1),
            table=SCORES_TABLE,
        )
    )
    if csv is not None:
        console.print(said("csv_written", lang, n=scores.num_rows, path=Path(csv)))
