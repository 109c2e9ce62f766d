"""Settings of campaigns: holdouts, the contact policy and the money (defaults.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from touchpoint.config import Config, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "campaigns"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrequencyCap(_Strict):
    """At most ``max_orders`` dispatched orders per customer in ``channel`` within ``days``."""

    channel: str
    max_orders: int = Field(ge=0)
    days: int = Field(ge=1, le=366)


class ContactPolicy(_Strict):
    """What dispatch holds back (each held-back order keeps its reason)."""

    frequency_caps: tuple[FrequencyCap, ...] = ()
    quiet_start_hour: int = Field(default=21, ge=0, le=23)
    quiet_end_hour: int = Field(default=8, ge=0, le=23)
    do_not_disturb: tuple[str, ...] = ()
    sensitive_tag: str = "sensitive"
    sensitive: str = Field(default="exclude", pattern="^(exclude|cap|allow)$")
    sensitive_max_orders: int = Field(default=1, ge=0)
    sensitive_days: int = Field(default=90, ge=1)
    opted_out_response: str = "opted_out"


class UpliftSettings(_Strict):
    """The uplift model (``touchpoint campaign uplift``): a causalml meta-learner over
    gradient-boosted trees, cross-fitted on the finished round."""

    learner: str = Field(default="x", pattern="^(t|x|s)$")
    # Columns of the customer 360 used as features (shell patterns).
    features: tuple[str, ...] = ("*",)
    max_iter: int = Field(default=100, ge=1, le=5000)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    max_leaf_nodes: int = Field(default=4, ge=2)
    min_samples_leaf: int = Field(default=200, ge=1)
    l2_regularization: float = Field(default=1.0, ge=0)
    folds: int = Field(default=5, ge=2, le=20)
    # A round larger than this is learnt from a random sample of this many customers.
    max_fit_rows: int | None = Field(default=200_000, ge=1000)
    seed: int = 0
    # Share of the next audience the side-by-side comparison treats in each ranking strategy.
    compare_share: float = Field(default=0.3, gt=0, le=1)


class RetentionValue(_Strict):
    """What a customer kept by a retention offer is worth, and the offer's target.

    A kept customer is worth their monthly ARPU (the treated's mean of ``arpu_column`` of the
    360 in the campaign's selection month) × ``remaining_months`` (how long a kept customer
    is expected to stay). ``target_success_rate``: seed 003's "派单营销成功率 20 %", set
    against the measured share of the treated the offer kept (holdout minus treated churn).
    """

    arpu_column: str = "arpu_3m_avg_yuan"
    remaining_months: float = Field(default=24.0, gt=0, le=240)
    target_success_rate: float = Field(default=0.2, gt=0, le=1)


class CampaignSettings(_Strict):
    """Global holdout, contact policy, costs and confidence (see ``defaults.yaml``).

    >>> load_campaign_settings().global_holdout_share
    0.02
    """

    global_holdout_share: float = Field(default=0.02, ge=0, lt=1)
    global_holdout_salt: str = "touchpoint-global-holdout"
    srm_alpha: float = Field(default=0.001, gt=0, lt=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    policy: ContactPolicy = ContactPolicy()
    work_order_cost_yuan: dict[str, float] = Field(default_factory=dict)
    moved_cost_difference_yuan: dict[str, float] = Field(default_factory=dict)
    store_channels: tuple[str, ...] = ("store", "partner_store")
    self_service_payment_channels: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay")
    agent_channel: str = "agent"
    uplift: UpliftSettings = UpliftSettings()
    retention: RetentionValue = RetentionValue()


_SETTINGS = SettingsSection(CampaignSettings, SECTION, DEFAULTS_PATH)


def load_campaign_settings(path: str | os.PathLike[str] | None = None) -> CampaignSettings:
    """The campaign settings: defaults, overridden by the ``campaigns`` section of ``path``."""
    return _SETTINGS.load(path)


def campaign_settings_from_config(config: Config | None) -> CampaignSettings:
    """The ``campaigns`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config) if config is not None else _SETTINGS.load(None)
