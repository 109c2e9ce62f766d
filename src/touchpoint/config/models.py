"""Pydantic models of the configuration: they refuse bad values with the path to the value."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from touchpoint.errors import ConfigError

HotlineLeg = Literal["ivr", "agent"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VocabEntry(_Strict):
    """One allowed value of a vocabulary."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_en: str
    name_zh: str
    aliases: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Channel(VocabEntry):
    """A service channel with its cost per contact (the operator's own figure).

    ``hotline_leg`` marks the two channels of the hotline: ``ivr`` (the automated menu) and
    ``agent`` (a person). Every analytics reads them from here (:meth:`Config.hotline_channel`).
    """

    cost_per_contact_yuan: float = Field(ge=0)
    is_self_service: bool
    hotline_leg: HotlineLeg | None = None


class PiiConfig(_Strict):
    key_env: str = "TOUCHPOINT_PII_KEY"
    key_file: str | None = None


class IngestConfig(_Strict):
    csv_encodings: tuple[str, ...] = ("utf-8", "gb18030")
    null_values: tuple[str, ...] = ("", "NULL", "null", "\\N")
    # Dates and timestamps outside this range are quarantined as out_of_range (a year-0
    # birthday is a typo, not a customer); no latest_date: the last day of next year.
    earliest_date: dt.date = dt.date(1900, 1, 1)
    latest_date: dt.date | None = None

    @model_validator(mode="after")
    def _range_in_order(self) -> IngestConfig:
        if self.latest_date is not None and self.latest_date < self.earliest_date:
            raise ValueError(
                f"latest_date {self.latest_date} is before earliest_date {self.earliest_date}"
            )
        return self

    @field_validator("csv_encodings")
    @classmethod
    def _known_encodings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import codecs

        if not value:
            raise ValueError("at least one encoding is needed, e.g. [utf-8, gb18030]")
        for name in value:
            try:
                codecs.lookup(name)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {name!r}; use e.g. utf-8, gbk, gb18030"
                ) from None
        return value


def _check_unique(entries: tuple[VocabEntry, ...], what: str) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        for label in (entry.id, *entry.aliases):
            folded = label.strip().casefold()
            if folded in seen and seen[folded] != entry.id:
                raise ValueError(
                    f"{what}: {label!r} names both {seen[folded]!r} and {entry.id!r}; "
                    "an id or alias may name one value only"
                )
            if folded in seen and label == entry.id:
                raise ValueError(f"{what}: id {entry.id!r} appears twice")
            seen[folded] = entry.id


class Config(_Strict):
    """The whole configuration; see ``config/defaults/touchpoint.yaml`` for the documented defaults.

    Besides the fields below, every other top-level key is a capability's settings section
    (``channels_analytics``, ``tags``, ...): kept as given, read by the capability's
    :class:`~touchpoint.config.SettingsSection` (which checks it and names the dotted path of a
    bad value), and refused by :func:`~touchpoint.config.check_sections` when no capability
    claims it. So a new capability's section needs no field here.
    """

    # Extra top-level keys are the capabilities' sections (see the docstring).
    model_config = ConfigDict(extra="allow", frozen=True)

    version: int = Field(ge=1, le=1)
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    channels: tuple[Channel, ...]
    vocabularies: dict[str, tuple[VocabEntry, ...]]
    pii: PiiConfig = PiiConfig()
    ingest: IngestConfig = IngestConfig()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from exc
        return value

    @model_validator(mode="after")
    def _unique_values(self) -> Config:
        if not self.channels:
            raise ValueError("channels: at least one channel is needed")
        _check_unique(self.channels, "channels")
        for leg in ("ivr", "agent"):
            marked = [c.id for c in self.channels if c.hotline_leg == leg]
            if len(marked) > 1:
                raise ValueError(
                    f"channels: {marked} are all marked hotline_leg: {leg}; mark one channel"
                )
        for name, entries in self.vocabularies.items():
            if not entries:
                raise ValueError(f"vocabularies.{name}: at least one value is needed")
            _check_unique(entries, f"vocabularies.{name}")
        return self

    def vocabulary(self, name: str) -> tuple[VocabEntry, ...]:
        """The entries of vocabulary ``name`` (``"channel"`` gives the channels)."""
        if name == "channel":
            return self.channels
        try:
            return self.vocabularies[name]
        except KeyError:
            raise KeyError(
                f"no vocabulary {name!r} in the configuration; known: "
                f"{', '.join(['channel', *sorted(self.vocabularies)])}"
            ) from None

    def ids(self, name: str) -> list[str]:
        """The allowed ids of vocabulary ``name``, in configured order."""
        return [entry.id for entry in self.vocabulary(name)]

    def alias_map(self, name: str) -> dict[str, str]:
        """Case-folded id or alias -> id, for mapping source values onto the vocabulary."""
        mapping: dict[str, str] = {}
        for entry in self.vocabulary(name):
            for label in (entry.id, entry.name_en, entry.name_zh, *entry.aliases):
                mapping.setdefault(label.strip().casefold(), entry.id)
        return mapping

    def label(self, name: str, value_id: str, lang: str = "en") -> str:
        """The display name of ``value_id`` in ``lang``: the id itself when the value or the
        whole vocabulary is not configured (a user's file may drop the display-only
        ``region``)."""
        if name != "channel" and name not in self.vocabularies:
            return value_id
        for entry in self.vocabulary(name):
            if entry.id == value_id:
                return entry.name(lang)
        return value_id

    def channel(self, channel_id: str) -> Channel:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise KeyError(
            f"unknown channel {channel_id!r}; configured: {', '.join(self.ids('channel'))}"
        )

    @property
    def sections(self) -> dict[str, Any]:
        """The capabilities' settings sections this configuration carries, by name."""
        return dict(self.model_extra or {})

    def section(self, name: str) -> Any:
        """The section ``name`` as given (``None`` when absent: the capability's defaults)."""
        return (self.model_extra or {}).get(name)

    def hotline_channel(self, leg: HotlineLeg) -> str:
        """The id of the channel marked ``hotline_leg: <leg>`` (``"ivr"`` or ``"agent"``).

        >>> from touchpoint.config import load_config
        >>> load_config().hotline_channel("agent")
        'agent'

        Raises
        ------
        ConfigError
            When no channel carries the mark.
        """
        for channel in self.channels:
            if channel.hotline_leg == leg:
                return channel.id
        raise ConfigError(
            f"configuration: no channel is marked hotline_leg: {leg}; add it to the hotline's "
            f"{leg} channel in the channels section (ids: {', '.join(self.ids('channel'))})"
        )
