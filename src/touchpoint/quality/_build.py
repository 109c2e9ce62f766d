"""Pipeline step ``survey_quality``: replies classified, reply rates, CSAT (plain and weighted
for non-response) and the peak–end model."""

from __future__ import annotations

import ibis
import pandas as pd

from touchpoint.config import Config
from touchpoint.customers import settings_from_config as customers_settings
from touchpoint.quality._peak_end import (
    PeakEndModel,
    bad_peak_sources,
    contact_peaks,
    peak_end_frame,
)
from touchpoint.quality._satisfaction import (
    reply_cells,
    satisfaction_summary,
    survey_replies,
    weighted_csat_of_cells,
)
from touchpoint.quality._settings import settings_from_config

REPLIES_MART = "mart_survey_replies"
SATISFACTION_MART = "mart_survey_satisfaction"
REPLY_RATES_MART = "mart_survey_reply_rates"
EFFECTS_MART = "mart_peak_end_effects"
SOURCES_MART = "mart_peak_end_sources"
#: Step ``survey_replies``: inputs and output. The replies are written once and read back by
#: ``survey_quality`` (at 1 M customers the join of the surveys with 9.5 M contacts was
#: repeated for each of its five tables and its two in-memory frames).
REPLIES_INPUTS = ("stg_surveys", "stg_contacts", "stg_customers")
#: Step ``survey_quality``: (required, optional) inputs and outputs.
INPUTS = ((REPLIES_MART, "stg_contacts"), ("stg_ivr_events",))
OUTPUTS = (SATISFACTION_MART, REPLY_RATES_MART, EFFECTS_MART, SOURCES_MART)

EFFECTS_SCHEMA = {
    "term": "string",
    "coefficient": "float64",
    "std_error": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "odds_ratio": "float64",
    "n_replies": "int64",
}
#: The columns of the peak-end frame that the model and the bad-peak sources read.
PEAK_END_COLUMNS = (
    "contact_id",
    "contact_channel",
    "business",
    "is_satisfied",
    "is_resolved",
    "duration_seconds",
    "n_repeated_prompts",
    "peak_node_id",
    "has_long_wait",
    "has_bad_peak",
)
#: Fewer classified replies than this: no peak-end model (the mart is left empty).
MIN_REPLIES = 30
#: The resolution of the peak-end model's sample (a hashed contact's place in [0, 1)).
SAMPLE_STEPS = 1_000_000


def _memtable(frame: pd.DataFrame, schema: dict[str, str]) -> ibis.Table:
    if frame.empty:
        return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())
    return ibis.memtable(frame.reindex(columns=list(schema)), schema=ibis.schema(schema))


def quality_tables(
    surveys: ibis.Table,
    contacts: ibis.Table,
    customers: ibis.Table,
    ivr_events: ibis.Table | None,
    config: Config,
) -> dict[str, ibis.Table]:
    """The five marts (see marts.yaml): ``mart_survey_replies`` and, from it,
    :func:`quality_from_replies`'s four."""
    replies = survey_replies(surveys, contacts, customers, customers_settings(config))
    return {REPLIES_MART: replies, **quality_from_replies(replies, contacts, ivr_events, config)}


def quality_from_replies(
    replies: ibis.Table, contacts: ibis.Table, ivr_events: ibis.Table | None, config: Config
) -> dict[str, ibis.Table]:
    """Satisfaction, reply rates and the peak-end marts from the classified ``replies``; the
    reply and peak-end models run in memory on the surveys (one row each), everything else
    stays Ibis."""
    settings = settings_from_config(config)
    by = ("survey_channel", "month")
    summary = satisfaction_summary(replies, by)
    weighted = weighted_csat_of_cells(reply_cells(replies, by).to_pandas(), by)
    weighted_schema = {
        "survey_channel": "string",
        "month": "date",
        "csat_weighted": "float64",
        "csat_weighted_low": "float64",
        "csat_weighted_high": "float64",
        "n_effective": "float64",
    }
    if not weighted.empty:
        weighted["month"] = pd.to_datetime(weighted["month"]).dt.date
    w = _memtable(weighted, weighted_schema).rename(
        survey_channel_w="survey_channel", month_w="month"
    )
    satisfaction = summary.left_join(
        w, (summary.survey_channel == w.survey_channel_w) & (summary.month == w.month_w)
    ).drop("survey_channel_w", "month_w")
    rates = satisfaction_summary(replies, ("survey_channel", "strategy_id", "contact_channel"))
    # The surveyed contacts and the other legs of their hotline calls (the IVR leg gives the
    # wait for the agent).
    surveyed = contacts.semi_join(replies.select("contact_id"), "contact_id")
    calls = surveyed.filter(surveyed.call_id.notnull()).select("call_id").distinct()
    legs = contacts.semi_join(calls, "call_id")
    peaks = contact_peaks(
        ibis.union(surveyed, legs, distinct=True),
        ivr_events,
        ivr_channel=config.hotline_channel("ivr"),
        agent_channel=config.hotline_channel("agent"),
        long_wait_seconds=settings.long_wait_seconds,
        bad_peak_prompts=settings.bad_peak_prompts,
    )
    pe = peak_end_frame(replies, peaks).select(*PEAK_END_COLUMNS)
    channels = list(settings.peak_end_channels or (config.hotline_channel("agent"),))
    model_rows = _peak_end_model_rows(replies, pe, channels, settings.max_peak_end_rows)
    effects = (
        PeakEndModel().fit(model_rows).effects()
        if len(model_rows) >= MIN_REPLIES and model_rows.is_satisfied.nunique() == 2
        else pd.DataFrame()
    )
    return {
        SATISFACTION_MART: satisfaction,
        REPLY_RATES_MART: rates,
        EFFECTS_MART: _memtable(effects, EFFECTS_SCHEMA),
        SOURCES_MART: bad_peak_sources(pe),
    }


def _peak_end_model_rows(
    replies: ibis.Table, frame: ibis.Table, channels: list[str], max_rows: int
) -> pd.DataFrame:
    """The rows the peak-end model is fitted on: ``frame``'s classified replies about a
    contact in ``channels``; past ``max_rows`` of them, a sample of about ``max_rows``
    (those whose hashed ``contact_id`` lies below the share, decided in the warehouse),
    so the driver holds at most that many rows whatever the number of surveys. Counted on
    ``replies`` alone (the join with the peaks only drops replies whose contact is
    unknown). The join runs again for the sources, in the warehouse: reading it once, as
    before, held a row per reply in memory."""
    r = replies.filter(replies.is_satisfied.notnull(), replies.contact_channel.isin(channels))
    n = int(r.count().to_pyarrow().as_py())
    rows = frame.filter(frame.contact_channel.isin(channels))
    if n > max_rows:
        share = max_rows / n
        key = (rows.contact_id.hash() % SAMPLE_STEPS).abs().cast("float64") / SAMPLE_STEPS
        rows = rows.filter(key < share)
    return rows.drop("contact_id").to_pandas()


def build_replies(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``survey_replies``: every survey sent with its reply classified."""
    surveys, contacts, customers = (tables[name] for name in REPLIES_INPUTS)
    return {REPLIES_MART: survey_replies(surveys, contacts, customers, customers_settings(config))}


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``survey_quality`` (see :func:`quality_from_replies`)."""
    return quality_from_replies(
        tables[REPLIES_MART], tables["stg_contacts"], tables.get("stg_ivr_events"), config
    )
