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
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.config import Config, load_config
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
    return pc.replace_substring_regex(values, r"\d", "*")


def mask_number_runs(text: str) -> str:
    """Mask runs of 7 or more digits (with blanks or dashes between): phone numbers in a raw line."""
    return re.sub(r"\d[\d \-]{5,}\d", lambda m: mask_digits(m.group(0)), text)
