"""Settings of the menu recommendations: the ``ivr_menu_design`` section over
``menu_design.yaml``'s defaults (the only place they are written), checked against the event
types configured; the IVR and agent channels are those the configuration marks
(``hotline_leg``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator

from touchpoint.config import Config, HotlineSettings, SettingsSection
from touchpoint.errors import ConfigError

DEFAULTS_PATH = Path(__file__).parent / "menu_design.yaml"
SECTION = "ivr_menu_design"


class MenuDesignSettings(HotlineSettings):
    """Settings of the menu recommendations (``menu_design.yaml`` documents each one).

    Examples
    --------
    >>> MenuDesignSettings().promote_to_depth
    1
    >>> MenuDesignSettings(promote_min_depth=1)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for MenuDesignSettings
    ...
    """

    SECTION = SECTION
    DEFAULTS_PATH = DEFAULTS_PATH

    root_node_id: str = Field(min_length=1)
    menu_keys: str = Field(min_length=1)
    back_keys: tuple[str, ...]
    non_action_event_types: tuple[str, ...]
    prompt_event_type: str
    timeout_event_type: str
    invalid_event_type: str
    key_event_type: str
    transfer_event_type: str
    hang_up_event_type: str
    deliberate_zero_out_nodes: tuple[str, ...]
    ivr_cost_per_second_yuan: float | None = Field(ge=0)
    seconds_per_added_option: float = Field(ge=0)
    days_per_month: float = Field(gt=0)
    max_depth: int = Field(ge=1, le=30)
    promote_min_depth: int = Field(ge=2)
    promote_to_depth: int = Field(ge=1)
    promote_min_share: float = Field(ge=0, le=1)
    merge_max_share: float = Field(ge=0, le=1)
    drop_max_share: float = Field(ge=0, le=1)
    fix_min_actions: int = Field(ge=1)
    fix_min_ratio: float = Field(ge=1)
    fix_min_z: float = Field(ge=0)
    min_cost_saved_yuan_per_month: float

    @model_validator(mode="after")
    def _depths(self) -> MenuDesignSettings:
        if self.promote_min_depth <= self.promote_to_depth:
            raise ValueError(
                f"promote_min_depth={self.promote_min_depth} should be > "
                f"promote_to_depth={self.promote_to_depth} (a promotion moves a node up)"
            )
        if self.promote_min_depth > self.max_depth:
            raise ValueError(
                f"promote_min_depth={self.promote_min_depth} should be <= max_depth={self.max_depth}"
            )
        return self

    def check_against(self, config: Config) -> MenuDesignSettings:
        """Refuse event-type ids the main configuration does not know."""
        problems = []
        checks = [
            ("transfer_event_type", self.transfer_event_type, "ivr_event_type"),
            ("timeout_event_type", self.timeout_event_type, "ivr_event_type"),
            ("invalid_event_type", self.invalid_event_type, "ivr_event_type"),
            ("key_event_type", self.key_event_type, "ivr_event_type"),
            ("hang_up_event_type", self.hang_up_event_type, "ivr_event_type"),
            ("prompt_event_type", self.prompt_event_type, "ivr_event_type"),
        ]
        for field, value, vocabulary in checks:
            try:
                allowed = config.ids(vocabulary)
            except KeyError:
                problems.append(f"{SECTION}.{field}: the configuration has no {vocabulary!r}")
                continue
            if value not in allowed:
                problems.append(
                    f"{SECTION}.{field}: {value!r} is not a configured {vocabulary} "
                    f"(expected one of {', '.join(allowed)})"
                )
        if problems:
            raise ConfigError("; ".join(problems) + f"; fix the {SECTION} section")
        return self


_SETTINGS = SettingsSection(MenuDesignSettings, SECTION, DEFAULTS_PATH)


def load_menu_design_settings(
    path: str | os.PathLike[str] | None = None, *, config: Config | None = None
) -> MenuDesignSettings:
    """The defaults of ``menu_design.yaml``, overridden by the ``ivr_menu_design`` section of ``path``.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    settings = _SETTINGS.load(path)
    return settings.for_config(config) if config is not None else settings


def menu_design_settings_from_config(config: Config) -> MenuDesignSettings:
    """The ``ivr_menu_design`` section of ``config``, else the defaults; checked against it."""
    return _SETTINGS.from_config(config).for_config(config)
