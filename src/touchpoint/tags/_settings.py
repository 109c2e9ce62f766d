"""Settings of the tag engine, validated by pydantic; defaults in ``defaults.yaml`` only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from touchpoint.config import Config, SectionSettings, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "tags"


class TagsSettings(SectionSettings):
    """Where the catalogue is and how tags are validated.

    >>> TagsSettings().confidence
    0.95
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    catalogue: str | None
    confidence: float = Field(gt=0.5, lt=1)
    cluster_min_customers: int = Field(ge=2)
    accepted_responses: tuple[str, ...] = Field(min_length=1)


_SETTINGS = SettingsSection(TagsSettings, SECTION, DEFAULTS_PATH, show_input=False)


def settings_from_config(config: Config | None) -> TagsSettings:
    """The ``tags`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config)
