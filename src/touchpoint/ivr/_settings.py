"""Settings of the IVR journey analytics, validated by pydantic.

The defaults live in ``defaults.yaml`` beside this module (section ``ivr_analytics``), and only
there. The
hotline ids (IVR and agent channels, the transfer event type, the label of unknown values) are
those of the channel analytics (:class:`touchpoint.channels.ChannelsSettings`), reused rather
than repeated.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from touchpoint.channels import ChannelsSettings
from touchpoint.channels import settings_from_config as channels_settings_from_config
from touchpoint.config import Config, SectionSettings, SettingsSection
from touchpoint.errors import ConfigError

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "ivr_analytics"
_EVENT_TYPE_FIELDS = (
    "call_start_event_type",
    "prompt_event_type",
    "key_event_type",
    "timeout_event_type",
    "invalid_event_type",
    "complete_event_type",
    "hang_up_event_type",
)


class IvrSettings(SectionSettings):
    """Windows, ids and sizes used by the IVR analytics (``defaults.yaml`` explains each).

    Examples
    --------
    >>> IvrSettings().verified_window_seconds
    86400
    >>> IvrSettings(verified_window_hours=0.5).verified_window_seconds
    1800
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    verified_window_hours: float = Field(gt=0, le=24 * 31)
    call_start_event_type: str
    prompt_event_type: str
    key_event_type: str
    timeout_event_type: str
    invalid_event_type: str
    complete_event_type: str
    hang_up_event_type: str
    back_key: str = Field(min_length=1)
    top_paths: int = Field(gt=0, le=100_000)
    lost_min_visits: int = Field(ge=0)
    max_menu_depth: int = Field(gt=0, le=64)
    path_separator: str = Field(min_length=1)
    # Not a key of the section: the channel analytics' settings, set from the configuration.
    channels: ChannelsSettings = Field(default_factory=ChannelsSettings)

    @property
    def verified_window_seconds(self) -> int:
        return round(self.verified_window_hours * 3600)

    @property
    def transfer_event_type(self) -> str:
        return self.channels.transfer_event_type

    def check_against(self, config: Config) -> IvrSettings:
        """Refuse event types the configuration does not know; all problems in one error."""
        try:
            allowed = config.ids("ivr_event_type")
        except KeyError:
            raise ConfigError(
                f"{SECTION}: the configuration has no 'ivr_event_type' vocabulary"
            ) from None
        problems = [
            f"{SECTION}.{field}: {getattr(self, field)!r} is not a configured ivr_event_type "
            f"(expected one of {', '.join(allowed)})"
            for field in _EVENT_TYPE_FIELDS
            if getattr(self, field) not in allowed
        ]
        if problems:
            raise ConfigError("; ".join(problems) + "; fix the ivr_analytics section")
        return self


_SETTINGS = SettingsSection(IvrSettings, SECTION, DEFAULTS_PATH)


def _with_channels(settings: IvrSettings, channels: ChannelsSettings) -> IvrSettings:
    # The hotline ids come from the channel settings: one definition of a hotline call.
    return settings.model_copy(update={"channels": channels})


def load_ivr_settings(
    path: str | os.PathLike[str] | None = None, *, config: Config | None = None
) -> IvrSettings:
    """The IVR settings: the defaults, overridden by the ``ivr_analytics`` section of ``path``.

    Parameters
    ----------
    path
        A YAML file with a top-level ``ivr_analytics`` mapping (keys it omits keep their
        defaults); ``None`` gives the defaults.
    config
        When given, event types are checked against it and the channel settings come from it.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    channels = channels_settings_from_config(config) if config is not None else ChannelsSettings()
    settings = _with_channels(_SETTINGS.load(path), channels)
    return settings.check_against(config) if config is not None else settings


def settings_from_config(config: Config) -> IvrSettings:
    """The IVR settings carried by ``config`` (its ``ivr_analytics`` section), else
    the defaults; with the channel settings of ``config``; checked against ``config``."""
    channels = channels_settings_from_config(config)
    return _with_channels(_SETTINGS.from_config(config), channels).check_against(config)
