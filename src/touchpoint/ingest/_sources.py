"""Which files to read, in which format, and which entity each one holds."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from touchpoint.contract import ENTITIES
from touchpoint.errors import SchemaError

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: where it is, its format (``None``: unsupported) and its entity."""

    path: Path
    file_format: str | None
    entity: str | None
    problem: str | None = None  # why it cannot be ingested, when known before reading


def known_entities() -> str:
    return ", ".join(ENTITIES)


def _name_matches(name: str, label: str) -> bool:
    """``label`` occurs in ``name`` as a whole word: not glued to letters on either side."""
    start = name.find(label)
    while start >= 0:
        end = start + len(label)
        before_ok = start == 0 or not name[start - 1].isalpha()
        after_ok = end == len(name) or not name[end].isalpha()
        if before_ok and after_ok:
            return True
        start = name.find(label, start + 1)
    return False


def _entities_named_in(name: str) -> set[str]:
    name = name.casefold()
    return {
        entity.name
        for entity in ENTITIES.values()
        for label in (entity.name, *entity.file_stems)
        if _name_matches(name, label.casefold())
    }


def detect_entity(path: str | os.PathLike[str]) -> str:
    """The entity a file holds, recognised from its name (else its folder's name).

    A name matches an entity when it contains one of the entity's ``file_stems`` as a whole
    word: ``contacts_2026-03.csv``, ``gd-contacts.parquet`` and ``客户资料_202603.csv`` are
    recognised; ``mycontacts.csv`` is not.

    Raises
    ------
    SchemaError
        When no entity, or more than one, matches; the message lists the known entities.

    >>> detect_entity("exports/contacts_2026-03.csv")
    'contacts'
    >>> detect_entity("客户资料.csv")
    'customers'
    """
    path = Path(path)
    stem = path.name.split(".", 1)[0]
    for name in (stem, path.parent.name):
        found = _entities_named_in(name) if name else set()
        if len(found) == 1:
            return found.pop()
        if len(found) > 1:
            raise SchemaError(
                f"{path}: the name matches several entities ({', '.join(sorted(found))}); "
                "rename the file or pass --entity"
            )
    raise SchemaError(
        f"{path}: cannot tell which entity the file holds from its name; name it after one of "
        f"{known_entities()} (e.g. contacts_2026-03.csv) or pass --entity"
    )


def _describe(path: Path, entity: str | None, *, explicit: bool) -> SourceFile | None:
    file_format = FORMATS.get(path.suffix.lower())
    if entity is None:
        try:
            entity = detect_entity(path)
        except SchemaError as exc:
            if file_format is None and not explicit:
                return None  # a stray README or image in a data folder: not a data file
            return SourceFile(path, file_format, None, str(exc))
    if file_format is None:
        if not explicit and entity is None:
            return None
        return SourceFile(
            path,
            None,
            entity,
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
            "export as CSV (.csv), Parquet (.parquet) or JSON lines (.jsonl)",
        )
    return SourceFile(path, file_format, entity)


SKIPPED = frozenset({"truth"})  # folder names never walked into (see discover)


def discover(
    paths: Iterable[str | os.PathLike[str]], entity: str | None = None
) -> list[SourceFile]:
    """The files to ingest: files as given, folders walked (sorted, hidden entries skipped).

    In a folder, files of an unsupported type are skipped unless their name names an entity
    (then they are reported, so a ``contacts.xlsx`` is not silently ignored). Sub-folders
    named ``truth`` are skipped too: the simulator keeps its planted ground truth there,
    beside the source files, and truth must never reach the analytics.
    """
    found: list[SourceFile] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    source = _describe(Path(root) / name, entity, explicit=False)
                    if source is not None:
                        found.append(source)
        elif path.exists():
            found.append(_describe(path, entity, explicit=True))  # type: ignore[arg-type]
        else:
            found.append(
                SourceFile(path, None, entity, f"{path}: no such file or folder; check the path")
            )
    return found
