"""Settings of service quality, validated by pydantic; defaults in ``defaults.yaml`` only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from touchpoint.config import Config, SectionSettings, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "quality"


class QualitySettings(SectionSettings):
    """What counts as a bad peak, and how many replies the peak-end model reads at most.

    >>> QualitySettings().long_wait_seconds
    60.0
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    long_wait_seconds: float = Field(gt=0)
    bad_peak_prompts: int = Field(ge=1)
    peak_end_channels: tuple[str, ...] | None
    max_peak_end_rows: int = Field(ge=1000)


_SETTINGS = SettingsSection(QualitySettings, SECTION, DEFAULTS_PATH, show_input=False)


def settings_from_config(config: Config | None) -> QualitySettings:
    """The ``quality`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config)
