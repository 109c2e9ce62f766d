"""Reading one column as its contract type, vectorised, without ever raising on a bad value.

Each parser returns the typed values (null where the value is missing or unreadable) and two
masks: which rows have no value, which have a value that cannot be read. Text is trimmed and
the configured null markers count as missing. Typed sources (Parquet, JSON numbers) are used
as they are when their type fits, else read through their text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.config import Config
from touchpoint.contract.arrow import ARROW_TYPES
from touchpoint.contract.formats import DATE_FORMATS, FALSE_WORDS, TIMESTAMP_FORMATS, TRUE_WORDS
from touchpoint.ingest._reading import dictionary_encode

TIMESTAMP = pa.timestamp("us")

# What is left of an ISO 8601 value once the formats above failed: fraction and/or offset.
_ISO_TAIL = r"^(?P<base>.+?)(?P<fraction>\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
_DAY_IN_TEXT = r"^\d{4}(?:[-/]\d{1,2}[-/]|\d{2})(?P<day>\d{1,2})"
_INTEGER = r"^[+-]?\d{1,18}(?:\.0*)?$"
_FLOAT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?$"


@dataclass(frozen=True)
class Parsed:
    """A column read as its contract type."""

    values: pa.Array  # null where missing or bad
    is_missing: pa.Array  # boolean: no value given
    is_bad: pa.Array  # boolean: a value given that cannot be read as the type


def all_false(n: int) -> pa.Array:
    return pa.array(np.zeros(n, dtype=bool))


def clean_text(values: pa.Array, null_values: Sequence[str]) -> pa.Array:
    """Trimmed text, with blanks and null markers as nulls."""
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    text = pc.utf8_trim_whitespace(values)
    markers = pa.array(sorted({"", *null_values}), type=pa.string())
    is_marker = pc.is_in(text, value_set=markers)
    if not pc.any(is_marker).as_py():  # the common case: spare a copy of the column
        return text
    return pc.if_else(is_marker, pa.scalar(None, pa.string()), text)


def is_text_dictionary(values: pa.Array | pa.ChunkedArray) -> bool:
    """A dictionary-encoded text column (Parquet's own dictionary, read as such)."""
    t = values.type
    return pa.types.is_dictionary(t) and (
        pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)
    )


def _shared_dictionary(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.ChunkedArray]:
    """The one dictionary of a dictionary column and its indices (chunks unified if needed)."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if values.num_chunks == 0:
        return pa.array([], values.type.value_type), pa.chunked_array([], values.type.index_type)
    first = values.chunk(0).dictionary
    if any(not c.dictionary.equals(first) for c in values.chunks[1:]):
        values = pa.table({"v": values}).unify_dictionaries().column("v")
        first = values.chunk(0).dictionary
    return first, pa.chunked_array([c.indices for c in values.chunks], values.type.index_type)


def text_dictionary(distinct: pa.Array, indices: pa.ChunkedArray) -> pa.ChunkedArray:
    """Rows as a dictionary column over ``distinct`` (nulls and repeats allowed in it).

    The dictionary of the result holds each value once and no null; rows whose entry is null
    get a null index. Nothing is copied per row but the indices.
    """
    if pa.types.is_large_string(distinct.type):
        distinct = distinct.cast(pa.string())
    uniques = pc.unique(pc.drop_null(distinct))
    remap = pc.index_in(distinct, value_set=uniques)  # int32, null where ``distinct`` is null
    new_indices = pc.take(remap, indices) if len(indices) else pa.chunked_array([], pa.int32())
    type_ = pa.dictionary(pa.int32(), pa.string())
    return pa.chunked_array(
        [pa.DictionaryArray.from_arrays(c, uniques) for c in new_indices.chunks], type_
    )


def parse_distinct(values: pa.Array | pa.ChunkedArray, parse) -> Parsed:
    """Read a dictionary column by reading each distinct value once with ``parse``.

    ``parse(distinct: pa.Array) -> Parsed``. Text results stay dictionary-encoded; other
    types are spread to one value per row.
    """
    dictionary, indices = _shared_dictionary(values)
    parsed = parse(dictionary)
    if pa.types.is_string(parsed.values.type) or pa.types.is_large_string(parsed.values.type):
        result = text_dictionary(parsed.values, indices)
    else:
        result = pc.take(parsed.values, indices)
    n = len(indices)
    # Spread the flags to the rows only when some distinct value has one: usually none has.
    if indices.null_count == 0 and not pc.any(parsed.is_missing).as_py():
        is_missing = all_false(n)
    else:
        is_missing = pc.fill_null(pc.take(parsed.is_missing, indices), True)  # a null index
    if pc.any(parsed.is_bad).as_py():
        is_bad = pc.fill_null(pc.take(parsed.is_bad, indices), False)
    else:
        is_bad = all_false(n)
    return Parsed(result, is_missing, is_bad)


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``values`` without dictionary encoding."""
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


def as_text(values: pa.Array) -> pa.Array | None:
    """Any column as text (numbers, dates, ...), or ``None`` for nested values (lists, objects)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    if pa.types.is_nested(values.type):
        return None
    try:
        return values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _from_text(text: pa.Array, values: pa.Array, is_readable: pa.Array) -> Parsed:
    is_missing = pc.is_null(text)
    is_bad = pc.and_(pc.invert(is_missing), pc.invert(pc.fill_null(is_readable, False)))
    return Parsed(values, is_missing, is_bad)


def _only(mask: pa.Array, values: pa.Array) -> pa.Array:
    """``values`` where ``mask`` holds, null elsewhere."""
    return pc.if_else(pc.fill_null(mask, False), values, pa.scalar(None, values.type))


def _try_cast(values: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Arrow's strict cast of a whole column, or ``None`` if any value refuses it.

    The cast is several times faster than the regex and strptime paths, and a clean file
    (the common case) passes it whole; a file with one bad value takes the careful path.
    """
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _fill(values: pa.Array, mask: pa.Array, replacements: pa.Array) -> pa.Array:
    """``values`` with the positions where ``mask`` holds taken, in order, from ``replacements``."""
    return pc.replace_with_mask(
        _one_chunk(values), _one_chunk(pc.fill_null(mask, False)), _one_chunk(replacements)
    )


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Kernels of the rare paths (``replace_with_mask``) want one array, not chunks."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def _via_dictionary(text: pa.Array, read_label, dtype: pa.DataType) -> Parsed:
    """Read a column of few distinct values by reading each distinct value once.

    ``read_label(label) -> (value, kind)`` with kind ``"ok"``, ``"missing"`` or ``"bad"``.
    """
    dictionary, indices = dictionary_encode(text)
    read = [read_label(label) for label in dictionary.to_pylist()]

    def spread(values: list, type_: pa.DataType) -> pa.Array:
        return pc.take(pa.array(values, type_), indices) if values else pa.nulls(len(text), type_)

    values = spread([value for value, _ in read], dtype)
    is_missing = pc.fill_null(spread([kind == "missing" for _, kind in read], pa.bool_()), True)
    is_bad = pc.fill_null(spread([kind == "bad" for _, kind in read], pa.bool_()), False)
    return Parsed(values, is_missing, is_bad)


def parse_int(text: pa.Array) -> Parsed:
    fast = _try_cast(text, pa.int64())
    if fast is not None:
        return _from_text(text, fast, pc.is_valid(fast))
    is_readable = pc.match_substring_regex(text, _INTEGER)
    # Arrow's integer cast refuses an explicit plus sign ("+0"), which the pattern allows.
    digits = pc.replace_substring_regex(_only(is_readable, text), r"^\+", "")
    if pc.any(pc.match_substring(digits, ".")).as_py():
        digits = pc.replace_substring_regex(digits, r"\.0*$", "")
    return _from_text(text, digits.cast(pa.int64()), is_readable)


def parse_float(text: pa.Array) -> Parsed:
    fast = _try_cast(text, pa.float64())
    if fast is not None:  # Arrow also reads "inf" and "nan": no amount either
        is_finite = pc.is_finite(fast)
        return _from_text(text, _only(is_finite, fast), is_finite)
    looks_numeric = pc.match_substring_regex(text, _FLOAT)
    values = _only(looks_numeric, text).cast(pa.float64())
    is_readable = pc.and_(looks_numeric, pc.is_finite(values))  # 1e999 is no amount
    return _from_text(text, _only(is_readable, values), is_readable)


def parse_bool(raw_text: pa.Array, null_values: Sequence[str]) -> Parsed:
    missing = {"", *null_values}

    def read(label: str) -> tuple[bool | None, str]:
        folded = label.strip().casefold()
        if label.strip() in missing:
            return None, "missing"
        if folded in TRUE_WORDS or folded in FALSE_WORDS:
            return folded in TRUE_WORDS, "ok"
        return None, "bad"

    return _via_dictionary(raw_text, read, pa.bool_())


def parse_vocabulary(
    values: pa.Array, alias_map: dict[str, str], null_values: Sequence[str]
) -> Parsed:
    """Ids for values given as an id, a name or an alias, ignoring case and blanks.

    ``is_bad`` marks values outside the vocabulary. Each distinct value is looked up once.
    """
    if is_text_dictionary(values):  # ids stay dictionary-encoded: no string per row
        return parse_distinct(values, lambda d: parse_vocabulary(d, alias_map, null_values))
    text = as_text(values)
    if text is None:
        is_missing = pc.is_null(values)
        return Parsed(pa.nulls(len(values), pa.string()), is_missing, pc.invert(is_missing))
    missing = {"", *null_values}

    def read(label: str) -> tuple[str | None, str]:
        if label.strip() in missing:
            return None, "missing"
        found = alias_map.get(label.strip().casefold())
        return found, "ok" if found is not None else "bad"

    return _via_dictionary(text, read, pa.string())


def _by_fit(text: pa.Array, formats: Sequence[str]) -> list[str]:
    """``formats`` ordered by how many of the first values each reads: the file's own first."""
    sample = pc.drop_null(text.slice(0, 200))
    hits = [
        pc.sum(pc.is_valid(pc.strptime(sample, format=f, unit="us", error_is_null=True))).as_py()
        or 0
        for f in formats
    ]
    return [f for _, f in sorted(zip(hits, formats, strict=True), key=lambda hf: -hf[0])]


def _strptime_cascade(text: pa.Array, formats: Sequence[str]) -> pa.Array:
    """Try each format on the values no earlier format could read (most files use one)."""
    formats = _by_fit(text, formats)
    result = pa.nulls(len(text), TIMESTAMP)
    pending = pc.is_valid(text)
    for fmt in formats:
        if not pc.any(pending).as_py():
            break
        parsed = pc.strptime(_only(pending, text), format=fmt, unit="us", error_is_null=True)
        result = pc.coalesce(result, parsed)
        pending = pc.and_(pending, pc.is_null(parsed))
    return _reject_day_overflow(text, result)


def _reject_day_overflow(text: pa.Array, parsed: pa.Array) -> pa.Array:
    """``strptime`` rolls 2026-02-30 over to March 2nd: null such values.

    An overflowed day always lands on the 1st to 3rd of the next month, so only those
    rows are checked against the day written in the text.
    """
    suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)
    if not pc.any(suspect).as_py():
        return parsed
    day_in_text = pc.struct_field(pc.extract_regex(_only(suspect, text), _DAY_IN_TEXT), [0])
    rolled = pc.fill_null(pc.not_equal(day_in_text.cast(pa.int64()), pc.day(parsed)), False)
    return pc.if_else(rolled, pa.scalar(None, TIMESTAMP), parsed)


def _to_local(instants_utc: pa.Array, timezone: str) -> pa.Array:
    """UTC instants as naive local time in ``timezone``."""
    zoned = instants_utc.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=timezone))
    return pc.local_timestamp(zoned)


def _parse_iso_tail(text: pa.Array, timezone: str) -> pa.Array:
    """Values with a fraction of a second and/or a UTC offset, as naive local time."""
    parts = pc.extract_regex(text, _ISO_TAIL)
    base = _strptime_cascade(pc.struct_field(parts, [0]), TIMESTAMP_FORMATS)
    fraction = pc.struct_field(parts, [1])
    offset = pc.struct_field(parts, [2])
    # ".5" -> 500000 microseconds: drop the dot, pad to nanoseconds, keep six digits.
    micros = pc.utf8_slice_codeunits(
        pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 1), width=9, padding="0"), 0, 6
    ).cast(pa.int64())
    micros = pc.if_else(pc.equal(fraction, ""), 0, micros)
    local = pc.add(base.cast(pa.int64()), micros)
    has_offset = pc.and_(pc.is_valid(offset), pc.not_equal(offset, ""))
    if pc.any(has_offset).as_py():
        digits = pc.replace_substring(pc.utf8_slice_codeunits(offset, 1), ":", "")
        hours = pc.utf8_slice_codeunits(digits, 0, 2)
        minutes = pc.utf8_slice_codeunits(pc.utf8_rpad(digits, width=4, padding="0"), 2, 4)
        offset_minutes = pc.add(
            pc.multiply(pc.if_else(pc.equal(hours, ""), "0", hours).cast(pa.int64()), 60),
            pc.if_else(pc.equal(minutes, ""), "0", minutes).cast(pa.int64()),
        )
        sign = pc.if_else(pc.starts_with(offset, "-"), -1, 1)
        offset_micros = pc.multiply(pc.multiply(offset_minutes, sign), 60_000_000)
        offset_micros = pc.if_else(pc.equal(pc.utf8_lower(offset), "z"), 0, offset_micros)
        utc = pc.subtract(local, offset_micros).cast(TIMESTAMP)
        converted = _to_local(utc, timezone)
        return pc.if_else(has_offset, converted, local.cast(TIMESTAMP))
    return local.cast(TIMESTAMP)


def _has_time(text: pa.Array) -> bool:
    """No value is as short as a date alone (Arrow's cast would read "2026-03-01" as midnight)."""
    shortest = pc.min(pc.utf8_length(text)).as_py()
    return shortest is None or shortest > len("2026-03-01")


def _fast_timestamps(text: pa.Array, timezone: str) -> pa.Array | None:
    """A whole column of ISO 8601 timestamps, all without or all with a UTC offset."""
    if not _has_time(text):
        return None
    naive = _try_cast(text, TIMESTAMP)
    if naive is not None:
        return naive
    zoned = _try_cast(text, pa.timestamp("us", tz="UTC"))
    return None if zoned is None else _to_local(zoned, timezone)


def parse_timestamp(text: pa.Array, timezone: str) -> Parsed:
    fast = _fast_timestamps(text, timezone)
    if fast is not None:
        return _from_text(text, fast, pc.is_valid(fast))
    values = _strptime_cascade(text, TIMESTAMP_FORMATS)
    pending = pc.and_(pc.is_valid(text), pc.is_null(values))
    if pc.any(pending).as_py():  # fractions of a second, offsets: only these rows
        values = _fill(values, pending, _parse_iso_tail(text.filter(pending), timezone))
    return _from_text(text, values, pc.is_valid(values))


def parse_date(text: pa.Array, timezone: str) -> Parsed:
    fast = _try_cast(text, pa.date32())  # ISO dates, the common case
    if fast is not None:
        return _from_text(text, fast, pc.is_valid(fast))
    stamps = _strptime_cascade(text, DATE_FORMATS)
    pending = pc.and_(pc.is_valid(text), pc.is_null(stamps))
    if pc.any(pending).as_py():  # "2026-03-01 00:00:00" is a date; "... 08:00:00" is not
        stamps = pc.coalesce(
            stamps, _midnight_only(parse_timestamp(_only(pending, text), timezone).values)
        )
    return _from_text(text, stamps.cast(pa.date32()), pc.is_valid(stamps))


def _midnight_only(stamps: pa.Array) -> pa.Array:
    is_midnight = pc.equal(
        pc.subtract(stamps, pc.floor_temporal(stamps, unit="day")), pa.scalar(0, pa.duration("us"))
    )
    return _only(is_midnight, stamps)


def _typed(values: pa.Array, is_bad: pa.Array | None = None) -> Parsed:
    """Values already of the contract type; ``is_bad`` marks given values that were refused."""
    is_bad = all_false(len(values)) if is_bad is None else is_bad
    return Parsed(values, pc.and_(pc.is_null(values), pc.invert(is_bad)), is_bad)


def _parse_typed(values: pa.Array, dtype: str, timezone: str) -> Parsed | None:
    """Columns whose source type already fits; ``None`` when they must be read through text."""
    t = values.type
    if dtype == "int64" and pa.types.is_integer(t):
        try:
            return _typed(values.cast(pa.int64()))
        except pa.ArrowInvalid:
            return None  # uint64 beyond int64: let the text path call it bad
    if dtype == "int64" and pa.types.is_floating(t):
        whole = pc.and_(pc.is_finite(values), pc.equal(pc.floor(values), values))
        in_range = pc.less(pc.abs(values), 2.0**53)
        readable = pc.fill_null(pc.and_(whole, in_range), False)
        nan = pc.fill_null(pc.is_nan(values), False)
        return _typed(
            _only(readable, values).cast(pa.int64()),
            pc.and_(pc.and_(pc.is_valid(values), pc.invert(readable)), pc.invert(nan)),
        )
    if dtype == "float64" and (
        pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)
    ):
        as_float = values.cast(pa.float64())
        nan = pc.fill_null(pc.is_nan(as_float), False)  # NaN means "no value" in dataframes
        infinite = pc.fill_null(pc.is_inf(as_float), False)
        return _typed(_only(pc.invert(pc.or_(nan, infinite)), as_float), infinite)
    if dtype == "boolean" and pa.types.is_boolean(t):
        return _typed(values)
    if dtype == "timestamp" and pa.types.is_timestamp(t):
        if t.tz is not None:
            return _typed(_to_local(values, timezone))
        return _typed(values.cast(TIMESTAMP, safe=False))
    if dtype == "date" and (pa.types.is_date(t)):
        return _typed(values.cast(pa.date32()))
    if dtype == "date" and pa.types.is_timestamp(t):
        local = (
            _to_local(values, timezone) if t.tz is not None else values.cast(TIMESTAMP, safe=False)
        )
        midnight = _midnight_only(local)
        return _typed(midnight.cast(pa.date32()), pc.and_(pc.is_valid(local), pc.is_null(midnight)))
    return None  # text (trimmed on the text path) or a type that must be read through text


_CASTABLE = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "timestamp": TIMESTAMP,
}


def parse_column(
    values: pa.Array, dtype: str, *, timezone: str, null_values: Sequence[str]
) -> Parsed:
    """Read ``values`` as the contract type ``dtype``.

    Parameters
    ----------
    values
        The source column, of any Arrow type.
    dtype
        ``string``, ``int64``, ``float64``, ``boolean``, ``date`` or ``timestamp``.
    timezone
        Values with a UTC offset are converted to this zone and stored as naive local time.
    null_values
        Texts that mean "no value" (after trimming).
    """
    if is_text_dictionary(values):  # each distinct value once; text stays dictionary-encoded
        return parse_distinct(
            values,
            lambda d: parse_column(d, dtype, timezone=timezone, null_values=null_values),
        )
    typed = _parse_typed(values, dtype, timezone)
    if typed is not None:
        return typed
    raw_text = as_text(values)
    if raw_text is None:  # lists or objects: no scalar type can hold them
        is_missing = pc.is_null(values)
        return Parsed(pa.nulls(len(values), ARROW_TYPES[dtype]), is_missing, pc.invert(is_missing))
    if dtype == "boolean":
        return parse_bool(raw_text, null_values)
    if dtype in _CASTABLE:  # a clean column casts whole, without trimming first
        fast = _try_cast(raw_text, _CASTABLE[dtype])
        if fast is not None and (dtype != "timestamp" or _has_time(raw_text)):
            if dtype == "float64":
                return _from_text(raw_text, _only(pc.is_finite(fast), fast), pc.is_finite(fast))
            return _from_text(raw_text, fast, pc.is_valid(fast))
    text = clean_text(raw_text, null_values)
    if dtype == "string":
        return Parsed(text, pc.is_null(text), all_false(len(text)))
    if dtype == "int64":
        return parse_int(text)
    if dtype == "float64":
        return parse_float(text)
    if dtype == "date":
        return parse_date(text, timezone)
    if dtype == "timestamp":
        return parse_timestamp(text, timezone)
    raise ValueError(f"no parser for contract type {dtype!r}")


def plausible_range(config: Config, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last day a source date or timestamp may fall on (both included).

    ``ingest.earliest_date`` and ``ingest.latest_date`` of the configuration; without a
    latest date, the last day of the year after ``today`` (in the configured time zone).

    >>> from touchpoint.config import load_config
    >>> plausible_range(load_config(), today=dt.date(2026, 12, 2))
    (datetime.date(1900, 1, 1), datetime.date(2027, 12, 31))
    """
    latest = config.ingest.latest_date
    if latest is None:
        today = today or dt.datetime.now(ZoneInfo(config.timezone)).date()
        latest = dt.date(today.year + 1, 12, 31)
    return config.ingest.earliest_date, latest


def drop_out_of_range(
    values: pa.Array | pa.ChunkedArray, first: dt.date, last: dt.date
) -> tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray]:
    """Dates or timestamps with those before ``first`` or after the day ``last`` nulled, and
    where they were.

    Such values read as a date (``0000-01-01`` is a valid ISO text) but no customer joined
    before 1900, and a year-0 date cannot even be shown by Python: the row is quarantined
    as ``out_of_range`` instead of taking reports down later. Nulled, the value takes no
    part in the later checks (an order check or a key would have to show it).
    """
    if pa.types.is_timestamp(values.type):
        low = pa.scalar(dt.datetime.combine(first, dt.time()), values.type)
        high = pa.scalar(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()), values.type)
        is_out = pc.or_(pc.less(values, low), pc.greater_equal(values, high))
    else:
        low, high = pa.scalar(first, values.type), pa.scalar(last, values.type)
        is_out = pc.or_(pc.less(values, low), pc.greater(values, high))
    if not pc.any(is_out).as_py():  # the usual case: nothing to copy
        return values, is_out
    return pc.if_else(is_out, pa.scalar(None, values.type), values), is_out
