"""Settings of the tag engine, validated by pydantic; defaults in ``defaults.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from touchpoint.config import Config
from touchpoint.errors import ConfigError

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
    accepted_responses: tuple[str, ...] = Field(default=("accepted",), min_length=1)


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8")) or {}
    return dict(data.get(SECTION) or {})


def settings_from_config(config: Config | None) -> TagsSettings:
    """The ``tags`` section carried by ``config`` (attribute or extra field), else the defaults."""
    section: Any = None
    if config is not None:
        section = getattr(config, SECTION, None)
        if section is None:
            section = (getattr(config, "model_extra", None) or {}).get(SECTION)
    if isinstance(section, TagsSettings):
        return section
    if isinstance(section, BaseModel):
        section = section.model_dump()
    try:
        return TagsSettings.model_validate({**_defaults(), **(section or {})})
    except ValidationError as exc:
        problems = "; ".join(
            f"{SECTION}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"configuration: {problems}") from None
