"""Ingesting source files: read, validate, then load each file in one transaction."""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.config import Config, load_config
from touchpoint.contract import ENTITIES, Entity, arrow_schema
from touchpoint.contract.arrow import ARROW_TYPES
from touchpoint.errors import InputFileError, SchemaError, TouchpointError
from touchpoint.ingest._bookkeeping import (
    FILES_SCHEMA,
    FILES_TABLE,
    QUARANTINE_TABLE,
    LoadedVersion,
    loaded_versions,
    quarantine_counts,
    quarantine_rows,
)
from touchpoint.ingest._columns import match_columns
from touchpoint.ingest._pii import hash_msisdn_array, pii_key, pseudonymise_source
from touchpoint.ingest._read_csv import read_csv
from touchpoint.ingest._read_other import read_jsonl, read_parquet
from touchpoint.ingest._reading import ReadResult
from touchpoint.ingest._sources import SourceFile, discover, known_entities
from touchpoint.ingest._summary import FileSummary
from touchpoint.ingest._validate import ProblemBatch, Validated, key_text, validate
from touchpoint.ingest._values import plain
from touchpoint.warehouse import Delete, DropParts, Insert, Part, load_atomically

ProgressCallback = Callable[[str, int, int], None]

LINEAGE_FIELDS = (
    pa.field("_file_id", pa.string(), nullable=False),
    pa.field("_row", pa.int64(), nullable=False),
)


def stored_schema(entity: Entity) -> pa.Schema:
    """The schema of ``stg_<entity>``: the contract's columns, then the lineage columns.

    Text columns carry the DuckDB compression to store them with (field metadata
    ``compression``): a vocabulary has few values (``dictionary``), other text is ids, hashes
    or free text (``fsst``). Naming it spares DuckDB trying every method on every load,
    which cost a third of the load's time and chose the same methods.
    """
    schema = arrow_schema(entity)
    for column in entity.columns:
        if ARROW_TYPES[column.dtype] != pa.string():
            continue
        i = schema.get_field_index(column.stored_name)
        method = b"dictionary" if column.vocabulary and not column.pii else b"fsst"
        schema = schema.set(i, schema.field(i).with_metadata({b"compression": method}))
    for lineage in LINEAGE_FIELDS:
        schema = schema.append(lineage)
    return schema


class _Progress:
    """Reports progress in bytes of source files, so big files move the bar more."""

    def __init__(self, callback: ProgressCallback | None, sources: list[SourceFile]) -> None:
        self.callback = callback
        self.sizes = [_size(s.path) for s in sources]
        self.total = max(sum(self.sizes), 1)
        self.done = 0
        self.n_files = len(sources)

    def report(self, index: int, name: str, stage: str, fraction: float) -> None:
        if self.callback is None:
            return
        completed = self.done + int(self.sizes[index] * fraction)
        self.callback(f"{name} ({index + 1}/{self.n_files}): {stage}", completed, self.total)

    def finish(self, index: int) -> None:
        self.done += self.sizes[index]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot read the file: {exc.strerror}; check it exists and is readable"
        ) from None


def _read(source: SourceFile, data: bytes, config: Config, encoding: str | None) -> ReadResult:
    if source.file_format == "parquet":
        return read_parquet(data, where=str(source.path))
    if source.file_format == "jsonl":
        return read_jsonl(data, forced=encoding)
    return read_csv(data, encodings=config.ingest.csv_encodings, forced=encoding)


def _now_local(config: Config) -> datetime:
    return datetime.now(ZoneInfo(config.timezone)).replace(tzinfo=None)


class _FileLoader:
    """Ingests one source file; the steps share the file's read data."""

    def __init__(
        self,
        con: DuckDBBackend,
        config: Config,
        source: SourceFile,
        encoding: str | None,
        pii_key_for: Callable[[], bytes],
        report: Callable[[str, float], None],
    ) -> None:
        self.con = con
        self.config = config
        self.source = source
        self.entity = ENTITIES[source.entity or ""]
        self.encoding = encoding
        self.pii_key_for = pii_key_for
        self.report = report
        self.path_text = str(source.path.resolve())

    def run(self) -> FileSummary:
        self.report("hashing", 0.0)
        data = _read_bytes(self.source.path)
        file_id = hashlib.sha256(data).hexdigest()
        versions = loaded_versions(self.con)
        for version in versions:
            if version.file_id == file_id:
                return self._unchanged(version)
        replaced = [v for v in versions if v.path == self.path_text]
        self.report("reading", 0.05)
        read = _read(self.source, data, self.config, self.encoding)
        del data
        self.report(f"validating {read.n_read:,} rows", 0.4)
        match = match_columns(read.table.column_names, self.entity)
        table = read.table.rename_columns(
            [match.renames.get(n, n) for n in read.table.column_names]
        )
        table = pseudonymise_source(table, self.entity, self.pii_key_for)
        validated = validate(table, self.entity, self.config, row_numbers=read.row_numbers)
        self._check_against_loaded(validated, versions, replaced)
        self.report(f"loading {read.n_read:,} rows", 0.8)
        return self._load(file_id, read, table, validated, match.ignored, replaced)

    def _unchanged(self, version: LoadedVersion) -> FileSummary:
        where = "" if version.path == self.path_text else f" from {version.path}"
        return FileSummary(
            path=str(self.source.path),
            entity=version.entity,
            status="unchanged",
            n_read=version.n_read,
            n_loaded=version.n_loaded,
            n_quarantined=version.n_quarantined,
            quarantined_by_reason=quarantine_counts(self.con, version.file_id),
            file_id=version.file_id,
            file_format=self.source.file_format,
            message=f"same content already loaded{where} at {version.loaded_at:%Y-%m-%d %H:%M:%S}; nothing added",
        )

    def _check_against_loaded(
        self,
        validated: Validated,
        versions: list[LoadedVersion],
        replaced: list[LoadedVersion],
    ) -> None:
        """``duplicate_key`` for rows whose key was already loaded from another file."""
        if self.entity.table not in self.con.list_tables():
            return
        # Every row goes in: a null key part never equals anything in the join.
        candidates = pa.table(
            {
                **{k: plain(validated.columns[k]) for k in self.entity.key},
                "_position": pa.array(
                    np.arange(len(validated.columns[self.entity.key[0]])), pa.int64()
                ),
            }
        )
        loaded = self.con.table(self.entity.table)
        excluded = [v.file_id for v in replaced]
        if excluded:
            loaded = loaded.filter(~loaded._file_id.isin(excluded))
        loaded = loaded.select(*self.entity.key, "_file_id", "_row")
        matches = self.con.to_pyarrow(
            ibis.memtable(candidates)
            .join(loaded, list(self.entity.key))
            .select("_position", "_file_id", "_row")
        )
        if not matches.num_rows:
            return
        matches = matches.take(
            pc.sort_indices(matches, [("_position", "ascending"), ("_row", "ascending")])
        )
        first = np.unique(matches["_position"].to_numpy(), return_index=True)[1]
        matches = matches.take(pa.array(first))
        found = matches["_position"].to_numpy()
        paths = {v.file_id: v.path for v in versions}
        detail = [
            f"{text} (loaded from {paths.get(fid, fid)} row {row})"
            for text, fid, row in zip(
                key_text(validated.columns, self.entity.key, found),
                matches["_file_id"].to_pylist(),
                matches["_row"].to_pylist(),
                strict=True,
            )
        ]
        validated.problems.append(
            ProblemBatch(
                found,
                ",".join(self.entity.key),
                "duplicate_key",
                detail=np.array(detail, dtype=object),
            )
        )

    def _stored_rows(
        self, validated: Validated, bad: np.ndarray, file_id: str, row_numbers: np.ndarray
    ) -> pa.Table:
        """The rows without any problem, as ``stg_<entity>`` stores them."""
        n = len(row_numbers)
        columns: dict[str, pa.Array] = {}
        for column in self.entity.columns:
            values = validated.columns[column.name]
            if column.pii:
                values = hash_msisdn_array(values, self.pii_key_for())
            columns[column.stored_name] = values
        columns["_file_id"] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, dtype=np.int32)), pa.array([file_id])
        )  # one value: DuckDB gets it without a string per row
        columns["_row"] = pa.array(row_numbers, pa.int64())
        stored = pa.table(columns)
        if len(bad):  # most files have few bad rows: one filter pass, no copy when none
            keep = np.ones(n, dtype=bool)
            keep[bad] = False
            stored = stored.filter(pa.array(keep))
        return _conform(stored, stored_schema(self.entity))

    def _load(
        self,
        file_id: str,
        read: ReadResult,
        table: pa.Table,
        validated: Validated,
        ignored: tuple[str, ...],
        replaced: list[LoadedVersion],
    ) -> FileSummary:
        bad = validated.bad_positions()
        stored = self._stored_rows(validated, bad, file_id, read.row_numbers)
        pii_columns = [c.name for c in self.entity.columns if c.pii]
        quarantine = quarantine_rows(
            file_id=file_id,
            path=self.path_text,
            entity=self.entity.name,
            table=table,
            problems=validated.problems,
            malformed=read.malformed,
            row_numbers=read.row_numbers,
            line_numbers=read.line_numbers() if len(bad) else None,
            pii_columns=pii_columns,
            has_pii=bool(pii_columns),
        )
        n_quarantined = len(bad) + len(read.malformed)
        status = "replaced" if replaced else "loaded"
        log_row = pa.table(
            {
                "file_id": [file_id],
                "path": [self.path_text],
                "entity": [self.entity.name],
                "file_format": [self.source.file_format],
                "encoding": [read.encoding],
                "status": [status],
                "n_read": [read.n_read],
                "n_loaded": [stored.num_rows],
                "n_quarantined": [n_quarantined],
                "loaded_at": [_now_local(self.config)],
            },
            schema=FILES_SCHEMA,
        )
        old = tuple(v.file_id for v in replaced)
        deletes = [Delete(FILES_TABLE, "file_id", old), Delete(QUARANTINE_TABLE, "file_id", old)]
        load_atomically(
            self.con,
            deletes=deletes,
            inserts=[Insert(QUARANTINE_TABLE, quarantine), Insert(FILES_TABLE, log_row)],
            parts=[Part(self.entity.table, file_id, stored)],
            drop_parts=[
                DropParts(ENTITIES[e].table, tuple(v.file_id for v in replaced if v.entity == e))
                for e in sorted({v.entity for v in replaced})
            ],
        )
        by_reason: dict[str, int] = {}
        for reason in quarantine["reason"].to_pylist():
            by_reason[reason] = by_reason.get(reason, 0) + 1
        return FileSummary(
            path=str(self.source.path),
            entity=self.entity.name,
            status=status,
            n_read=read.n_read,
            n_loaded=stored.num_rows,
            n_quarantined=n_quarantined,
            quarantined_by_reason=dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
            file_id=file_id,
            file_format=self.source.file_format,
            encoding=read.encoding,
            ignored_columns=ignored,
            message=f"replaced the earlier version of {self.path_text}" if replaced else None,
        )


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` cast to ``schema``, except that dictionary-encoded text stays encoded.

    DuckDB reads dictionary columns as the text they hold; decoding them here would only
    copy every value once more.
    """
    fields, columns = [], []
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_dictionary(column.type) and column.type.value_type == field.type:
            fields.append(
                pa.field(field.name, column.type, field.nullable, metadata=field.metadata)
            )
        else:
            fields.append(field)
            column = column.cast(field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _failed(source: SourceFile, error: str) -> FileSummary:
    return FileSummary(
        path=str(source.path),
        entity=source.entity,
        status="failed",
        error=error,
        file_format=source.file_format,
    )


def _check_options(entity: str | None, encoding: str | None) -> None:
    if entity is not None and entity not in ENTITIES:
        raise SchemaError(f"--entity {entity!r}: unknown entity; use one of {known_entities()}")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(
                f"--encoding {encoding!r}: unknown encoding; use e.g. utf-8, gbk or gb18030"
            ) from None


def ingest(
    con: DuckDBBackend,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    entity: str | None = None,
    encoding: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[FileSummary]:
    """Validate source files and load them into the warehouse, one transaction per file.

    Each row that passes every check lands in ``stg_<entity>`` (the contract's columns,
    vocabulary values as ids, ``msisdn`` as ``msisdn_hash``, plus ``_file_id`` and ``_row``);
    each row that fails lands in ``ingest_quarantine`` once per problem, and the file gets a
    row in ``ingest_files``. Loading the same content again adds nothing (``unchanged``); a
    changed file at the same path replaces its earlier version (``replaced``).

    Parameters
    ----------
    con
        The warehouse (:func:`touchpoint.warehouse.connect`).
    paths
        Files and folders (walked recursively; hidden entries skipped).
    config
        Vocabularies, time zone, PII key and CSV settings; the defaults if ``None``.
    entity
        The entity of every file, instead of recognising it from the file name.
    encoding
        The encoding of every CSV, instead of trying ``config.ingest.csv_encodings``.
    on_progress
        Called as ``on_progress(description, completed, total)`` (in bytes of source files).

    Returns
    -------
    list of FileSummary
        One per file, in the order processed. A file that cannot be read at all (unknown
        entity, not readable, not Parquet) is ``failed`` and does not stop the others.

    Examples
    --------
    >>> from touchpoint.warehouse import connect
    >>> [s.status for s in ingest(connect(":memory:"), [])]
    []
    """
    _check_options(entity, encoding)
    config = config or load_config()
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    sources = discover(paths, entity)
    progress = _Progress(on_progress, sources)
    key: list[bytes] = []

    def pii_key_once() -> bytes:
        if not key:
            key.append(pii_key(con, config))
        return key[0]

    summaries = []
    for index, source in enumerate(sources):
        name = source.path.name

        def report(stage: str, fraction: float, index: int = index, name: str = name) -> None:
            progress.report(index, name, stage, fraction)

        if source.problem is not None:
            summaries.append(_failed(source, source.problem))
        else:
            try:
                loader = _FileLoader(con, config, source, encoding, pii_key_once, report)
                summaries.append(loader.run())
            except (InputFileError, SchemaError) as exc:
                summaries.append(_failed(source, str(exc)))
            except TouchpointError:
                raise  # the warehouse or the configuration: every other file would fail too
            except Exception as exc:  # a bug must not cost the other files their load
                summaries.append(
                    _failed(
                        source,
                        f"{source.path}: unexpected {type(exc).__name__} while ingesting "
                        f"({str(exc).splitlines()[0] if str(exc) else 'no message'}); nothing of "
                        "the file was loaded; please report this with the file",
                    )
                )
        progress.finish(index)
        report("done", 0.0)
    return summaries
