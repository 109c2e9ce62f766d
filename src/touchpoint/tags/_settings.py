"""Settings of the tag engine, validated by pydantic; defaults in ``defaults.yaml``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from touchpoint.config import Config, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "tags"


class TagsSettings(BaseModel):
    """Where the catalogue is and how tags are validated.

    >>> TagsSettings().confidence
    0.95
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalogue: str | None = None
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    cluster_min_customers: int = Field(default=30, ge=2)
    accepted_responses: tuple[str, ...] = Field(default=("accepted",), min_length=1)


_SETTINGS = SettingsSection(TagsSettings, SECTION, DEFAULTS_PATH, show_input=False)


def settings_from_config(config: Config | None) -> TagsSettings:
    """The ``tags`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config)
