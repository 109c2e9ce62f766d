"""Which files to read, in which format, and which entity each one holds."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from touchpoint.contract import ENTITIES
from touchpoint.errors import SchemaError
from touchpoint.ingest._reading import BLANK_AT_MOST, is_blank
from touchpoint.ingest._summary import FileSummary

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
    skipped: str | None = None  # a folder not walked into, and why


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
    """Entities one of whose labels ``name`` contains as a whole word.

    A label inside a longer label that also matches does not count: ``work_order_results``
    (campaign responses) contains ``order`` (orders), and means campaign responses only.
    """
    name = name.casefold()
    matched = [
        (entity.name, label.casefold())
        for entity in ENTITIES.values()
        for label in (entity.name, *entity.file_stems)
        if _name_matches(name, label.casefold())
    ]
    return {
        entity
        for entity, label in matched
        if not any(
            label != longer and label in longer for other, longer in matched if other != entity
        )
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
    stem = path.stem  # the name without its extension; dots before it are separators
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


def _skipped_folder(path: Path, why: str) -> SourceFile:
    return SourceFile(path, None, None, skipped=f"folder skipped: {why}")


def _unreadable(path: Path, exc: OSError) -> SourceFile:
    reason = exc.strerror or type(exc).__name__
    return SourceFile(
        path,
        None,
        None,
        f"{path}: cannot read the folder ({reason}); nothing in it was ingested; "
        "make it readable (e.g. chmod) and ingest it again",
    )


def _walk(folder: Path, entity: str | None) -> list[SourceFile]:
    """The files under ``folder``, and the folders not walked into, each saying why."""
    found: list[SourceFile] = []

    def unreadable(exc: OSError) -> None:
        found.append(_unreadable(Path(exc.filename or folder), exc))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        walked = []
        for name in sorted(dirs):
            sub = Path(root) / name
            if name.startswith("."):
                continue  # hidden, like .git: silent, as documented
            if name in SKIPPED:
                found.append(
                    _skipped_folder(
                        sub,
                        "named `truth`: the simulator keeps its planted ground "
                        "truth there, and truth must never reach the analytics",
                    )
                )
            elif sub.is_symlink():
                found.append(
                    _skipped_folder(
                        sub,
                        "a symbolic link, not followed (a link may loop or "
                        "lead out of the folder); name it on the command line to ingest it",
                    )
                )
            else:
                walked.append(name)
        dirs[:] = walked
        for name in sorted(files):
            if name.startswith("."):
                continue
            source = _describe(Path(root) / name, entity, explicit=False)
            if source is not None:
                found.append(source)
    return found


def discover(
    paths: Iterable[str | os.PathLike[str]], entity: str | None = None
) -> list[SourceFile]:
    """The files to ingest: files as given, folders walked (sorted, hidden entries skipped).

    In a folder, files of an unsupported type are skipped unless their name names an entity
    (then they are reported, so a ``contacts.xlsx`` is not silently ignored). Sub-folders
    named ``truth`` are skipped too: the simulator keeps its planted ground truth there,
    beside the source files, and truth must never reach the analytics. Symbolically linked
    sub-folders are not followed. Each folder skipped (but hidden ones) comes back with
    ``skipped`` saying why; a folder or path that cannot be read comes back with ``problem``.
    """
    found: list[SourceFile] = []
    for given in paths:
        path = Path(given).expanduser()
        try:
            is_folder = stat.S_ISDIR(path.stat().st_mode)
        except FileNotFoundError:
            found.append(
                SourceFile(path, None, entity, f"{path}: no such file or folder; check the path")
            )
            continue
        except OSError as exc:
            found.append(
                SourceFile(
                    path,
                    FORMATS.get(path.suffix.lower()),
                    entity,
                    f"{path}: cannot read the path ({exc.strerror or type(exc).__name__}); "
                    "check it exists and is readable",
                )
            )
            continue
        if is_folder:
            found += _walk(path, entity)
        else:
            found.append(_describe(path, entity, explicit=True))  # type: ignore[arg-type]
    return found


def skipped_summary(source: SourceFile) -> FileSummary:
    """What the ingest summary says about a folder it did not walk into."""
    return FileSummary(path=str(source.path), entity=None, status="skipped", message=source.skipped)


def file_identity(source: SourceFile, content_id: str) -> str:
    """The id of a file version: ``content_id``, the SHA-256 of its content.

    A file without content (nothing, or only blanks) has no content to tell it by: every
    empty file would be an ``unchanged`` copy of the first one ingested, reported under that
    one's entity and not logged. Its id is the hash of its entity and its full path instead,
    so each empty file is logged once under its own entity.
    """
    try:
        with open(source.path, "rb") as file:
            head = file.read(BLANK_AT_MOST + 1)
    except OSError:
        return content_id  # reading it fails later, with the reason
    if not is_blank(head):
        return content_id
    where = f"empty file\0{source.entity}\0{source.path.resolve()}"
    return hashlib.sha256(where.encode()).hexdigest()
