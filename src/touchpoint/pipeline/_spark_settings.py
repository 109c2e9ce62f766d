"""The ``spark`` section of the configuration: where ``touchpoint run --engine spark`` runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from touchpoint.config import Config, SectionSettings, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "spark_defaults.yaml"
SECTION = "spark"


class SparkSettings(SectionSettings):
    """The Spark master and the operator's Spark settings, passed through unchanged.

    >>> SparkSettings().master
    'local[2]'
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    master: str = Field(min_length=1)
    conf: dict[str, str]


_SETTINGS = SettingsSection(SparkSettings, SECTION, DEFAULTS_PATH, show_input=False)


def spark_settings_from_config(config: Config | None) -> SparkSettings:
    """The ``spark`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config)
