"""How values of each contract type may be written in a source file.

Shared by ingest (which parses them) and the data contract document (which lists them).
"""

from __future__ import annotations

DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m", "%Y/%m", "%Y%m")
"""strptime formats of a date; a month alone means its first day."""

TIMESTAMP_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M",
)
"""strptime formats of a timestamp; each may also carry ISO 8601 fractional seconds and a UTC
offset (``Z``, ``+08:00``, ``+0800``, ``+08``)."""

TRUE_WORDS: tuple[str, ...] = ("1", "true", "t", "y", "yes", "是")
FALSE_WORDS: tuple[str, ...] = ("0", "false", "f", "n", "no", "否")
"""Yes/no values, compared ignoring case."""

MSISDN_DIGITS = (5, 15)
"""A phone number has 5 to 15 digits once blanks, dashes, dots, brackets and +86 / 0086 are removed."""
