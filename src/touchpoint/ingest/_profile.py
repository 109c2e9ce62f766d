"""Ingest profiles: map any export onto an entity of the contract without code.

A profile is a small versioned YAML file (``touchpoint ingest --profile FILE``) that says
which entity the files are and, for each contract column, where its value comes from: a
column of the export (renamed), or a date column and a time column combined, read with the
export's own formats (``%y%m%d``, ``%H:%M:%S`` with one-digit hours); which placeholder
values mean "missing" (``0:00:00``, ``NO_SERVER``); and how the export's codes map onto the
contract's vocabularies (``AGENT: served``). The profile runs on each batch as read, before
validation, so every contract check and the quarantine apply as to any other file.

Everything is vectorised (Arrow compute): no Python per row. A value the profile's format
cannot read is passed on as its text followed by the expected format, so validation
quarantines it as ``bad_type`` with that text.

>>> p = profile_from_data({"version": 1, "entity": "call_records",
...     "columns": {"call_id": "ID", "outcome": {"from": "result", "codes": {"A": "served"}}}})
>>> p.entity, p.rule("call_id").source
('call_records', 'ID')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchpoint.config import Config
from touchpoint.config.positions import yaml_line, yaml_with_positions
from touchpoint.contract import ENTITIES
from touchpoint.errors import SchemaError
from touchpoint.ingest._reading import dictionary_encode

# The strptime directives a profile's formats may use (all that Arrow reads on every platform).
_DIRECTIVES = "YymdHIMSpbBj%"
_DIRECTIVE = re.compile(r"%(.)")


class ProfileError(SchemaError):
    """An ingest profile is refused: one line naming the file, line, field and reason."""


_DAY_PARTS = set("YymdbBj")
_TIME_PARTS = set("HIMSp")


def _check_format(value: str | None, kind: str = "format") -> str | None:
    if value is None:
        return value
    found = _DIRECTIVE.findall(value)
    wrong = _TIME_PARTS if kind == "date_format" else _DAY_PARTS if kind == "time_format" else set()
    misplaced = sorted({d for d in found if d in wrong})
    if misplaced:
        part = "time of day" if kind == "date_format" else "date"
        raise ValueError(
            f"{value!r} reads a {part} ({', '.join('%' + d for d in misplaced)}); a "
            f"{kind} holds only the {'date' if kind == 'date_format' else 'time of day'}"
        )
    if not found:
        raise ValueError(f"{value!r} has no % directive; write e.g. %y%m%d or %H:%M:%S")
    unknown = sorted({d for d in found if d not in _DIRECTIVES})
    if unknown:
        raise ValueError(
            f"{value!r}: unknown directive(s) {', '.join('%' + d for d in unknown)}; use "
            f"{', '.join('%' + d for d in _DIRECTIVES if d != '%')}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnRule(_Strict):
    """Where one contract column's value comes from.

    ``from``: a column of the export (its name as in the header, case and surrounding blanks
    ignored), optionally read with ``format``; or ``date`` and ``time``: two columns
    combined into a timestamp, read with ``date_format`` and ``time_format`` (the profile's
    defaults when not given). ``missing``: placeholder values read as missing (besides the
    profile's). ``codes``: the export's codes mapped onto vocabulary ids (case ignored); a
    value not listed is passed on as it is (an id or alias of the vocabulary still reads).
    ``after``: another timestamp column of the profile, given before this one; where the
    time is earlier than that column's, it is on the next day (a call crossing midnight,
    whose export gives one date: the day it started).
    """

    source: str | None = Field(default=None, alias="from", min_length=1)
    format: str | None = None
    date: str | None = Field(default=None, min_length=1)
    time: str | None = Field(default=None, min_length=1)
    date_format: str | None = None
    time_format: str | None = None
    missing: tuple[str, ...] = ()
    codes: dict[str, str] = Field(default_factory=dict)
    after: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> ColumnRule:
        if self.source is not None and (self.date or self.time):
            raise ValueError("give 'from' or 'date' and 'time', not both")
        if self.source is None and not (self.date and self.time):
            raise ValueError("give 'from' (a column of the export) or both 'date' and 'time'")
        if self.source is not None and (self.date_format or self.time_format):
            raise ValueError("'date_format' and 'time_format' go with 'date' and 'time'")
        if self.source is None and self.format:
            raise ValueError("'format' goes with 'from'; use 'date_format' and 'time_format'")
        if self.after is not None and self.date is None:
            raise ValueError("'after' goes with 'date' and 'time' (a time of the same day)")
        for name in ("format", "date_format", "time_format"):
            try:
                _check_format(getattr(self, name), name)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    @property
    def inputs(self) -> tuple[str, ...]:
        """The export's columns this rule reads."""
        return (self.source,) if self.source is not None else (self.date or "", self.time or "")


class Profile(_Strict):
    """An ingest profile (see docs/capacity.md and the module docstring)."""

    version: Literal[1]
    entity: str
    date_format: str = "%Y-%m-%d"
    time_format: str = "%H:%M:%S"
    missing: tuple[str, ...] = ()
    columns: dict[str, ColumnRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _fits_the_entity(self) -> Profile:
        if self.entity not in ENTITIES:
            raise ValueError(
                f"entity: unknown entity {self.entity!r}; use one of {', '.join(ENTITIES)}"
            )
        entity = ENTITIES[self.entity]
        names = [c.name for c in entity.columns]
        for name, rule in self.columns.items():
            if name not in names:
                raise ValueError(
                    f"columns.{name}: not a column of {self.entity}; its columns are "
                    f"{', '.join(names)}"
                )
            column = entity.column(name)
            if rule.date is not None and column.dtype != "timestamp":
                raise ValueError(
                    f"columns.{name}: 'date' and 'time' make a timestamp, but {name} is a "
                    f"{column.dtype}"
                )
            if rule.format is not None and column.dtype not in ("date", "timestamp"):
                raise ValueError(
                    f"columns.{name}: 'format' reads dates and timestamps, but {name} is a "
                    f"{column.dtype}"
                )
            if rule.codes and not column.vocabulary:
                raise ValueError(
                    f"columns.{name}: 'codes' map onto a vocabulary, and {name} has none"
                )
            if rule.after is not None:
                earlier = list(self.columns)[: list(self.columns).index(name)]
                stamps = [n for n in earlier if _makes_stamps(self.columns[n])]
                if rule.after not in stamps:
                    raise ValueError(
                        f"columns.{name}: 'after' names {rule.after!r}, which is not a "
                        "timestamp column given before it in the profile"
                        + (f" ({', '.join(stamps)})" if stamps else "")
                    )
        for name in ("date_format", "time_format"):
            try:
                _check_format(getattr(self, name), name)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    def fingerprint(self) -> str:
        """A hash of what the profile does (its fields, not its file's comments)."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rule(self, name: str) -> ColumnRule:
        return self.columns[name]

    def check_codes(
        self, config: Config, where: str = "profile", root: yaml.Node | None = None
    ) -> None:
        """Refuse codes mapped onto values the configured vocabulary does not have."""
        entity = ENTITIES[self.entity]
        for name, rule in self.columns.items():
            vocabulary = entity.column(name).vocabulary
            if not rule.codes or vocabulary is None:
                continue
            ids = config.ids(vocabulary)
            for code, target in rule.codes.items():
                if target not in ids:
                    line = yaml_line(root, ("columns", name, "codes", code))
                    raise ProfileError(
                        f"{where}{f', line {line}' if line else ''}, field "
                        f"'columns.{name}.codes.{code}': {target!r} is not a "
                        f"value of the vocabulary {vocabulary} ({', '.join(ids)})"
                    )

    def apply(self, table: pa.Table, null_values: tuple[str, ...] | list[str] = ()) -> pa.Table:
        """The export's ``table`` as the contract's columns (then its unused columns).

        A rule whose input column the export lacks gives no column: a required one is then
        quarantined as ``missing_column`` by validation, as for any file.
        """
        by_name = {_folded(n): n for n in table.column_names}
        used: set[str] = set()
        names, columns = [], []
        read: dict[str, pa.ChunkedArray] = {}  # the timestamps read so far, for ``after``
        for target, rule in self.columns.items():
            found = [by_name.get(_folded(i)) for i in rule.inputs]
            if any(f is None for f in found):
                continue
            used.update(f for f in found if f is not None)
            markers = sorted({"", *null_values, *self.missing, *rule.missing})
            texts = [_text(table.column(f), markers) for f in found if f is not None]
            names.append(target)
            if not _makes_stamps(rule):
                columns.append(self._value(rule, texts))
                continue
            stamps, unreadable = self._stamps(rule, texts)
            if rule.after is not None and rule.after in read:
                before = pc.fill_null(pc.less(stamps, read[rule.after]), False)
                next_day = pc.add(stamps, pa.scalar(86400, pa.duration("s")))
                stamps = pc.if_else(before, next_day, stamps)
            read[target] = stamps
            columns.append(pc.if_else(pc.is_valid(stamps), _stamp_text(stamps), unreadable))
        for name in table.column_names:  # set aside by validation, listed as ignored
            if name not in used and _folded(name) not in {_folded(n) for n in names}:
                names.append(name)
                columns.append(table.column(name))
        return pa.Table.from_arrays(columns, names=names)

    def _stamps(
        self, rule: ColumnRule, texts: list[pa.ChunkedArray]
    ) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
        """The timestamps read (null where missing or unreadable) and the unreadable text."""
        if rule.date is None:
            fmt = rule.format or ""
            stamps = _read_distinct(texts[0], fmt)
            return stamps, _unreadable(texts[0], stamps, fmt)
        date_format = rule.date_format or self.date_format
        time_format = rule.time_format or self.time_format
        date, time = texts
        day = _read_distinct(date, date_format)
        clock = _read_distinct(time, time_format)  # on 1900-01-01, strptime's default day
        since_midnight = pc.subtract(clock, pa.scalar(dt.datetime(1900, 1, 1), clock.type))
        stamps = pc.add(day, since_midnight)  # null where either is: a missing time is missing
        joined = pc.binary_join_element_wise(pc.fill_null(date, ""), time, " ")
        return stamps, _unreadable(joined, stamps, f"{date_format} {time_format}")

    def _value(self, rule: ColumnRule, texts: list[pa.ChunkedArray]) -> pa.ChunkedArray:
        value = texts[0]
        if rule.codes:
            return _mapped(value, rule.codes)
        return value


def _folded(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().casefold()


def _text(values: pa.ChunkedArray | pa.Array, markers: list[str]) -> pa.ChunkedArray:
    """Trimmed text, placeholders as nulls."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    is_marker = pc.is_in(text, value_set=pa.array(markers, pa.string()))
    return pc.if_else(is_marker, pa.scalar(None, pa.string()), text)


def _without_padding(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Leading zeros of each run of digits dropped, case folded: ``07:02`` reads as ``7:2``."""
    return pc.utf8_lower(pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2"))


def _makes_stamps(rule: ColumnRule) -> bool:
    return rule.date is not None or rule.format is not None


def _stamp_text(stamps: pa.ChunkedArray) -> pa.ChunkedArray:
    """``YYYY-MM-DD HH:MM:SS``: a cast writes it 30 times faster than strftime."""
    return stamps.cast(pa.timestamp("s")).cast(pa.string())


def _read_distinct(text: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    """``text`` read with ``fmt``, each distinct value once (null where missing or not read).

    strptime rolls a day past the month's end over (``990231`` would be 3 March) and may
    stop before the end of the text: a value counts as read only when writing the instant
    back with ``fmt`` gives the same text, up to zero padding and case. An export repeats
    its dates and times of day, so reading the distinct values spares most of the work.
    """
    distinct, indices = dictionary_encode(text)
    stamps = pc.strptime(distinct, format=fmt, unit="s", error_is_null=True)
    written = pc.strftime(stamps, format=fmt)
    is_read = pc.fill_null(pc.equal(_without_padding(written), _without_padding(distinct)), False)
    stamps = pc.if_else(is_read, stamps, pa.scalar(None, stamps.type))
    if len(indices) == 0:
        return pa.chunked_array([], stamps.type)
    return pc.take(stamps, indices)


def _unreadable(text: pa.ChunkedArray, stamps: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    """The text of the values given but not read, followed by the format (else null)."""
    is_bad = pc.and_(pc.is_valid(text), pc.is_null(stamps))
    if not pc.any(is_bad).as_py():
        return pa.chunked_array([pa.nulls(len(text), pa.string())])
    marked = pc.binary_join_element_wise(text, pa.scalar(f"(not {fmt})"), " ")
    return pc.if_else(is_bad, marked, pa.scalar(None, pa.string()))


def _mapped(text: pa.ChunkedArray, codes: Mapping[str, str]) -> pa.ChunkedArray:
    keys = pa.array([k.strip().lower() for k in codes], pa.string())
    targets = pa.array(list(codes.values()), pa.string())
    where = pc.index_in(pc.utf8_lower(text), value_set=keys)
    return pc.if_else(pc.is_valid(where), pc.take(targets, pc.fill_null(where, 0)), text)


def _field_of(message: str, loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...], str]:
    """A model-level message ``columns.x: why`` names its own field."""
    head, sep, rest = message.partition(": ")
    if sep and not loc and re.fullmatch(r"[\w.%-]+", head):
        return head, tuple(head.split(".")), rest
    return ".".join(str(x) for x in loc) or "(top)", loc, message


def profile_from_data(data: Any, source: str = "profile", root: yaml.Node | None = None) -> Profile:
    """Validate ``data``; the first problem is named with its field (and line, from a file)."""
    if not isinstance(data, Mapping):
        raise ProfileError(
            f"{source}: a profile is a mapping of fields (version, entity, columns...), got "
            f"{type(data).__name__}"
        )
    try:
        return Profile.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                x for x in err["loc"] if not str(x).startswith(("function-", "str", "ColumnRule"))
            )
            message = err["msg"].removeprefix("Value error, ")
            field, loc, message = _field_of(message, loc)
            if field == "columns" and len(loc) > 1:
                field = ".".join(str(x) for x in loc)
            if err["type"] == "extra_forbidden":
                message = "unknown field"
            elif (
                "input" in err
                and err["type"] != "missing"
                and not isinstance(err["input"], dict | list)
            ):
                message += f" (got {err['input']!r})"
            line = yaml_line(root, loc)
            where = f"{source}, line {line}" if line else source
            problems.append(f"{where}, field '{field}': {message}")
        raise ProfileError("; ".join(dict.fromkeys(problems))) from None


def load_profile(path: str | Path, config: Config | None = None) -> Profile:
    """Read and validate an ingest profile (and its codes against ``config``'s vocabularies).

    Raises
    ------
    ProfileError
        One line naming the file, the line and the field of the problem, and why.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text; save the profile as UTF-8") from None
    data, root = yaml_with_positions(text, str(path), ProfileError)
    profile = profile_from_data(data, str(path), root)
    if config is not None:
        profile.check_codes(config, str(path), root)
    return profile
