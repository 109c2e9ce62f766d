"""Settings sections of the analytics: defaults in a YAML file beside each capability, overridden
by the capability's section of a user file or of the main :class:`~touchpoint.config.Config`.

Every capability loads its settings the same way, so it declares one :class:`SettingsSection`
and writes its public functions in a line or two. Declaring it registers the section's name:
the main configuration then accepts a top-level section of that name with no field of its own
(:func:`check_sections` refuses the names no capability registered). A model deriving from
:class:`SectionSettings` takes its defaults from the YAML file alone (the model states types
and limits, not values), so a default is written once:

>>> from pydantic import BaseModel, ConfigDict
>>> class Windows(BaseModel):
...     model_config = ConfigDict(extra="forbid", frozen=True)
...     days: int = 7
>>> section = SettingsSection(Windows, "example_windows", defaults_path=None)
>>> section.validate({"days": 3}, source="configuration").days
3
>>> section.validate({"hours": 3}, source="configuration")
Traceback (most recent call last):
...
touchpoint.errors.ConfigError: configuration: example_windows.hours: Extra inputs are not permitted (got 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from touchpoint.config.models import Config
from touchpoint.config.positions import not_valid_yaml
from touchpoint.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
#: Every declared settings section, by name (filled as the capabilities are imported).
_REGISTERED: dict[str, SettingsSection[Any]] = {}


@lru_cache(maxsize=32)
def section_defaults(defaults_path: Path | None, section_name: str) -> dict[str, Any]:
    """The ``section_name`` mapping of the defaults file, read once (do not mutate it).

    ``None`` stands for no defaults file: the model's own defaults apply.
    """
    if defaults_path is None:
        return {}
    data = yaml.safe_load(Path(defaults_path).read_text(encoding="utf-8")) or {}
    return dict(data.get(section_name) or {})


def read_settings_file(path: str | os.PathLike[str], section_name: str) -> Any:
    """The ``section_name`` entry of the YAML file ``path`` (``None`` when the file lacks it).

    Raises
    ------
    ConfigError
        ``<path>: settings file not found``, ``<path>: line L, column C: not valid YAML: ...`` or ``<path>: expected a mapping at the top level``.
    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{source}: settings file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(not_valid_yaml(exc, source)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    return data.get(section_name)


def _model_fields(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields of ``model`` that are themselves pydantic models, with their model class."""
    nested = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested[field.alias or name] = annotation
    return nested


def merge_over_defaults(
    model: type[BaseModel], defaults: dict[str, Any], value: dict[str, Any]
) -> dict[str, Any]:
    """``value`` over ``defaults``, key by key; a key whose field is a model merges the same way.

    A mapping that is data (``survey_classes``, ``mart_dimensions``) or a list is replaced
    whole, as a user expects when giving it; a nested settings model (``identity``) keeps the
    defaults of the keys the user leaves out.

    (``tests/config/test_sections.py`` shows it on the customers' ``identity``.)
    """
    merged = dict(defaults)
    nested = _model_fields(model)
    for key, given in value.items():
        base = merged.get(key)
        if key in nested and isinstance(base, dict) and isinstance(given, dict):
            merged[key] = merge_over_defaults(nested[key], base, given)
        else:
            merged[key] = given
    return merged


class SectionSettings(BaseModel):
    """Base of a capability's settings model whose defaults live in its YAML file only.

    A subclass sets the class variables ``SECTION`` (the section's name) and ``DEFAULTS_PATH``
    (the YAML file beside the capability) and declares its fields with types and limits but
    no default values: constructing it (``ChannelsSettings(repeat_window_hours=48)``) puts the
    given values over the file's section (:func:`merge_over_defaults`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    SECTION: ClassVar[str] = ""
    DEFAULTS_PATH: ClassVar[Path | None] = None

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, data: Any) -> Any:
        if cls.DEFAULTS_PATH is None or not isinstance(data, dict):
            return data
        return merge_over_defaults(cls, section_defaults(cls.DEFAULTS_PATH, cls.SECTION), data)


def _default_hotline() -> tuple[str, str]:
    from touchpoint.config.loading import load_config

    config = load_config()
    return config.hotline_channel("ivr"), config.hotline_channel("agent")


class HotlineSettings(SectionSettings):
    """Settings that follow hotline calls: the IVR and agent channel ids come from the main
    configuration's channels (``hotline_leg``), never from the section, so every capability
    agrees on them. Until :meth:`with_hotline` is called they are those of the configuration
    :func:`~touchpoint.config.load_config` gives."""

    _hotline: tuple[str, str] = PrivateAttr(default_factory=_default_hotline)

    @property
    def ivr_channel(self) -> str:
        """The channel id of the hotline's automated menu (``hotline_leg: ivr``)."""
        return self._hotline[0]

    @property
    def agent_channel(self) -> str:
        """The channel id of the hotline's people (``hotline_leg: agent``)."""
        return self._hotline[1]

    def with_hotline(self, config: Config) -> Any:
        """A copy whose hotline channel ids are those of ``config``."""
        copy = self.model_copy()
        copy._hotline = (config.hotline_channel("ivr"), config.hotline_channel("agent"))
        return copy

    def check_against(self, config: Config) -> Any:
        """Itself, when its ids name what ``config`` has; a subclass checks its own ids."""
        return self

    def for_config(self, config: Config) -> Any:
        """A copy with the hotline channels of ``config``, its ids checked against it."""
        return self.with_hotline(config).check_against(config)


def section_settings(
    model_cls: type[M],
    section_name: str,
    defaults_path: Path | None,
    *,
    source: Path | str,
    value: Any,
    show_input: bool = True,
) -> M:
    """Validate one settings section: the defaults of ``defaults_path``, overridden by ``value``.

    Parameters
    ----------
    model_cls
        The pydantic model of the settings.
    section_name
        The section's key, e.g. ``"channels_analytics"``; it prefixes every problem's path.
    defaults_path
        The YAML file holding the defaults under ``section_name`` (``None``: the model's own).
    source
        Where ``value`` came from (a file or ``"configuration"``); it starts every message.
    value
        ``None`` (the defaults), an instance of ``model_cls`` (returned as is), another pydantic
        model (dumped by alias) or a mapping of the keys to override.
    show_input
        Whether each problem ends with ``(got <the refused value>)``.

    Raises
    ------
    ConfigError
        ``<source>: <section> must be a mapping, found <type>``, or one error listing every
        problem as ``<section>.<dotted.path>: <message> (got <value>)``; a problem of the whole
        section (a model validator) has the path ``(section)``.
    """
    if value is None:
        value = {}
    if isinstance(value, model_cls):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: {section_name} must be a mapping, found {type(value).__name__}"
        )
    if not issubclass(model_cls, SectionSettings):
        # The model holds no defaults of the file: put the given keys over them here.
        value = {**section_defaults(defaults_path, section_name), **value}
    try:
        return model_cls.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{section_name}.{'.'.join(str(p) for p in err['loc']) or '(section)'}: {err['msg']}"
            + (f" (got {err.get('input')!r})" if show_input else "")
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


@dataclass(frozen=True)
class SettingsSection(Generic[M]):
    """One capability's settings section: its model, its name and its defaults file.

    Parameters
    ----------
    model
        The pydantic model of the settings.
    name
        The section's key in a user's settings file and in the main configuration.
    defaults_path
        The YAML file beside the capability holding the defaults under ``name`` (``None``: the
        model's own defaults).
    show_input
        Whether error messages quote each refused value (see :func:`section_settings`).
    """

    model: type[M]
    name: str
    defaults_path: Path | None
    show_input: bool = True

    def __post_init__(self) -> None:
        known = _REGISTERED.get(self.name)
        if known is not None and known.model is not self.model:
            raise ConfigError(
                f"settings section {self.name!r} is declared twice ({known.model.__name__} and "
                f"{self.model.__name__}); each capability needs a section name of its own"
            )
        _REGISTERED[self.name] = self

    def validate(self, value: Any, source: Path | str) -> M:
        """``value`` over the defaults (see :func:`section_settings`)."""
        return section_settings(
            self.model,
            self.name,
            self.defaults_path,
            source=source,
            value=value,
            show_input=self.show_input,
        )

    def load(self, path: str | os.PathLike[str] | None = None) -> M:
        """The defaults, overridden by the section of the YAML file ``path`` (if given)."""
        if path is None:
            return self.validate(None, self.defaults_path or "defaults")
        return self.validate(read_settings_file(path, self.name), Path(path))

    def from_config(self, config: Any) -> M:
        """The section carried by ``config`` (an attribute named after it), else the defaults."""
        return self.validate(getattr(config, self.name, None), "configuration")


def registered_sections() -> dict[str, SettingsSection[Any]]:
    """Every settings section declared so far (the capabilities imported), by name."""
    return dict(_REGISTERED)


def check_sections(config: Config, source: Path | str = "configuration") -> None:
    """Refuse a section no capability registered, and validate every registered one present.

    Call it once the capabilities are imported (the pipeline does, before it runs).

    Raises
    ------
    ConfigError
        ``configuration: unknown section 'x' (known: ...); correct its name or remove it``,
        or the first section's problems as :func:`section_settings` gives them.
    """
    unknown = sorted(set(config.sections) - set(_REGISTERED))
    if unknown:
        raise ConfigError(
            f"{source}: unknown section{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)} (known: {', '.join(sorted(_REGISTERED))}); "
            "correct its name or remove it"
        )
    for name, value in config.sections.items():
        _REGISTERED[name].validate(value, source)
