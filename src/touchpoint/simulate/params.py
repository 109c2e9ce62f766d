"""The synthetic operator's parameters: one YAML file with documented defaults, validated."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchpoint.errors import ConfigError

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Model):
    weight: float = Field(gt=0)
    escalation: float = Field(gt=0)
    competitor: float = Field(gt=0)


class Population(_Model):
    brands: dict[str, float]
    tiers_by_brand: dict[str, dict[str, float]]
    arpu_median_yuan: dict[str, float]
    arpu_tier_factor: dict[str, float]
    arpu_sigma: float = Field(gt=0)
    arpu_trend_sigma: float = Field(ge=0)
    arpu_monthly_noise: float = Field(ge=0)
    points_start: tuple[float, float]
    points_per_yuan: tuple[float, float]
    group_key_person_share: float = Field(ge=0, le=1)
    family_plan_share: float = Field(ge=0, le=1)
    sensitive_share: float = Field(ge=0, le=1)
    new_joins_per_month: float = Field(ge=0, le=0.5)
    regions: dict[str, Region]


class Segment(_Model):
    share: float = Field(gt=0)
    arpu: float = Field(gt=0)
    needs: float = Field(ge=0)
    hotline: float = Field(gt=0)
    agent: float = Field(gt=0)
    digital: float = Field(gt=0)
    store: float = Field(gt=0)
    churn: float = Field(ge=0)


class Contacts(_Model):
    needs_per_month: dict[str, float]
    channel_weights: dict[str, dict[str, float]]
    preference_concentration: float = Field(gt=0)
    preference_drift: float = Field(ge=0, le=1)
    resolve_rate: dict[str, float]
    cross_channel_repeat: float = Field(ge=0, le=1)
    hotline_cross_channel_repeat: float = Field(ge=0, le=1)
    duration_seconds: dict[str, float]


class Hotline(_Model):
    redial_after_resolved: float = Field(ge=0, lt=1)
    redial_after_unresolved: float = Field(ge=0, lt=1)
    redial_gap_minutes: float = Field(gt=0)
    max_calls_per_day: int = Field(ge=1)
    redial_zero_out: float = Field(ge=0, le=1)
    agent_queue_seconds: float = Field(ge=0)
    agent_resolve_rate: float = Field(ge=0, le=1)


class Ivr(_Model):
    hang_up: float = Field(ge=0, le=1)
    timeout: float = Field(ge=0, le=1)
    invalid_key: float = Field(ge=0, le=1)
    wrong_turn: float = Field(ge=0, le=1)
    zero_out: float = Field(ge=0, le=1)
    agent_seeker_zero_out: float = Field(ge=0, le=1)
    confusing_nodes: tuple[str, ...]
    confusing_factor: float = Field(ge=1)
    self_service_success: float = Field(ge=0, le=1)
    failed_service_to_agent: float = Field(ge=0, le=1)
    prompt_seconds: float = Field(gt=0)
    key_seconds: float = Field(gt=0)
    timeout_seconds: float = Field(gt=0)
    service_seconds: float = Field(gt=0)


class MenuNode(_Model):
    id: str
    parent: str | None
    key: str | None
    business: str | None
    en: str
    zh: str
    weight: float = 0.0


class Payments(_Model):
    per_month: float = Field(ge=0)
    channel_weights: dict[str, float]
    amount_of_arpu: tuple[float, float]


class Bills(_Model):
    voice_minutes_per_yuan: tuple[float, float]
    data_mb_per_yuan: tuple[float, float]
    sms_per_month: float = Field(ge=0)
    arrears_share: float = Field(ge=0, le=1)
    arrears_of_bill: tuple[float, float]


class Surveys(_Model):
    sms_after_agent: float = Field(ge=0, le=1)
    ivr_after_call: float = Field(ge=0, le=1)
    sms_reply_rate: float = Field(ge=0, le=1)
    ivr_reply_rate: float = Field(ge=0, le=1)
    # Replies are not a random sample: after an unresolved contact a customer replies this
    # many times as often (the channel's mean rate is kept).
    unresolved_reply_factor: float = Field(default=1.0, gt=0)
    # The planted peak-end rule of agent contacts: logit P(satisfied) = intercept
    # + end_resolved * resolved + peak_long_wait * (wait for the agent > long_wait_seconds).
    peak_end_intercept: float = -1.99
    peak_end_resolved: float = 3.38
    peak_end_long_wait: float = -1.19
    long_wait_seconds: float = Field(default=60.0, gt=0)


class Churn(_Model):
    monthly_base: float = Field(ge=0, le=1)
    complaint_factor: float = Field(ge=1)
    unresolved_factor: float = Field(ge=1)
    new_tenure_factor: float = Field(ge=1)
    new_tenure_days: int = Field(ge=0)
    arpu_decline_factor: float = Field(ge=1)
    arpu_decline_below: float = Field(gt=0)
    fault_factor: float = Field(ge=1)
    arrears_factor: float = Field(ge=1)
    reason_floor: float = Field(ge=0)


class Rate(_Model):
    per_month: float = Field(ge=0)
    sensitive_factor: float = Field(default=1.0, ge=1)
    unresolved_factor: float = Field(default=1.0, ge=1)


class Campaigns(_Model):
    offers_per_month: float = Field(ge=0, le=1)
    accept_rate: float = Field(ge=0, le=1)


class Timing(_Model):
    weekend_factor: float = Field(gt=0)
    bill_peak_days: int = Field(ge=0, le=28)
    bill_peak_factor: float = Field(gt=0)
    holidays: dict[dt.date, float]  # day -> factor on that day's contacts


class Action(_Model):
    """A work-order action's planted effect: ``effect`` times the customer's factors."""

    outcome: str
    effect: float = Field(ge=0, le=1)
    noise_sigma: float = Field(ge=0)
    by_age: dict[str, float] = {}
    by_brand: dict[str, float] = {}
    by_segment: dict[str, float] = {}
    destinations_by_age: dict[str, dict[str, float]] = {}


class Annoyance(_Model):
    base: float = Field(ge=0, le=1)
    per_recent_contact: float = Field(ge=0, le=1)
    sensitive: float = Field(ge=0, le=1)
    churn_factor: float = Field(ge=1)
    complaint_factor: float = Field(ge=1)


class Treatments(_Model):
    persistence: float = Field(ge=0, le=1)
    young_under: int = Field(gt=0)
    senior_from: int = Field(gt=0)
    annoyance: Annoyance
    actions: dict[str, Action]


class SimParams(_Model):
    """Every parameter of the simulated world (see ``defaults.yaml`` for what each means)."""

    version: int = Field(ge=1, le=1)
    start_month: dt.date
    chunk_size: int = Field(ge=1)  # customers per block: memory only, never the world
    population: Population
    segments: dict[str, Segment]
    contacts: Contacts
    hotline: Hotline
    ivr: Ivr
    payments: Payments
    bills: Bills
    surveys: Surveys
    churn: Churn
    complaints: Rate
    orders: Rate
    campaigns: Campaigns
    timing: Timing
    treatments: Treatments
    ivr_menu: tuple[MenuNode, ...]

    @model_validator(mode="after")
    def _consistent(self) -> SimParams:
        if self.start_month.day != 1:
            raise ValueError(
                f"start_month must be the first day of a month, got {self.start_month}"
            )
        ids = {node.id for node in self.ivr_menu}
        for node in self.ivr_menu:
            if node.parent is not None and node.parent not in ids:
                raise ValueError(f"ivr_menu: node {node.id!r} has unknown parent {node.parent!r}")
        unknown = set(self.ivr.confusing_nodes) - ids
        if unknown:
            raise ValueError(f"ivr.confusing_nodes: unknown node(s) {sorted(unknown)}")
        missing = set(self.contacts.needs_per_month) - set(self.contacts.channel_weights)
        if missing:
            raise ValueError(f"contacts.channel_weights: no weights for {sorted(missing)}")
        for name, action in self.treatments.actions.items():
            for label, given, known in (
                ("by_brand", action.by_brand, self.population.brands),
                ("by_segment", action.by_segment, self.segments),
                ("by_age", action.by_age, AGE_BANDS),
                ("destinations_by_age", action.destinations_by_age, AGE_BANDS),
            ):
                unknown = set(given) - set(known)
                if unknown:
                    raise ValueError(
                        f"treatments.actions.{name}.{label}: unknown {sorted(unknown)}; "
                        f"use {sorted(known)}"
                    )
        return self


AGE_BANDS = ("young", "middle", "senior")


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _deep_merge(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return merged


def load_params(path: str | os.PathLike[str] | None = None, **overrides: object) -> SimParams:
    """The defaults, deep-merged with the YAML file ``path`` and then with ``overrides``.

    ``overrides`` take dotted paths with ``__``: ``load_params(ivr__confusing_factor=6.0)``.
    """
    data = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))
    source = str(DEFAULTS_PATH)
    if path is not None:
        source = str(path)
        try:
            user = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(
                f"{path}: cannot read simulation parameters: {exc}".splitlines()[0]
            ) from None
        data = _deep_merge(data, user)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    try:
        return SimParams.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
