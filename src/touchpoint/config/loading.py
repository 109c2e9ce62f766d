"""Reading configuration files: defaults, then the user's file section by section."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from touchpoint.config.models import Config
from touchpoint.config.positions import not_valid_yaml
from touchpoint.errors import ConfigError

DEFAULT_CONFIG_PATH = Path(__file__).parent / "defaults" / "touchpoint.yaml"
CONFIG_ENV = "TOUCHPOINT_CONFIG"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(not_valid_yaml(exc, path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, found {type(data).__name__}"
        )
    return data


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration.

    Parameters
    ----------
    path
        A YAML file whose top-level sections replace the defaults'. ``None`` uses the
        ``TOUCHPOINT_CONFIG`` environment variable if set, else the defaults alone.

    Raises
    ------
    ConfigError
        With the file and the dotted path of every value that is not allowed.
    """
    chosen = path if path is not None else os.environ.get(CONFIG_ENV) or None
    return _load(str(Path(chosen).resolve()) if chosen else None)


@lru_cache(maxsize=8)
def _load(path: str | None) -> Config:
    merged = _read_yaml(DEFAULT_CONFIG_PATH)
    source = DEFAULT_CONFIG_PATH
    if path is not None:
        source = Path(path)
        user = _read_yaml(source)
        if isinstance(user.get("vocabularies"), dict):
            # Vocabularies merge one by one, so a user file can redefine just `business`.
            user["vocabularies"] = {**merged.get("vocabularies", {}), **user["vocabularies"]}
        merged.update(user)
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
