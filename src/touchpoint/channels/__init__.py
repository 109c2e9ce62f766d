"""Channel analytics: volume, reach, cost and mix by channel; repeats, first-contact resolution
and IVR -> agent escalation, as docs/metrics.md defines them.

Pure Ibis functions over the warehouse tables ``stg_contacts``, ``stg_customers`` and
``stg_ivr_events``; the pipeline materialises two daily cubes (``mart_channels_volume_daily``,
``mart_channels_calls_daily``) and then the marts built on them (``mart_channels_*``).

>>> import ibis, datetime as dt
>>> from touchpoint.config import load_config
>>> from touchpoint.channels import build
>>> t0 = dt.datetime(2024, 3, 1, 9, 0)
>>> contacts = ibis.memtable({
...     "contact_id": ["c1", "c2"], "customer_id": ["u1", "u1"],
...     "started_at": [t0, t0 + dt.timedelta(hours=2)],
...     "ended_at": [t0 + dt.timedelta(minutes=3), t0 + dt.timedelta(hours=2, minutes=5)],
...     "channel": ["web", "store"], "business": ["payment", "payment"],
...     "outcome": ["unresolved", "resolved"], "region": ["north", "north"],
...     "call_id": ["", ""]})
>>> marts = build({"stg_contacts": contacts}, load_config())
>>> marts["mart_channels_kpis"].to_pyarrow()["repeat_contact_rate"].to_pylist()
[0.5]
"""

from touchpoint.capability import Step
from touchpoint.channels._build import (
    CALLS_CUBE,
    ESCALATION_MARTS,
    KPI_MARTS,
    KPIS_MART,
    REPEATS_MART,
    TOTALS_MART,
    VOLUME_CUBE,
    build,
    build_calls_cube,
    build_cubes,
    build_escalation,
    build_kpi_marts,
    build_marts,
    build_volume_cube,
    kpis_for,
)
from touchpoint.channels._calls import call_volume, hotline_call_facts, last_ivr_events
from touchpoint.channels._contacts import (
    DIMENSIONS,
    channel_costs,
    clean_contacts,
    contact_facts,
    contact_volume,
    enrich_contacts,
    flag_repeats,
)
from touchpoint.channels._headline import headline_document
from touchpoint.channels._kpis import (
    PERIODS,
    channel_kpis,
    channel_kpis_all_dimensions,
    channel_totals,
)
from touchpoint.channels._queries import ChannelsOverview, channel_kpi_rows, headline, overview
from touchpoint.channels._reach import channel_reach
from touchpoint.channels._settings import (
    ChannelsSettings,
    load_channels_settings,
    settings_from_config,
)
from touchpoint.channels._summary import (
    dialling_summary,
    escalation_summary,
    headline_kpis,
    repeat_summary,
)

__all__ = [
    "ChannelsOverview",
    "overview",
    "channel_kpi_rows",
    "headline",
    "CALLS_CUBE",
    "DIMENSIONS",
    "ESCALATION_MARTS",
    "KPIS_MART",
    "KPI_MARTS",
    "PERIODS",
    "STEPS",
    "REPEATS_MART",
    "TOTALS_MART",
    "VOLUME_CUBE",
    "ChannelsSettings",
    "build",
    "build_calls_cube",
    "build_cubes",
    "build_escalation",
    "build_kpi_marts",
    "build_marts",
    "build_volume_cube",
    "call_volume",
    "channel_costs",
    "channel_kpis",
    "channel_kpis_all_dimensions",
    "channel_reach",
    "channel_totals",
    "clean_contacts",
    "contact_facts",
    "contact_volume",
    "dialling_summary",
    "enrich_contacts",
    "escalation_summary",
    "flag_repeats",
    "headline_document",
    "headline_kpis",
    "hotline_call_facts",
    "kpis_for",
    "last_ivr_events",
    "load_channels_settings",
    "repeat_summary",
    "settings_from_config",
]

#: The pipeline steps of the channel analytics (``touchpoint.pipeline`` orders and runs them).
STEPS = (
    Step(
        "channels_cubes",
        inputs=("stg_contacts",),
        optional=("stg_customers",),
        outputs=(VOLUME_CUBE,),
        build=build_volume_cube,
        description="daily contact volume cube: contacts, repeats, cost by channel and dimension",
    ),
    Step(
        "channels_calls_cube",
        inputs=("stg_contacts", "stg_ivr_events"),
        outputs=(CALLS_CUBE,),
        build=build_calls_cube,
        description="daily hotline-call cube: calls ended in the IVR, escalations to an agent",
    ),
    Step(
        "channels",
        inputs=(VOLUME_CUBE, "stg_contacts"),
        optional=("stg_customers", CALLS_CUBE),
        outputs=(*KPI_MARTS.values(), TOTALS_MART, REPEATS_MART, KPIS_MART),
        build=build_kpi_marts,
        description="channel KPIs by period and dimension, totals, repeats, headline KPIs",
    ),
    Step(
        "channels_escalation",
        inputs=(CALLS_CUBE,),
        outputs=tuple(ESCALATION_MARTS.values()),
        build=build_escalation,
        description="IVR -> agent escalation by region, business and last IVR node",
    ),
)
