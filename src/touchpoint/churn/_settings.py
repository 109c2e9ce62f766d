"""Settings of churn prediction, validated by pydantic (defaults in ``defaults.yaml``)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from touchpoint.config import Config, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "churn_analytics"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Strict):
    """One churn reason of the taxonomy."""

    group: Literal["internal", "external"]
    controllable: bool
    name_en: str
    name_zh: str
    hint_en: str = ""
    hint_zh: str = ""


class FeatureReason(_Strict):
    """Features whose name matches ``pattern`` (shell style) count towards ``reason``."""

    pattern: str
    reason: str


class ModelSettings(_Strict):
    """LightGBM's size and the calibration of its probabilities."""

    n_estimators: int = Field(default=150, ge=1, le=5000)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=15, ge=2, le=1024)
    min_child_samples: int = Field(default=40, ge=1)
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"
    random_state: int = 0
    #: Each fit (LightGBM and the logistic baseline) learns from about this many
    #: customer-months: the customers of its training months whose seeded hash falls below
    #: cap / customer-months (read_churn_data).
    max_train_rows: int = Field(default=1_000_000, ge=1000)
    #: The logistic baseline learns from about this many of them: a smaller share of the
    #: same seeded hash, so its customers lie inside the training sample.
    baseline_max_rows: int = Field(default=200_000, ge=1000)
    #: A calibration month and the held-out month are read on about this many customers
    #: (the same hash; every customer below the cap).
    max_calibration_rows: int = Field(default=1_000_000, ge=1000)
    max_evaluation_rows: int = Field(default=1_000_000, ge=1000)
    #: The latest month is read and scored this many customers at a time (a block of the
    #: hash), so memory is set by the block, not by the number of customers.
    score_block_rows: int = Field(default=250_000, ge=1000)


class WorkOrderSettings(_Strict):
    """Lifetime value per segment (sBG) and the retention work-order list."""

    horizon_months: int = Field(default=36, ge=1, le=600)
    monthly_discount: float = Field(default=0.01, ge=0, lt=1)
    cost_per_order_yuan: float = Field(default=20.0, gt=0)
    budget_yuan: float = Field(default=10000.0, ge=0)
    only_controllable: bool = True


class ChurnSettings(_Strict):
    """Reasons, the feature -> reason mapping, feature choices and the model (defaults.yaml).

    Examples
    --------
    >>> s = load_churn_settings()
    >>> s.reason_of("n_complaints_3m"), s.reason_of("region"), s.reason_of("brand")
    ('service_level', 'competitors', None)
    """

    reasons: dict[str, Reason]
    feature_reasons: tuple[FeatureReason, ...] = ()
    top_reasons: int = Field(default=3, ge=1, le=7)
    fault_business: str = "fault_report"
    resolved_outcome: str = "resolved"
    categorical_features: tuple[str, ...] = ("brand", "value_tier", "region")
    excluded_features: tuple[str, ...] = ()
    model: ModelSettings = ModelSettings()
    calibration_bins: int = Field(default=10, ge=2, le=100)
    work_orders: WorkOrderSettings = WorkOrderSettings()

    @model_validator(mode="after")
    def _known_reasons(self) -> ChurnSettings:
        unknown = sorted({m.reason for m in self.feature_reasons} - set(self.reasons))
        if unknown:
            raise ValueError(
                f"feature_reasons name reason(s) {unknown} not in reasons ({sorted(self.reasons)})"
            )
        return self

    def reason_of(self, feature: str) -> str | None:
        """The reason a feature counts towards (first matching pattern), else ``None``."""
        for mapping in self.feature_reasons:
            if fnmatch.fnmatchcase(feature, mapping.pattern):
                return mapping.reason
        return None

    def is_excluded(self, column: str) -> bool:
        return any(fnmatch.fnmatchcase(column, p) for p in self.excluded_features)


_SETTINGS = SettingsSection(ChurnSettings, SECTION, DEFAULTS_PATH)


def load_churn_settings(path: str | os.PathLike[str] | None = None) -> ChurnSettings:
    """The churn settings: defaults, overridden by the ``churn_analytics`` section of ``path``.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    return _SETTINGS.load(path)


def churn_settings_from_config(config: Config) -> ChurnSettings:
    """The ``churn_analytics`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config)
