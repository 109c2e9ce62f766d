"""Settings of segments and lifecycle stages, validated by pydantic (defaults in ``defaults.yaml``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from touchpoint.config import Config, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SEGMENTS_SECTION = "segments"
LIFECYCLE_SECTION = "lifecycle"
#: The lifecycle stages, in the order their rules are tried.
STAGES = ("churned", "new", "at_risk", "declining", "growing", "mature")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureWords(_Strict):
    """Words for a segment whose mean of the feature is far above or below the average."""

    high_en: str
    low_en: str
    high_zh: str
    low_zh: str


class Kind(_Strict):
    """A kind of customer of seed 003 and its expected profile (z-score sign per feature)."""

    name_en: str
    name_zh: str
    signature: dict[str, float]


class SegmentSettings(_Strict):
    """Features, the number of segments and how segments are described and named.

    >>> s = load_segment_settings()
    >>> s.n_segments, s.k_range, sorted(s.features)[:2]
    ('auto', (3, 8), ['agent_share_3m', 'complaints_3m'])
    """

    features: dict[str, FeatureWords]
    n_segments: Literal["auto"] | int = "auto"
    k_range: tuple[int, int] = (3, 8)
    selection_sample: int = Field(default=5000, ge=100)
    fit_sample: int = Field(default=200_000, ge=1000)
    stability_sample: int = Field(default=20_000, ge=100)
    random_state: int = Field(default=0, ge=0)
    n_init: int = Field(default=10, ge=1, le=100)
    describe_threshold: float = Field(default=0.4, ge=0)
    describe_top: int = Field(default=3, ge=1, le=10)
    kinds: dict[str, Kind] = {}

    @model_validator(mode="after")
    def _check(self) -> SegmentSettings:
        if isinstance(self.n_segments, int) and not 2 <= self.n_segments <= 50:
            raise ValueError(f"n_segments must be 'auto' or 2..50, got {self.n_segments}")
        low, high = self.k_range
        if not 2 <= low <= high <= 50:
            raise ValueError(
                f"k_range must be [low, high] with 2 <= low <= high <= 50, got {self.k_range}"
            )
        for kind, spec in self.kinds.items():
            unknown = sorted(set(spec.signature) - set(self.features))
            if unknown:
                raise ValueError(f"kinds.{kind}.signature names unknown feature(s) {unknown}")
        return self


class Stage(_Strict):
    name_en: str
    name_zh: str
    action_en: str
    action_zh: str


class LifecycleSettings(_Strict):
    """The thresholds of the stage rules (see ``defaults.yaml`` for their order) and the
    names and recommended actions of the stages."""

    new_months: int = Field(default=3, ge=0)
    mature_months: int = Field(default=12, ge=0)
    at_risk_probability: float = Field(default=0.10, gt=0, le=1)
    at_risk_complaints_3m: int = Field(default=2, ge=1)
    at_risk_arrears_yuan: float = Field(default=0.0, ge=0)
    decline_share: float = Field(default=0.15, gt=0)
    growth_share: float = Field(default=0.15, gt=0)
    stages: dict[str, Stage]

    @model_validator(mode="after")
    def _check(self) -> LifecycleSettings:
        if set(self.stages) != set(STAGES):
            raise ValueError(f"stages must name exactly {list(STAGES)}, got {sorted(self.stages)}")
        if self.mature_months < self.new_months:
            raise ValueError(
                f"mature_months ({self.mature_months}) must be >= new_months ({self.new_months})"
            )
        return self


_SEGMENTS = SettingsSection(SegmentSettings, SEGMENTS_SECTION, DEFAULTS_PATH)
_LIFECYCLE = SettingsSection(LifecycleSettings, LIFECYCLE_SECTION, DEFAULTS_PATH)


def load_segment_settings(path: str | os.PathLike[str] | None = None) -> SegmentSettings:
    """The segment settings: defaults, overridden by the ``segments`` section of ``path``."""
    return _SEGMENTS.load(path)


def segment_settings_from_config(config: Config) -> SegmentSettings:
    return _SEGMENTS.from_config(config)


def load_lifecycle_settings(path: str | os.PathLike[str] | None = None) -> LifecycleSettings:
    """The lifecycle settings: defaults, overridden by the ``lifecycle`` section of ``path``."""
    return _LIFECYCLE.load(path)


def lifecycle_settings_from_config(config: Config) -> LifecycleSettings:
    return _LIFECYCLE.from_config(config)
