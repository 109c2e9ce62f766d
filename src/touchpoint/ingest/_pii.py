"""Phone numbers (MSISDN) are personal data: ingest keeps only a keyed hash of them.

The hash is HMAC-SHA256 of the normalised number under a secret key. The key comes from the
environment variable named by ``config.pii.key_env``, else from ``config.pii.key_file``, else
from ``<warehouse file>.pii.key`` beside the warehouse; a missing key file is created with a
random key, readable by its owner only. Whoever holds the key can hash a number to look a
customer up (:func:`msisdn_lookup_hash`); nobody can turn a hash back into the number.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.config import Config, load_config
from touchpoint.contract import Entity
from touchpoint.contract.formats import MSISDN_DIGITS
from touchpoint.errors import ConfigError
from touchpoint.ingest._reading import dictionary_encode
from touchpoint.warehouse import database_path

MIN_KEY_LENGTH = 16
KEY_FILE_SUFFIX = ".pii.key"

# Blanks, dashes, dots and brackets people put inside numbers; then the country code of China.
_SEPARATORS = r"[\s\-.()]"
_COUNTRY_CODE = r"^(?:\+86|0086)"
_VALID_NUMBER = rf"^\d{{{MSISDN_DIGITS[0]},{MSISDN_DIGITS[1]}}}$"

# An in-memory warehouse has no file to keep a key beside: it gets one key per process.
_PROCESS_KEY = secrets.token_hex(32).encode("ascii")


def normalise_msisdn(number: str) -> str:
    """The canonical form of a phone number: digits only, without the +86 / 0086 prefix.

    >>> normalise_msisdn(" +86 138-0013-8000 ")
    '13800138000'
    """
    digits = re.sub(_SEPARATORS, "", number)
    return re.sub(_COUNTRY_CODE, "", digits)


def hash_msisdn(number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised ``number`` under ``key``: what ingest stores.

    >>> hash_msisdn("13800138000", b"k" * 32) == hash_msisdn("+86 138 0013 8000", b"k" * 32)
    True
    """
    return hmac.digest(key, normalise_msisdn(number).encode("utf-8"), "sha256").hex()


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"{path}: the PII key file holds {len(key)} characters, expected at least "
                f"{MIN_KEY_LENGTH}; delete it to get a new random key (hashes already stored "
                "will no longer match) or put the right key back"
            ) from None
        return key
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the PII key file: {exc.strerror}") from None
    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def pii_key(con: DuckDBBackend | None, config: Config | None = None) -> bytes:
    """The secret key of the MSISDN hash for the warehouse ``con``.

    Parameters
    ----------
    con
        The warehouse; its file decides where the default key file lives.
        ``None`` or an in-memory warehouse without a configured key uses a random key that
        lasts as long as the process.
    config
        Gives ``pii.key_env`` and ``pii.key_file``.

    Raises
    ------
    ConfigError
        When the key is too short or its file cannot be created.
    """
    config = config or load_config()
    from_env = os.environ.get(config.pii.key_env)
    if from_env is not None:
        key = from_env.strip().encode("utf-8")
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"${config.pii.key_env} holds a PII key of {len(key)} characters, expected at "
                f"least {MIN_KEY_LENGTH}; set a long random value (e.g. `openssl rand -hex 32`)"
            )
        return key
    if config.pii.key_file:
        return _read_or_create_key_file(Path(config.pii.key_file).expanduser())
    warehouse = database_path(con) if con is not None else None
    if warehouse is None:
        return _PROCESS_KEY
    return _read_or_create_key_file(warehouse.with_name(warehouse.name + KEY_FILE_SUFFIX))


def msisdn_lookup_hash(con: DuckDBBackend, number: str, *, config: Config | None = None) -> str:
    """The ``msisdn_hash`` that ingest stored for ``number`` in the warehouse ``con``.

    Use it to find a customer by phone number without storing or comparing the number itself:
    ``stg_customers.filter(_.msisdn_hash == msisdn_lookup_hash(con, "138 0013 8000"))``.
    """
    return hash_msisdn(number, pii_key(con, config))


def normalise_msisdn_array(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Vectorised :func:`normalise_msisdn`; also says which present values are no phone number.

    Returns the normalised numbers (null where missing or invalid) and a boolean mask of the
    present values that are not 5 to 15 digits once normalised.
    """
    digits = pc.replace_substring_regex(values, _SEPARATORS, "")
    digits = pc.replace_substring_regex(digits, _COUNTRY_CODE, "")
    is_valid = pc.match_substring_regex(digits, _VALID_NUMBER)
    is_bad = pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(is_valid, False)))
    return pc.if_else(is_valid, digits, pa.scalar(None, pa.string())), pc.fill_null(is_bad, False)


def hash_msisdn_array(numbers: pa.Array, key: bytes) -> pa.Array:
    """HMAC-SHA256 (hex) of each already-normalised number; nulls stay null.

    The HMAC runs once per distinct number (a subscriber appears once in a profile snapshot,
    so this is one per row there, but many times fewer on event files).
    """
    dictionary, indices = dictionary_encode(numbers)
    hashed = pa.array(
        [hmac.digest(key, n.encode("utf-8"), "sha256").hex() for n in dictionary.to_pylist()],
        type=pa.string(),
    )
    if len(hashed) == 0:
        return pa.nulls(len(numbers), pa.string())
    return pc.take(hashed, indices)


def mask_digits(text: str) -> str:
    """``text`` with every digit replaced by ``*``: keeps the shape of a bad phone number only.

    >>> mask_digits("+86 138-0013-800x")
    '+** ***-****-***x'
    """
    return re.sub(r"\d", "*", text)


def mask_digits_array(values: pa.Array) -> pa.Array:
    """Vectorised :func:`mask_digits`."""
    return pc.replace_substring_regex(values, "[0-9\uff10-\uff19]", "*")  # full width too


def mask_number_runs(text: str) -> str:
    """Mask runs of 7 or more digits (with blanks or dashes between): phone numbers in a raw line."""
    return re.sub(r"\d[\d \-]{5,}\d", lambda m: mask_digits(m.group(0)), text)


# -- Phone numbers inside any other value --------------------------------------------------
#
# A Chinese mobile number is 1, then 3 to 9, then nine digits (ASCII or full-width); blanks,
# tabs or dashes may stand between any two digits, and +86, 0086 or 86 may come before. It
# is never part of a longer run of digits, but may touch letters or Chinese text. Arrow's
# regex engine (RE2) has no look-arounds, so the vectorised test takes the neighbouring
# character into its match, and Python's ``re`` (only on the rare values that match) uses
# look-arounds to replace exactly the number.
_DIGIT = "[0-9\uff10-\uff19]"  # real characters in the pattern: RE2 has no \\u escapes
_NOT_DIGIT = "[^0-9\uff10-\uff19]"
_GAP = r"[ \t\-]*"
_PREFIX = "(?:(?:[+\uff0b]|00)?86" + _GAP + ")?"
_MOBILE = _PREFIX + "[1\uff11]" + _GAP + "[3-9\uff13-\uff19](?:" + _GAP + _DIGIT + "){9}"
_HAS_MOBILE = f"(?:^|{_NOT_DIGIT}){_MOBILE}(?:{_NOT_DIGIT}|$)"
_MOBILE_RE = re.compile(f"(?<!{_DIGIT}){_MOBILE}(?!{_DIGIT})")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_SHORTEST_MOBILE_BYTES = 11  # eleven ASCII digits: shorter values need no regex
# Numbers that are mobile numbers, bare (13000000000 to 19999999999) or after 86.
_MOBILE_NUMBER_RANGES = ((13_000_000_000, 20_000_000_000), (8_613_000_000_000, 8_620_000_000_000))
PSEUDONYM_FORMAT = "[msisdn:{}]"
#: Contract types whose source text is stored as it is (text) or as the number it reads as:
#: only these can carry a phone number into ``stg_*``. Dates, timestamps, yes/no and
#: vocabulary values are stored only when they read as one, which no phone number does.
_STORED_AS_GIVEN = ("string", "int64", "float64")

KeySource = bytes | Callable[[], bytes]


def _mobile_digits(found: str) -> str:
    """The 11 digits of a matched mobile number (the prefix dropped)."""
    digits = re.sub(r"\D", "", found.translate(_FULL_WIDTH_DIGITS))
    return digits[-11:]


class _Replacer:
    """Replaces each mobile number in a text; by its keyed hash, or by its masked digits."""

    def __init__(self, key: KeySource | None) -> None:
        self._key = key  # None: mask
        self._seen: dict[str, str] = {}

    def _key_bytes(self) -> bytes:
        if callable(self._key):
            self._key = self._key()  # asked only once a number is found
        assert isinstance(self._key, bytes)
        return self._key

    def _replacement(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if self._key is None:
            return mask_digits(found)
        digits = _mobile_digits(found)
        if digits not in self._seen:
            self._seen[digits] = PSEUDONYM_FORMAT.format(hash_msisdn(digits, self._key_bytes()))
        return self._seen[digits]

    def text(self, value: str | None) -> str | None:
        return None if value is None else _MOBILE_RE.sub(self._replacement, value)


def pseudonymise_text(text: str, key: KeySource) -> str:
    """``text`` with every mobile number replaced by ``[msisdn:<hash>]``, the keyed hash that
    the ``msisdn`` column is stored as.

    >>> key = b"k" * 32
    >>> out = pseudonymise_text("请回电 +86 138-0013-8000 谢谢", key)
    >>> out == f"请回电 [msisdn:{hash_msisdn('13800138000', key)}] 谢谢"
    True
    >>> pseudonymise_text("order 2026031013800138000 at 2026-03-01 13:00", key)
    'order 2026031013800138000 at 2026-03-01 13:00'
    """
    return _Replacer(key).text(text) or ""


def mask_phone_numbers(text: str) -> str:
    """``text`` with the digits of every mobile number masked (no key needed).

    >>> mask_phone_numbers("line 7: 客户13800138000来电")
    'line 7: 客户***********来电'
    """
    return _Replacer(None).text(text) or ""


def _text_with_numbers(values: pa.Array, replacer: _Replacer) -> pa.Array:
    """A plain string array with its mobile numbers replaced; the same array when it has none."""
    # Most values (ids, codes) are too short to hold a number: only the others meet the regex.
    could = pc.greater_equal(pc.binary_length(values), _SHORTEST_MOBILE_BYTES)
    if not pc.any(could).as_py():
        return values
    could = pc.fill_null(could, False)
    candidates = pc.filter(values, could)
    found = pc.fill_null(pc.match_substring_regex(candidates, _HAS_MOBILE), False)
    if not pc.any(found).as_py():
        return values
    replaced = [replacer.text(v) for v in pc.filter(candidates, found).to_pylist()]
    at = np.flatnonzero(could.to_numpy(zero_copy_only=False))[found.to_numpy(zero_copy_only=False)]
    mask = np.zeros(len(values), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(replaced, values.type))


def _numbers_with_numbers(values: pa.Array, replacer: _Replacer) -> pa.Array:
    """Numbers in a mobile number's range become text with the number replaced; others stay."""
    in_range = None
    for low, high in _MOBILE_NUMBER_RANGES:
        inside = pc.and_(pc.greater_equal(values, low), pc.less(values, high))
        in_range = inside if in_range is None else pc.or_(in_range, inside)
    if in_range is None or not pc.any(in_range).as_py():
        return values
    if pa.types.is_floating(values.type):  # 13800138000.0 reads 1.3800138e+10 as text
        text = [
            None if v is None else f"{v:.0f}" if v == int(v) else repr(v)
            for v in values.to_pylist()
        ]
        return _text_with_numbers(pa.array(text, pa.string()), replacer)
    return _text_with_numbers(values.cast(pa.string()), replacer)


def _array_with_numbers(values: pa.Array, replacer: _Replacer) -> pa.Array:
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_with_numbers(values, replacer)
    if pa.types.is_dictionary(kind):  # each distinct value once
        old = values.dictionary  # (Arrow hands out a new wrapper on each access)
        dictionary = _array_with_numbers(old, replacer)
        if dictionary is old:
            return values
        return pa.DictionaryArray.from_arrays(values.indices, dictionary)
    if pa.types.is_struct(kind):
        old_fields = [values.field(i) for i in range(kind.num_fields)]
        fields = [_array_with_numbers(f, replacer) for f in old_fields]
        if all(new is old for new, old in zip(fields, old_fields, strict=True)):
            return values
        names = [kind.field(i).name for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(fields, names=names, mask=values.is_null())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        old = values.values
        inner = _array_with_numbers(old, replacer)
        if inner is old:
            return values
        return type(values).from_arrays(values.offsets, inner, mask=values.is_null())
    return values


def _replace_in(
    values: pa.Array | pa.ChunkedArray, replacer: _Replacer
) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        # It may turn into text: decided for the whole column, so its chunks keep one type.
        if isinstance(values, pa.ChunkedArray):
            merged = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
            new = _numbers_with_numbers(merged, replacer)
            return values if new is merged else pa.chunked_array([new])
        return _numbers_with_numbers(values, replacer)
    if isinstance(values, pa.ChunkedArray):
        old_chunks = values.chunks
        chunks = [_array_with_numbers(c, replacer) for c in old_chunks]
        if all(new is old for new, old in zip(chunks, old_chunks, strict=True)):
            return values
        return pa.chunked_array(chunks, chunks[0].type)
    return _array_with_numbers(values, replacer)


def pseudonymise_array(
    values: pa.Array | pa.ChunkedArray, key: KeySource
) -> pa.Array | pa.ChunkedArray:
    """Every mobile number in ``values`` replaced by ``[msisdn:<hash>]`` (see :func:`pseudonymise_text`).

    Text (plain or dictionary-encoded, also inside lists and structs) is scanned with one
    vectorised regex pass over the values long enough to hold a number; only the values that
    hold one go through Python. A numeric column with a value in a mobile number's range
    becomes text. ``values`` itself is returned, uncopied, when it holds no number. ``key``
    may be a callable: it is called only when a number is found.
    """
    return _replace_in(values, _Replacer(key))


def mask_phone_numbers_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Vectorised :func:`mask_phone_numbers`, over any column as :func:`pseudonymise_array`."""
    return _replace_in(values, _Replacer(None))


def _replace_in_table(table: pa.Table, replacer: _Replacer, columns: Collection[str]) -> pa.Table:
    originals = table.columns
    new = [
        _replace_in(column, replacer) if name in columns else column
        for name, column in zip(table.column_names, originals, strict=True)
    ]
    if all(a is b for a, b in zip(new, originals, strict=True)):
        return table
    return pa.Table.from_arrays(new, names=table.column_names)


def pseudonymise_phone_numbers(
    table: pa.Table, key: KeySource, *, columns: Collection[str] | None = None
) -> pa.Table:
    """``table`` with every mobile number in ``columns`` (all if ``None``) pseudonymised.

    Parameters
    ----------
    table
        A source file as read.
    key
        The PII key (:func:`pii_key`), or a callable giving it (called only if a number is found).
    columns
        The columns to scan; the others are left as they are.

    Returns
    -------
    pyarrow.Table
        ``table`` itself when it holds no number.

    Examples
    --------
    >>> t = pa.table({"id": ["C1", "13800138000"], "text": ["hi", "call 138 0013 8000"]})
    >>> out = pseudonymise_phone_numbers(t, b"k" * 32)
    >>> out["id"][1].as_py() == out["text"][1].as_py().removeprefix("call ")
    True
    """
    scanned = table.column_names if columns is None else columns
    return _replace_in_table(table, _Replacer(key), scanned)


def mask_phone_numbers_table(table: pa.Table) -> pa.Table:
    """``table`` with the digits of every mobile number in every column and column name masked."""
    names = [mask_phone_numbers(name) for name in table.column_names]
    masked = _replace_in_table(table, _Replacer(None), table.column_names)
    return masked if names == table.column_names else masked.rename_columns(names)


def pseudonymise_source(table: pa.Table, entity: Entity, key: KeySource) -> pa.Table:
    """Pseudonymise the mobile numbers that ``stg_<entity>`` could store from a source table.

    Run on each source table as read (column names matched to the contract), before it is
    validated. Scanned: the contract's text columns that are not vocabularies, and its numeric
    columns; not the phone column, which is hashed whole. Dates, timestamps, yes/no and
    vocabulary values are stored only as what they read as, and columns outside the contract
    are not stored, so a number in them can only reach the quarantine, which masks every
    number it keeps (:func:`mask_phone_numbers_table`). Scanning only the stored columns, and
    in them only values of 11 bytes or more, keeps the cost at about 1 % of ingest.
    """
    columns = [
        c.name
        for c in entity.columns
        if c.dtype in _STORED_AS_GIVEN and not c.vocabulary and not c.pii
    ]
    return pseudonymise_phone_numbers(table, key, columns=columns)
