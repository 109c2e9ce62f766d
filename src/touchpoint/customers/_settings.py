"""Settings of the customer analytics, validated by pydantic.

The defaults live in ``defaults.yaml`` beside this module (section ``customers_analytics``), and
only there; the hotline's IVR and agent channels are those the main configuration marks
(``hotline_leg``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from touchpoint.config import Config, HotlineSettings, SettingsSection
from touchpoint.errors import ConfigError

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "customers_analytics"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PreferenceLevel(_Strict):
    """One preference level: granted when both the count and the share reach their minimum."""

    level: int = Field(ge=1, le=5)
    min_contacts: int = Field(ge=1)
    min_share: float = Field(ge=0, le=1)


class ContributionTiers(_Strict):
    """Five tiers by net contribution: four cut points, highest first."""

    method: Literal["yuan", "quantile"]
    cut_points: tuple[float, float, float, float]

    @model_validator(mode="after")
    def _descending(self) -> ContributionTiers:
        cuts = self.cut_points
        if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
            raise ValueError(
                f"cut_points must be strictly decreasing (highest first), got {list(cuts)}"
            )
        if self.method == "quantile" and not all(0 < c < 1 for c in cuts):
            raise ValueError(f"quantile cut_points must lie in (0, 1), got {list(cuts)}")
        return self


class IdentityRule(_Strict):
    """Identity customer: points below ``max_points`` and a flag or a VIP tier."""

    max_points: int = Field(ge=0)
    any_flag: tuple[Literal["is_group_key_person", "is_family_plan"], ...]
    value_tiers: tuple[str, ...]


class SurveyRule(_Strict):
    """A regular expression (RE2 syntax) and the class a reply matching it gets."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    klass: str = Field(alias="class")
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(
                f"pattern {value!r} is not a valid regular expression: {exc}"
            ) from None
        return value


class CustomersSettings(HotlineSettings):
    """Windows, thresholds and rules of the customer analytics (see ``defaults.yaml``).

    Examples
    --------
    >>> CustomersSettings().preference_window_months
    3
    >>> CustomersSettings().level_for(n_contacts=1, share=1.0)
    1
    >>> len(CustomersSettings().survey_rules)  # the nine rules of defaults.yaml
    9
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    preference_window_months: int = Field(ge=1, le=24)
    preference_levels: tuple[PreferenceLevel, ...]
    collapse_transferred_calls: bool
    payment_business: str
    family_or_group_product_prefixes: tuple[str, ...]
    subscribe_action: str
    new_subscriber_months: int = Field(ge=1)
    contribution_tiers: ContributionTiers
    identity: IdentityRule
    survey_classes: dict[str, float]
    dissatisfied_class: str
    survey_rules: tuple[SurveyRule, ...]

    @model_validator(mode="after")
    def _consistent(self) -> CustomersSettings:
        levels = [lv.level for lv in self.preference_levels]
        if levels != list(range(1, len(levels) + 1)) or len(levels) != 5:
            raise ValueError(f"preference_levels must list levels 1..5 in order, got {levels}")
        for low, high in zip(self.preference_levels, self.preference_levels[1:], strict=False):
            if high.min_contacts < low.min_contacts or high.min_share < low.min_share:
                raise ValueError(
                    f"preference_levels: level {high.level} (min_contacts={high.min_contacts}, "
                    f"min_share={high.min_share}) asks less than level {low.level} "
                    f"(min_contacts={low.min_contacts}, min_share={low.min_share}); "
                    "thresholds may not fall as the level rises"
                )
        for name, score in self.survey_classes.items():
            if not 0 <= score <= 1:
                raise ValueError(f"survey_classes.{name}: score {score} must lie in [0, 1]")
        unknown = {r.klass for r in self.survey_rules} - set(self.survey_classes)
        if unknown:
            raise ValueError(
                f"survey_rules use class(es) {sorted(unknown)} not in survey_classes "
                f"({sorted(self.survey_classes)})"
            )
        if self.dissatisfied_class not in self.survey_classes:
            raise ValueError(
                f"dissatisfied_class {self.dissatisfied_class!r} is not a survey class"
            )
        return self

    def level_for(self, n_contacts: int, share: float) -> int:
        """The level of one customer × business × channel (plain Python, for docs and tests)."""
        level = 0
        for lv in self.preference_levels:
            if n_contacts >= lv.min_contacts and share >= lv.min_share:
                level = lv.level
        return level

    def check_against(self, config: Config) -> CustomersSettings:
        """Refuse ids the main configuration does not know; all problems in one error."""
        problems = []
        for field, value, vocabulary in (
            ("payment_business", self.payment_business, "business"),
            ("subscribe_action", self.subscribe_action, "order_action"),
        ):
            try:
                allowed = config.ids(vocabulary)
            except KeyError:
                continue
            if value not in allowed:
                problems.append(
                    f"{SECTION}.{field}: {value!r} is not a configured {vocabulary} "
                    f"(expected one of {', '.join(allowed)})"
                )
        tiers = config.ids("value_tier") if "value_tier" in config.vocabularies else None
        for tier in self.identity.value_tiers:
            if tiers is not None and tier not in tiers:
                problems.append(f"{SECTION}.identity.value_tiers: unknown tier {tier!r}")
        if problems:
            raise ConfigError("; ".join(problems) + "; fix the customers_analytics section")
        return self


_SETTINGS = SettingsSection(CustomersSettings, SECTION, DEFAULTS_PATH, show_input=False)


def load_customers_settings(
    path: str | os.PathLike[str] | None = None, *, config: Config | None = None
) -> CustomersSettings:
    """The customer settings: defaults, overridden by the ``customers_analytics`` section of ``path``.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    settings = _SETTINGS.load(path)
    return settings.for_config(config) if config is not None else settings


def settings_from_config(config: Config) -> CustomersSettings:
    """The ``customers_analytics`` section of ``config``, else the defaults; checked against it."""
    return _SETTINGS.from_config(config).for_config(config)
