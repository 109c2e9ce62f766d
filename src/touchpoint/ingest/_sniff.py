"""Recognising what a file really holds from its first bytes, before any reader sees it.

A Parquet file named ``.csv``, a gzip archive, random bytes or a JSON array named ``.jsonl``
would otherwise be "read": the CSV reader finds a junk header and quarantines every row with
``missing_column``, and the summary says all is well. Such a file is refused as a whole with
one line that says what it is and how to fix it; nothing of it is loaded or quarantined.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

from touchpoint.errors import InputFileError
from touchpoint.ingest._reading import is_blank

HEAD_BYTES = 1 << 16
"""How much of a file :func:`check_content` needs (a reader streaming a file passes its head)."""

# Magic bytes at the start of a file, longest first where one is a prefix of another.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls (or another Office) document"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ORC", "an ORC file"),
    (b"Obj\x01", "an Avro file"),
    (b"ARROW1", "an Arrow IPC file"),
    (codecs.BOM_UTF32_LE, "UTF-32 text"),
    (codecs.BOM_UTF32_BE, "UTF-32 text"),
    (codecs.BOM_UTF16_LE, "UTF-16 text"),
    (codecs.BOM_UTF16_BE, "UTF-16 text"),
)

# Bytes that never occur in a text header: C0 controls but tab, line feed and carriage
# return, and DEL. They are the same byte in UTF-8, GBK and GB18030 (no multi-byte sequence of
# those encodings contains a byte below 0x40 after its first).
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")

_EXPECTED = {"csv": "CSV", "jsonl": "JSON lines", "parquet": "Parquet"}
_FIX = {
    "csv": "export the data as CSV text (UTF-8 or GBK), or give the file its real extension",
    "jsonl": "export one JSON object per line (e.g. `jq -c '.[]' file.json > file.jsonl`), "
    "or give the file its real extension",
    "parquet": "export the data as Parquet, or give the file its real extension",
}


def _first_line(head: bytes) -> bytes:
    """The first line that is not blank (a UTF-8 byte-order mark aside)."""
    text = head.removeprefix(codecs.BOM_UTF8)
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return b""


def _json_kind(head: bytes) -> str | None:
    """``"array"``, ``"document"`` (one object over several lines), ``"lines"`` or ``None``."""
    line = _first_line(head)
    if line.startswith(b"["):
        if line == b"[" or re.match(rb"\[\s*[\[{\"\d\-]", line) or _parses(line, list):
            return "array"
        return None  # "[id],[name]": a CSV header with bracketed names
    if line == b"{":
        return "document"
    if line.startswith(b"{") and _parses(line, dict):
        return "lines"
    return None


def _parses(line: bytes, kind: type) -> bool:
    try:
        return isinstance(json.loads(line), kind)
    except (ValueError, RecursionError):
        return False


def what_it_is(head: bytes, file_format: str) -> str | None:
    """What the file holds when that is not ``file_format`` (``csv``, ``jsonl``, ``parquet``).

    ``None`` when the head fits the format, or the file is empty (an export without rows).

    >>> what_it_is(b"PAR1\\x15\\x04", "csv")
    'a Parquet file'
    >>> what_it_is(b'[{"contact_id": "K1"}]', "jsonl")
    'a JSON array (one document)'
    >>> what_it_is(b"contact_id,customer_id\\nK1,C1\\n", "csv") is None
    True
    """
    if is_blank(head):
        return None
    magic = next((what for prefix, what in _MAGIC if head.startswith(prefix)), None)
    if file_format == "parquet":
        if magic == "a Parquet file":
            return None
        if magic is not None:
            return magic
        return "binary data (not text)" if _is_binary(head, header=True) else "text"
    if magic is not None:
        return magic
    if _is_binary(head, header=file_format == "csv"):
        return "binary data (not text)"
    kind = _json_kind(head)
    if file_format == "csv" and kind is not None:
        return "JSON lines" if kind == "lines" else f"a JSON {kind}"
    if file_format == "jsonl" and kind == "array":
        return "a JSON array (one document)"
    if file_format == "jsonl" and kind == "document":
        return "one JSON document spread over several lines"
    return None


def _is_binary(head: bytes, *, header: bool) -> bool:
    """Whether ``head`` is not text.

    A CSV's first line is its header: column names never hold control bytes. A JSON line
    may be a broken line of a text file (then it is a malformed row), so for JSON lines
    control bytes in the first line count only in bytes that are not UTF-8 either. Random
    bytes whose first line happens to be clean (one time in 30) still have many control
    bytes and are not UTF-8; a short file with a few odd bytes is left to the reader, which
    quarantines what it cannot read.
    """
    if _CONTROL.search(_first_line(head)) is not None and (header or not _is_utf8(head)):
        return True
    if len(head) < _ENOUGH_TO_COUNT:  # a short text file with a few odd bytes is text
        return False
    n_control = len(_CONTROL.findall(head))
    return n_control * _MOSTLY_TEXT > len(head) and not _is_utf8(head)


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut at the end of the head is no sign
    return True


_MOSTLY_TEXT = 16  # at most one control byte in 16: random bytes have one in nine
_ENOUGH_TO_COUNT = 1024  # in 1 KiB of random bytes, 116 control bytes give or take 10


def check_content(head: bytes, file_format: str, path: Path) -> None:
    """Refuse a file whose first bytes show it is not ``file_format``.

    Parameters
    ----------
    head
        The file's first bytes (at least :data:`HEAD_BYTES` of them when the file is longer).
    file_format
        What the extension says: ``csv``, ``jsonl`` or ``parquet``.
    path
        The file, for the message.

    Raises
    ------
    InputFileError
        One line: what the file is, what its extension says, how to fix it.
    """
    found = what_it_is(head[:HEAD_BYTES], file_format)
    if found is None:
        return
    raise InputFileError(
        f"{path}: the file is {found}, not {_EXPECTED[file_format]} as its extension "
        f"{path.suffix or '(none)'!r} says; nothing of it was loaded; {_FIX[file_format]}"
    )


def check_file_content(path: Path, file_format: str) -> None:
    """:func:`check_content` on the first bytes of the file at ``path``."""
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot read the file: {exc.strerror}; check it exists and is readable"
        ) from None
    check_content(head, file_format, path)
