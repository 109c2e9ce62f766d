"""Service quality: survey strategies, satisfaction measured honestly, peak–end (issue 16).

- **Survey strategies** (seed 004): :func:`load_strategy` reads a YAML strategy (dimensions
  intersected, rules inside a dimension unioned, exclusions, a daily quota, SMS or IVR);
  :func:`select_surveys` gives the day's survey list (``touchpoint survey select``).

- **Satisfaction**: :func:`survey_replies` classifies every reply (the share left
  unclassified is kept), :func:`satisfaction_summary` gives reply rates and CSAT with a
  Wilson interval, :func:`weighted_csat` weights replies by the inverse of a reply model's
  probability (:class:`ReplyModel`) for who does not reply.
- **Peak–end**: :func:`contact_peaks` (wait for the agent, repeated prompts, the node, the
  end), :class:`PeakEndModel` (logistic regression), :func:`bad_peak_sources`.
- Step ``survey_replies`` writes ``mart_survey_replies``; step ``survey_quality`` reads it and
  writes ``mart_survey_satisfaction``, ``mart_survey_reply_rates``, ``mart_peak_end_effects``
  and ``mart_peak_end_sources``.

docs/quality.md describes the methods and the measured figures.
"""

from touchpoint.capability import Step
from touchpoint.quality._build import (
    EFFECTS_MART,
    INPUTS,
    OUTPUTS,
    REPLIES_INPUTS,
    REPLIES_MART,
    REPLY_RATES_MART,
    SATISFACTION_MART,
    SOURCES_MART,
    build,
    build_replies,
    quality_from_replies,
    quality_tables,
)
from touchpoint.quality._peak_end import (
    TERMS,
    PeakEndModel,
    bad_peak_sources,
    contact_peaks,
    peak_end_frame,
)
from touchpoint.quality._queries import (
    MIN_CONTACTS,
    bad_peak_places,
    customer_surveys,
    peak_end_effects,
    reply_rates,
    satisfaction_by_month,
    satisfaction_overall,
)
from touchpoint.quality._satisfaction import (
    REPLY_FEATURES,
    UNCLASSIFIED,
    ReplyModel,
    customer_recent_replies,
    reply_cells,
    satisfaction_summary,
    survey_replies,
    weighted_csat,
    weighted_csat_of_cells,
    wilson_interval,
)
from touchpoint.quality._settings import QualitySettings, settings_from_config
from touchpoint.quality._strategy import (
    Dimensions,
    Exclusions,
    Strategy,
    StrategyError,
    TimeWindow,
    eligible_contacts,
    load_strategy,
    select_surveys,
    strategy_from_text,
)

STEPS = (
    Step(
        "survey_replies",
        inputs=REPLIES_INPUTS,
        outputs=(REPLIES_MART,),
        build=build_replies,
        description="every survey sent with its reply classified and the contact asked about",
    ),
    Step(
        "survey_quality",
        inputs=INPUTS[0],
        optional=INPUTS[1],
        outputs=OUTPUTS,
        build=build,
        description="survey replies classified, reply rates, CSAT (plain and non-response "
        "weighted), peak-end model",
        in_memory=True,
    ),
)

__all__ = [
    "MIN_CONTACTS",
    "bad_peak_places",
    "customer_surveys",
    "peak_end_effects",
    "reply_rates",
    "satisfaction_by_month",
    "satisfaction_overall",
    "EFFECTS_MART",
    "INPUTS",
    "OUTPUTS",
    "REPLIES_MART",
    "REPLY_FEATURES",
    "REPLY_RATES_MART",
    "SATISFACTION_MART",
    "SOURCES_MART",
    "STEPS",
    "TERMS",
    "UNCLASSIFIED",
    "PeakEndModel",
    "QualitySettings",
    "ReplyModel",
    "bad_peak_sources",
    "build",
    "contact_peaks",
    "customer_recent_replies",
    "peak_end_frame",
    "quality_from_replies",
    "quality_tables",
    "reply_cells",
    "satisfaction_summary",
    "settings_from_config",
    "survey_replies",
    "weighted_csat",
    "weighted_csat_of_cells",
    "wilson_interval",
    "Dimensions",
    "Exclusions",
    "Strategy",
    "StrategyError",
    "TimeWindow",
    "eligible_contacts",
    "load_strategy",
    "select_surveys",
    "strategy_from_text",
]
