"""Settings of the channel analytics: windows and the ids they refer to, validated by pydantic.

The defaults live in ``defaults.yaml`` beside this module (section ``channels_analytics``), and
only there; the hotline's IVR and agent channels are those the main configuration marks
(``hotline_leg``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from touchpoint.config import Config, HotlineSettings, SettingsSection
from touchpoint.errors import ConfigError

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "channels_analytics"
PeriodName = Literal["day", "week", "month"]
DimensionName = Literal["region", "brand", "value_tier", "business"]


class ChannelsSettings(HotlineSettings):
    """Windows and ids used by the channel analytics (see ``defaults.yaml`` for each one's meaning).

    Examples
    --------
    >>> ChannelsSettings().escalation_window_minutes
    60
    >>> ChannelsSettings(repeat_window_hours=48).repeat_window_seconds
    172800
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    repeat_window_hours: float = Field(gt=0, le=24 * 31)
    escalation_window_minutes: int = Field(gt=0, le=24 * 60)
    transfer_event_type: str
    resolved_outcome: str
    unknown_label: str = Field(min_length=1)
    mart_dimensions: dict[PeriodName, tuple[DimensionName, ...]]

    @property
    def repeat_window_seconds(self) -> int:
        return round(self.repeat_window_hours * 3600)

    def check_against(self, config: Config) -> ChannelsSettings:
        """Refuse ids that the main configuration does not know; all problems in one error."""
        checks = [
            ("transfer_event_type", self.transfer_event_type, "ivr_event_type"),
            ("resolved_outcome", self.resolved_outcome, "outcome"),
        ]
        problems = []
        for field, value, vocabulary in checks:
            try:
                allowed = config.ids(vocabulary)
            except KeyError:
                problems.append(
                    f"{SECTION}.{field}: the configuration has no {vocabulary!r} vocabulary"
                )
                continue
            if value not in allowed:
                problems.append(
                    f"{SECTION}.{field}: {value!r} is not a configured {vocabulary} "
                    f"(expected one of {', '.join(allowed)})"
                )
        if problems:
            raise ConfigError("; ".join(problems) + "; fix the channels_analytics section")
        return self


_SETTINGS = SettingsSection(ChannelsSettings, SECTION, DEFAULTS_PATH)


def load_channels_settings(
    path: str | os.PathLike[str] | None = None, *, config: Config | None = None
) -> ChannelsSettings:
    """The channel settings: the defaults, overridden by the ``channels_analytics`` section of ``path``.

    Parameters
    ----------
    path
        A YAML file with a top-level ``channels_analytics`` mapping (keys it omits keep their
        defaults); ``None`` gives the defaults.
    config
        When given, ids in the settings are checked against it.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    settings = _SETTINGS.load(path)
    return settings.for_config(config) if config is not None else settings


def settings_from_config(config: Config) -> ChannelsSettings:
    """The ``channels_analytics`` section of ``config``, else the defaults; checked against it."""
    return _SETTINGS.from_config(config).for_config(config)
