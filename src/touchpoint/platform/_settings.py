"""Settings of the platform: the server, its limits and its sessions (``defaults.yaml``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from touchpoint.config import Config, SettingsSection

DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"
SECTION = "platform"
SETTINGS_VERSION = 1


class PlatformSettings(BaseModel):
    """Host, port, limits and session lifetime of ``touchpoint serve``.

    >>> load_platform_settings().query_timeout_seconds
    10.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = SETTINGS_VERSION
    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=8000, ge=1, le=65535)
    secure_cookies: bool = False
    session_hours: float = Field(default=8, gt=0, le=24 * 31)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    query_timeout_seconds: float = Field(default=10, gt=0, le=3600)
    rate_limit_per_second: float = Field(default=200, gt=0)
    rate_limit_burst: int = Field(default=400, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=900, gt=0)
    snapshot_check_seconds: float = Field(default=1.0, ge=0, le=3600)
    query_threads: int = Field(default=1, ge=1, le=256)
    publish_when_missing: bool = True

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SETTINGS_VERSION:
            raise ValueError(f"version {value}, expected {SETTINGS_VERSION}")
        return value


_SETTINGS = SettingsSection(PlatformSettings, SECTION, DEFAULTS_PATH)


def load_platform_settings(path: str | os.PathLike[str] | None = None) -> PlatformSettings:
    """The platform settings: defaults, overridden by the ``platform`` section of ``path``."""
    return _SETTINGS.load(path)


def platform_settings_from_config(config: Config | None) -> PlatformSettings:
    """The ``platform`` section of ``config``, else the defaults."""
    return _SETTINGS.from_config(config) if config is not None else _SETTINGS.load(None)
