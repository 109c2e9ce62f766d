"""Settings sections of the analytics: defaults in a YAML file beside each capability, overridden
by the capability's section of a user file or of the main :class:`~touchpoint.config.Config`.

Every capability loads its settings the same way, so it declares one :class:`SettingsSection`
and writes its public functions in a line or two:

>>> from pydantic import BaseModel, ConfigDict
>>> class Windows(BaseModel):
...     model_config = ConfigDict(extra="forbid", frozen=True)
...     days: int = 7
>>> section = SettingsSection(Windows, "windows", defaults_path=None)
>>> section.validate({"days": 3}, source="configuration").days
3
>>> section.validate({"hours": 3}, source="configuration")
Traceback (most recent call last):
...
touchpoint.errors.ConfigError: configuration: windows.hours: Extra inputs are not permitted (got 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from touchpoint.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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
        ``<path>: settings file not found``, ``<path>: not valid YAML: ...`` (first line of the
        parser's message) or ``<path>: expected a mapping at the top level``.
    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{source}: settings file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    return data.get(section_name)


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
    try:
        return model_cls.model_validate({**section_defaults(defaults_path, section_name), **value})
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
