"""Survey strategies: which contacts of a day get a satisfaction survey, and through what.

A strategy (seed 004) is declared in YAML. Its **dimensions** (time window, customer level,
contact channel, business, contact outcome, region) are combined by intersection: a contact
is eligible when it satisfies every dimension the strategy names. The **rules** inside one
dimension are combined by union: ``customer_level: [gold, diamond]`` takes either level,
``time_window: [{from: "09:00", to: "12:00"}, {from: "14:00", to: "18:00"}]`` either window.
A dimension left out does not restrict. **Exclusions** then remove customers surveyed within
N days, customers carrying an excluded tag (e.g. ``sensitive_customer``) and customers on the
do-not-disturb list; each customer is surveyed at most once a day (about their last eligible
contact); and the **daily quota** keeps the eligible contacts with the smallest hash of
``seed | contact_id`` — a reproducible sample: the same inputs and seed give the same list,
and raising the quota only adds contacts.

>>> s = strategy_from_text('''
... id: agent_sms
... survey_channel: sms
... daily_quota: 100
... dimensions:
...   channel: [hotline_agent]
...   customer_level: [gold, diamond]
... ''')
>>> s.dimensions.customer_level
('gold', 'diamond')
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from touchpoint.config.positions import yaml_with_positions
from touchpoint.errors import ConfigError

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class StrategyError(ConfigError):
    """A survey strategy file that cannot be used; the message names file, line and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TimeWindow(_Model):
    """Contacts that ended in ``[from, to)`` local time of day (``to`` may be ``24:00``)."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _TIME.match(value) or (value.startswith("24") and value != "24:00"):
            raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.minutes(self.start) >= self.minutes(self.end):
            raise ValueError(f"from {self.start} must come before to {self.end}")
        return self

    @staticmethod
    def minutes(hh_mm: str) -> int:
        h, m = hh_mm.split(":")
        return int(h) * 60 + int(m)


_Values = tuple[str, ...]


class Dimensions(_Model):
    """Each dimension a union of rules; the dimensions intersected. ``None``: no restriction."""

    time_window: tuple[TimeWindow, ...] | None = None
    customer_level: _Values | None = None
    channel: _Values | None = None
    business: _Values | None = None
    outcome: _Values | None = None
    region: _Values | None = None

    @field_validator("*")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if value is not None and len(value) == 0:
            raise ValueError("an empty list selects nothing; leave the dimension out instead")
        return value


class Exclusions(_Model):
    """Who is never surveyed, whatever the dimensions say."""

    surveyed_within_days: int | None = Field(default=None, ge=1, le=3650)
    tags: _Values = ()
    do_not_disturb: bool = True


class Strategy(_Model):
    """One survey strategy (see the module docstring)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    survey_channel: Literal["sms", "ivr"]
    daily_quota: int = Field(ge=0)
    seed: str = "touchpoint"
    dimensions: Dimensions = Dimensions()
    exclude: Exclusions = Exclusions()


# -- reading -----------------------------------------------------------------------------


def _node_at(node: yaml.Node | None, loc: tuple[Any, ...], key: bool = False) -> yaml.Node | None:
    """The YAML node a pydantic error location points at (the deepest one that exists);
    with ``key``, the last mapping key rather than its value."""
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            if nxt is None or (key and i == len(loc) - 1):
                key = next((k for k, _ in node.value if k.value == part), None)
                return key or node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


#: Dimensions whose values must be ids of a configured vocabulary (regions are display-only
#: in the configuration, so any region is accepted).
VOCABULARY_OF = {
    "customer_level": "value_tier",
    "channel": "channel",
    "business": "business",
    "outcome": "outcome",
}


def strategy_from_text(text: str, source: str = "strategy", config: Any = None) -> Strategy:
    """Parse and validate a strategy; every problem in one :class:`StrategyError`.

    Each problem reads ``<source>: line L, column C: <field path>: <reason>``. With a
    :class:`~touchpoint.config.Config`, a dimension value that is not an id of its vocabulary
    (``channel: [hotline_agent]`` where the channel is ``agent``) is a problem too: it would
    silently select nobody.
    """
    data, root = yaml_with_positions(text, source, StrategyError)
    if not isinstance(data, dict):
        raise StrategyError(
            f"{source}: line 1, column 1: expected a mapping with id, "
            "survey_channel, daily_quota and dimensions"
        )
    try:
        strategy = Strategy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-after"))
            node = _node_at(root, loc, key=err["type"] == "extra_forbidden")
            mark = node.start_mark if node is not None else None
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            field = ".".join(str(p) for p in loc) or "(top)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {where}{field}: {msg}")
        raise StrategyError("\n".join(problems)) from None
    if config is not None:
        problems = []
        for dim, vocabulary in VOCABULARY_OF.items():
            known = set(config.ids(vocabulary))
            for i, value in enumerate(getattr(strategy.dimensions, dim) or ()):
                if value not in known:
                    mark = _node_at(root, ("dimensions", dim, i)).start_mark
                    problems.append(
                        (
                            mark.line,
                            mark.column,
                            f"{source}: line {mark.line + 1}, column {mark.column + 1}: "
                            f"dimensions.{dim}.{i}: {value!r} is not a configured {vocabulary}; "
                            f"use one of: {', '.join(sorted(known))}",
                        )
                    )
        if problems:
            raise StrategyError("\n".join(p[2] for p in sorted(problems)))
    return strategy


def load_strategy(path: str | Path, config: Any = None) -> Strategy:
    """Read a strategy file (see :func:`strategy_from_text`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StrategyError(f"{p}: survey strategy file not found") from None
    return strategy_from_text(text, str(p), config)


# -- selection ---------------------------------------------------------------------------


def _minute_of_day(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.hour().cast("int64") * 60 + ts.minute().cast("int64")


def eligible_contacts(
    contacts: ir.Table, customers: ir.Table, strategy: Strategy, day: dt.date
) -> ir.Table:
    """The day's contacts that satisfy every dimension of ``strategy`` (no exclusions yet).

    One row per contact that ended on ``day``: ``contact_id, customer_id, ended_at, channel,
    business, outcome, region, value_tier``. The contact's ``region`` is used, or the
    customer's when the contact has none.
    """
    start = ibis.timestamp(dt.datetime.combine(day, dt.time()))
    end = ibis.timestamp(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    c = contacts.filter(contacts.ended_at >= start, contacts.ended_at < end)
    cu = customers.select("customer_id", value_tier="value_tier", customer_region="region")
    j = c.left_join(cu, "customer_id")
    contact_region = j.region if "region" in contacts.columns else ibis.null("string")
    t = j.select(
        "contact_id",
        "customer_id",
        "ended_at",
        "channel",
        "business",
        "outcome",
        region=contact_region.fill_null(j.customer_region),
        value_tier=j.value_tier,
    )
    d = strategy.dimensions
    conditions = []
    if d.time_window is not None:
        m = _minute_of_day(t.ended_at)
        windows = [
            (m >= TimeWindow.minutes(w.start)) & (m < TimeWindow.minutes(w.end))
            for w in d.time_window
        ]
        conditions.append(ibis.or_(*windows))
    for dim, column in (
        ("customer_level", "value_tier"),
        ("channel", "channel"),
        ("business", "business"),
        ("outcome", "outcome"),
        ("region", "region"),
    ):
        values = getattr(d, dim)
        if values is not None:
            conditions.append(t[column].isin(list(values)).fill_null(False))
    return t.filter(*conditions) if conditions else t


def select_surveys(
    contacts: ir.Table,
    customers: ir.Table,
    strategy: Strategy,
    day: dt.date,
    *,
    past_surveys: ir.Table | None = None,
    tag_membership: ir.Table | None = None,
    do_not_disturb: ir.Table | None = None,
) -> ir.Table:
    """The day's survey list under ``strategy``.

    Parameters
    ----------
    contacts, customers
        ``stg_contacts`` and ``stg_customers`` (or tables with their columns).
    past_surveys
        ``stg_surveys``: customers sent a survey in the ``surveyed_within_days`` days before
        ``day`` are excluded.
    tag_membership
        ``mart_tag_membership``: customers carrying an excluded tag in the latest month at or
        before ``day`` are excluded.
    do_not_disturb
        A table with ``customer_id``: excluded when ``exclude.do_not_disturb`` is true.

    Returns
    -------
    ibis.Table
        One row per surveyed contact (at most one per customer, at most ``daily_quota``):
        ``survey_date, strategy_id, survey_channel, contact_id, customer_id, ended_at,
        channel, business, outcome, region, value_tier, sample_rank`` (1 = first drawn).
    """
    t = eligible_contacts(contacts, customers, strategy, day)
    ex = strategy.exclude
    if ex.surveyed_within_days is not None and past_surveys is not None:
        since = ibis.timestamp(
            dt.datetime.combine(day - dt.timedelta(days=ex.surveyed_within_days), dt.time())
        )
        until = ibis.timestamp(dt.datetime.combine(day, dt.time()))
        recent = past_surveys.filter(
            past_surveys.sent_at >= since, past_surveys.sent_at < until
        ).select("customer_id")
        t = t.anti_join(recent, "customer_id")
    if ex.tags and tag_membership is not None:
        month_start = dt.date(day.year, day.month, 1)
        m = tag_membership.filter(tag_membership.month <= month_start)
        latest = m.month.max().as_scalar()
        flagged = m.filter(m.tag_id.isin(list(ex.tags)), m.month == latest).select("customer_id")
        t = t.anti_join(flagged, "customer_id")
    if ex.do_not_disturb and do_not_disturb is not None:
        t = t.anti_join(do_not_disturb.select("customer_id"), "customer_id")
    # One survey per customer and day: about the customer's last eligible contact.
    last = ibis.row_number().over(
        group_by=t.customer_id, order_by=[ibis.desc(t.ended_at), t.contact_id]
    )
    t = t.mutate(_last=last).filter(lambda x: x._last == 0).drop("_last")
    # The quota: the smallest hashes of seed|contact_id (ties broken by contact_id).
    # (a top-N, not a rank over every eligible contact: no engine sorts them all)
    t = t.mutate(_h=(ibis.literal(strategy.seed + "|") + t.contact_id).hash())
    t = t.order_by([t._h, t.contact_id]).limit(strategy.daily_quota)
    t = t.mutate(sample_rank=ibis.row_number().over(order_by=[t._h, t.contact_id]) + 1)
    return t.select(
        survey_date=ibis.literal(day, "date"),
        strategy_id=ibis.literal(strategy.id),
        survey_channel=ibis.literal(strategy.survey_channel),
        contact_id=t.contact_id,
        customer_id=t.customer_id,
        ended_at=t.ended_at,
        channel=t.channel,
        business=t.business,
        outcome=t.outcome,
        region=t.region,
        value_tier=t.value_tier,
        sample_rank=t.sample_rank.cast("int64"),
    ).order_by("sample_rank")
