"""Matching a file's header to the contract: blanks trimmed, case ignored, extras set aside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from touchpoint.contract import Entity


@dataclass(frozen=True)
class ColumnMatch:
    """How a file's columns map onto an entity's."""

    renames: dict[str, str]  # source name -> contract name
    missing: tuple[str, ...]  # required contract columns the file lacks
    ignored: tuple[str, ...]  # source columns the contract does not know (or repeats)


def _folded(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().casefold()


def match_columns(names: Sequence[str], entity: Entity) -> ColumnMatch:
    """Map ``names`` (a file's header) onto ``entity``'s columns.

    >>> from touchpoint.contract import ENTITIES
    >>> m = match_columns([" Contact_ID", "extra"], ENTITIES["contacts"])
    >>> m.renames, m.ignored, "customer_id" in m.missing
    ({' Contact_ID': 'contact_id'}, ('extra',), True)
    """
    wanted = {c.name.casefold(): c.name for c in entity.columns}
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for name in names:
        target = wanted.get(_folded(name))
        if target is None or target in renames.values():
            ignored.append(name)
        else:
            renames[name] = target
    found = set(renames.values())
    missing = tuple(c.name for c in entity.columns if c.required and c.name not in found)
    return ColumnMatch(renames, missing, tuple(ignored))
