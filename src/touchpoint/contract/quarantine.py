"""Why a source row can be rejected: the quarantine reasons, declared once as data.

Ingest writes one quarantine row per (row, problem) with one of these reasons; the data
contract document lists them with these descriptions. The order checks of the entities
(``end_before_start``, ...) add their own reasons, described by :func:`quarantine_reasons`.
"""

from __future__ import annotations

from touchpoint.contract.entities import ENTITIES

QUARANTINE_REASONS: dict[str, str] = {
    "malformed_row": (
        "the row cannot be split into the header's columns: a CSV line with too few or too many "
        "fields or a stray quote, a JSON line that is not an object, or bytes that are not "
        "valid in the file's encoding"
    ),
    "missing_column": (
        "the file has no column for a required field; every row of the file is quarantined "
        "with this reason, once per missing column"
    ),
    "missing_value": "a required field is blank (empty, only spaces, or one of the null markers)",
    "bad_type": (
        "the value cannot be read as the column's type (integer, number, date, timestamp, "
        "yes/no, phone number)"
    ),
    "not_in_vocabulary": (
        "the value is neither an id, a name nor an alias of the column's configured vocabulary"
    ),
    "below_min": "a number below the column's smallest allowed value (e.g. a negative amount)",
    "above_max": "a number above the column's largest allowed value",
    "out_of_range": (
        "a date or timestamp outside the plausible range, by default 1900-01-01 to the last "
        "day of next year (`ingest.earliest_date`, `ingest.latest_date`): a year-0 birthday "
        "is a typo, and such a value would take reports down later"
    ),
    "duplicate_key": (
        "the row's key repeats an earlier row of the same file, or a row already loaded from "
        "another file; the first one is kept"
    ),
}


def quarantine_reasons() -> dict[str, str]:
    """Every reason ingest may give, with what it means (column reasons, then order checks)."""
    reasons = dict(QUARANTINE_REASONS)
    for entity in ENTITIES.values():
        for check in entity.order_checks:
            reasons.setdefault(
                check.reason,
                f"{entity.name}: `{check.later}` is earlier than `{check.earlier}`",
            )
    return reasons
