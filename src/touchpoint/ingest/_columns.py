"""Matching a file's header to the contract: blanks trimmed, case ignored, extras set aside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from touchpoint.contract import Entity
from touchpoint.errors import SchemaError


@dataclass(frozen=True)
class ColumnMatch:
    """How a file's columns map onto an entity's."""

    renames: dict[str, str]  # source name -> contract name
    missing: tuple[str, ...]  # required contract columns the file lacks
    ignored: tuple[str, ...]  # source columns the contract does not know (or repeats)


def _folded(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().casefold()


def match_columns(names: Sequence[str], entity: Entity, *, where: str = "") -> ColumnMatch:
    """Map ``names`` (a file's header) onto ``entity``'s columns.

    Raises
    ------
    SchemaError
        When two names of the header are the same contract column (``contact_id`` and
        ``Contact_ID``): which one holds the data cannot be told, so the file is refused.

    >>> from touchpoint.contract import ENTITIES
    >>> m = match_columns([" Contact_ID", "extra"], ENTITIES["contacts"])
    >>> m.renames, m.ignored, "customer_id" in m.missing
    ({' Contact_ID': 'contact_id'}, ('extra',), True)
    """
    wanted = {c.name.casefold(): c.name for c in entity.columns}
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for name in names:
        target = wanted.get(_folded(_without_repeat_mark(name)))
        if target is None:
            ignored.append(name)
        elif target in renames.values():
            first = next(n for n, t in renames.items() if t == target)
            raise SchemaError(
                f"{where or 'the file'}: the header names column {target} twice "
                f"({_without_repeat_mark(first)!r} and {_without_repeat_mark(name)!r}); "
                "nothing of the file was loaded; keep one of them and ingest the file again"
            )
        else:
            renames[name] = target
    found = set(renames.values())
    missing = tuple(c.name for c in entity.columns if c.required and c.name not in found)
    return ColumnMatch(renames, missing, tuple(ignored))


def _without_repeat_mark(name: str) -> str:
    """The CSV reader marks a repeated header name ``name~2``: the same name again."""
    base, mark, number = name.rpartition("~")
    return base if mark and number.isdigit() else name
