"""Ingesting source files: read, validate, then load each file in one transaction."""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.config import Config, load_config
from touchpoint.contract import ENTITIES, Entity, arrow_schema
from touchpoint.contract.arrow import ARROW_TYPES
from touchpoint.errors import ConfigError, InputFileError, SchemaError, TouchpointError
from touchpoint.ingest._batches import (
    batch_rows_setting,
    csv_batches,
    file_id_of,
    parquet_batches,
)
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
from touchpoint.ingest._profile import Profile
from touchpoint.ingest._read_csv import read_csv
from touchpoint.ingest._read_other import read_jsonl, read_parquet
from touchpoint.ingest._reading import ReadResult
from touchpoint.ingest._sniff import check_file_content
from touchpoint.ingest._sources import (
    SourceFile,
    discover,
    file_identity,
    known_entities,
    skipped_summary,
)
from touchpoint.ingest._summary import FileSummary
from touchpoint.ingest._validate import ProblemBatch, Validated, validate
from touchpoint.ingest._values import plain
from touchpoint.warehouse import (
    Delete,
    DropParts,
    Insert,
    PartWriter,
    WrittenPart,
    key_check_connection,
    keys_already_loaded,
    load_atomically,
    prepare_parts_folder,
    repeated_keys_in_part,
)

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
    return read_csv(
        data, encodings=config.ingest.csv_encodings, forced=encoding, where=str(source.path)
    )


def _now_local(config: Config) -> datetime:
    return datetime.now(ZoneInfo(config.timezone)).replace(tzinfo=None)


class _FileLoader:
    """Ingests one source file in batches: each is read, validated and appended to the part.

    The file's part is written under its final name but registered (made visible) only by
    the one transaction that also writes its quarantine and log rows, so a load killed at
    any point leaves nothing of the file. Keys repeated across batches, and keys already
    loaded from other files, are found afterwards by DuckDB over the part on disk
    (:func:`~touchpoint.warehouse.repeated_keys_in_part`,
    :func:`~touchpoint.warehouse.keys_already_loaded`); their rows are then taken out of the
    part and quarantined as ``duplicate_key``.
    """

    def __init__(
        self,
        config: Config,
        source: SourceFile,
        encoding: str | None,
        pii_key_for: Callable[[], bytes],
        report: Callable[[str, float], None],
        batch_rows: int,
        folder: Path,
        profile: Profile | None = None,
    ) -> None:
        self.folder = folder
        self.profile = profile
        self.config = config
        self.source = source
        self.entity = ENTITIES[source.entity or ""]
        self.encoding = encoding
        self.pii_key_for = pii_key_for
        self.report = report
        self.batch_rows = batch_rows
        self.path_text = str(source.path.resolve())
        self.pii_columns = [c.name for c in self.entity.columns if c.pii]

    def _as_exported(self, read: ReadResult) -> pa.Table:
        """The batch as read, through the ingest profile when there is one."""
        if self.profile is None:
            return read.table
        return self.profile.apply(read.table, self.config.ingest.null_values)

    def _read_whole(self) -> ReadResult:
        return _read(self.source, _read_bytes(self.source.path), self.config, self.encoding)

    def _batches(self) -> Iterator[tuple[ReadResult, float]]:
        path = self.source.path
        if self.source.file_format == "parquet":
            return parquet_batches(path, self.batch_rows, self._read_whole)
        if self.source.file_format == "csv":
            return csv_batches(
                path,
                self.batch_rows,
                self._read_whole,
                encodings=self.config.ingest.csv_encodings,
                forced=self.encoding,
            )
        return iter([(self._read_whole(), 1.0)])

    def stage(self, file_id: str, query_con: DuckDBBackend) -> _Staged:
        """Read, check and store the file's batches as an unregistered part.

        Needs no warehouse (``query_con`` only reads Parquet files), so files can be staged
        in parallel processes; :meth:`finish` then commits them one by one.
        """
        check_file_content(self.source.path, self.source.file_format or "")
        writer = PartWriter(self.folder, self.entity.table, file_id)
        # The keys of rows quarantined for other reasons: a later row repeating one of them
        # is a duplicate too, as when the whole file is checked at once.
        bad_keys = PartWriter(self.folder, self.entity.table, f"{file_id}.keys-of-bad-rows")
        loaded = _Loaded(file_id)
        staged = _Staged(loaded)
        try:
            for read, done in self._batches():
                self.report(f"reading, checking and storing {loaded.n_read:,} rows", 0.8 * done)
                self._load_batch(read, writer, bad_keys, loaded)
            for each in (writer, bad_keys):
                if each.n_rows:
                    staged.files.append(each.close())
                else:
                    each.abort()
            staged.has_part = writer.n_rows > 0
            if loaded.n_batches > 1 and staged.files:
                self.report(f"checking the keys of {loaded.n_read:,} rows", 0.85)
                known = set(_concatenated(loaded.duplicated).tolist())
                key = self.entity.key
                for row in repeated_keys_in_part(query_con, staged.files, key).to_pylist():
                    if row["_row"] not in known:
                        staged.in_file[row["_row"]] = (
                            f"{_key_of(row, key)} (first at row {row['first_row']})"
                        )
        except BaseException:
            for each in (writer, bad_keys):
                each.abort()
            staged.discard()
            raise
        return staged

    def finish(
        self, con: DuckDBBackend, staged: _Staged, versions: list[LoadedVersion]
    ) -> FileSummary:
        """Check the staged rows' keys against the loaded ones and commit the file."""
        try:
            replaced = [v for v in versions if v.path == self.path_text]
            if staged.files:
                self._repeated_keys(con, staged, versions, replaced)
            if len(staged.files) > int(staged.has_part):
                staged.files.pop().unlink(missing_ok=True)  # the keys of bad rows
            self.report(f"loading {staged.loaded.n_read:,} rows", 0.9)
            return self._commit(con, staged.loaded, replaced)
        except BaseException:
            staged.discard()
            raise

    def _load_batch(self, read: ReadResult, writer, bad_keys, loaded: _Loaded) -> None:
        table = self._as_exported(read)
        match = match_columns(table.column_names, self.entity, where=str(self.source.path))
        table = table.rename_columns([match.renames.get(n, n) for n in table.column_names])
        table = pseudonymise_source(table, self.entity, self.pii_key_for)
        validated = validate(table, self.entity, self.config, row_numbers=read.row_numbers)
        bad = validated.bad_positions()
        writer.write(self._stored_rows(validated, bad, loaded.file_id, read.row_numbers))
        if len(bad):
            rows = pa.array(bad)
            keys = {k: plain(validated.columns[k]).take(rows) for k in self.entity.key}
            bad_keys.write(pa.table({**keys, "_row": pa.array(read.row_numbers[bad])}))
            loaded.bad_rows.append(read.row_numbers[bad])
        for problem in validated.problems:
            if problem.reason == "duplicate_key":
                loaded.duplicated.append(read.row_numbers[problem.positions])
        loaded.quarantine.append(
            quarantine_rows(
                file_id=loaded.file_id,
                path=self.path_text,
                entity=self.entity.name,
                table=table,
                problems=validated.problems,
                malformed=read.malformed,
                row_numbers=read.row_numbers,
                line_numbers=read.line_numbers() if len(bad) else None,
                pii_columns=self.pii_columns,
                has_pii=bool(self.pii_columns),
            )
        )
        loaded.n_batches += 1
        loaded.n_read += read.n_read
        loaded.n_loaded += read.table.num_rows - len(bad)
        loaded.n_quarantined += len(bad) + len(read.malformed)
        loaded.encoding = read.encoding
        loaded.ignored = match.ignored

    def unchanged(self, con: DuckDBBackend, version: LoadedVersion) -> FileSummary:
        where = "" if version.path == self.path_text else f" from {version.path}"
        return FileSummary(
            path=str(self.source.path),
            entity=version.entity,
            status="unchanged",
            n_read=version.n_read,
            n_loaded=version.n_loaded,
            n_quarantined=version.n_quarantined,
            quarantined_by_reason=quarantine_counts(con, version.file_id),
            file_id=version.file_id,
            file_format=self.source.file_format,
            message=f"same content already loaded{where} at {version.loaded_at:%Y-%m-%d %H:%M:%S}; nothing added",
        )

    def _repeated_keys(
        self,
        con: DuckDBBackend,
        staged: _Staged,
        versions: list[LoadedVersion],
        replaced: list[LoadedVersion],
    ) -> None:
        """``duplicate_key`` for rows whose key an earlier batch or another file has.

        The staged files are the part, then the keys of the rows quarantined for other
        reasons (which get the problem too, as when a file is checked at once, but are no
        rows to take out). Repeats within one batch were found by :func:`validate` with the
        batch, repeats across batches by :meth:`stage`.
        """
        key = self.entity.key
        loaded = staged.loaded
        paths = {v.file_id: v.path for v in versions}
        already: dict[int, str] = {}
        for row in keys_already_loaded(
            con, staged.files, self.entity.table, key, excluded_files=[v.file_id for v in replaced]
        ).to_pylist():
            where = paths.get(row["loaded_file_id"], row["loaded_file_id"])
            already[row["_row"]] = (
                f"{_key_of(row, key)} (loaded from {where} row {row['loaded_row']})"
            )
        in_file = staged.in_file
        if not in_file and not already:
            return
        rows = np.array(sorted(in_file.keys() | already.keys()), dtype=np.int64)
        stored = rows[~np.isin(rows, _concatenated(loaded.bad_rows))]
        if len(stored):
            _rewrite_part_without(staged.files[0], self.folder, self.entity.table, stored)
        for detail in (in_file, already):
            if detail:
                self._quarantine_late(detail, loaded)
        loaded.n_loaded -= len(stored)
        loaded.n_quarantined += len(stored)

    def _quarantine_late(self, detail: dict[int, str], loaded: _Loaded) -> None:
        """``duplicate_key`` quarantine rows for the rows ``detail`` names (with its text).

        The file is read again for the rows' source records.
        """
        rows = np.array(list(detail), dtype=np.int64)
        for read, _ in self._batches():
            positions = np.flatnonzero(np.isin(read.row_numbers, rows))
            if not len(positions):
                continue
            table = self._as_exported(read)
            match = match_columns(table.column_names, self.entity, where=str(self.source.path))
            table = table.rename_columns([match.renames.get(n, n) for n in table.column_names])
            table = pseudonymise_source(table, self.entity, self.pii_key_for)  # as in a batch
            found = read.row_numbers[positions]
            loaded.quarantine.append(
                quarantine_rows(
                    file_id=loaded.file_id,
                    path=self.path_text,
                    entity=self.entity.name,
                    table=table,
                    problems=[
                        ProblemBatch(
                            positions,
                            ",".join(self.entity.key),
                            "duplicate_key",
                            detail=np.array([detail[int(r)] for r in found], dtype=object),
                        )
                    ],
                    malformed=[],
                    row_numbers=read.row_numbers,
                    line_numbers=read.line_numbers(),
                    pii_columns=self.pii_columns,
                    has_pii=bool(self.pii_columns),
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

    def _commit(
        self, con: DuckDBBackend, loaded: _Loaded, replaced: list[LoadedVersion]
    ) -> FileSummary:
        file_id = loaded.file_id
        quarantine = _in_row_order(loaded.quarantine)
        status = "replaced" if replaced else "loaded"
        log_row = pa.table(
            {
                "file_id": [file_id],
                "path": [self.path_text],
                "entity": [self.entity.name],
                "file_format": [self.source.file_format],
                "encoding": [loaded.encoding],
                "status": [status],
                "n_read": [loaded.n_read],
                "n_loaded": [loaded.n_loaded],
                "n_quarantined": [loaded.n_quarantined],
                "loaded_at": [_now_local(self.config)],
            },
            schema=FILES_SCHEMA,
        )
        old = tuple(v.file_id for v in replaced)
        deletes = [Delete(FILES_TABLE, "file_id", old), Delete(QUARANTINE_TABLE, "file_id", old)]
        load_atomically(
            con,
            clean_orphans=False,  # other files' parts may be being staged beside this one
            deletes=deletes,
            inserts=[Insert(QUARANTINE_TABLE, quarantine), Insert(FILES_TABLE, log_row)],
            written_parts=[
                WrittenPart(self.entity.table, file_id, loaded.n_loaded, stored_schema(self.entity))
            ],
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
            n_read=loaded.n_read,
            n_loaded=loaded.n_loaded,
            n_quarantined=loaded.n_quarantined,
            quarantined_by_reason=dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
            file_id=file_id,
            file_format=self.source.file_format,
            encoding=loaded.encoding,
            ignored_columns=loaded.ignored,
            message=f"replaced the earlier version of {self.path_text}" if replaced else None,
        )


@dataclass
class _Loaded:
    """What the batches of one file have added up to so far."""

    file_id: str
    n_batches: int = 0
    n_read: int = 0
    n_loaded: int = 0
    n_quarantined: int = 0
    encoding: str | None = None
    ignored: tuple[str, ...] = ()
    quarantine: list[pa.Table] = dataclasses.field(default_factory=list)
    bad_rows: list[np.ndarray] = dataclasses.field(default_factory=list)
    duplicated: list[np.ndarray] = dataclasses.field(default_factory=list)  # within a batch


@dataclass
class _Staged:
    """A file read, checked and stored as an unregistered part, waiting for its commit."""

    loaded: _Loaded
    files: list[Path] = dataclasses.field(default_factory=list)  # part, keys of bad rows
    has_part: bool = False
    in_file: dict[int, str] = dataclasses.field(default_factory=dict)  # across batches

    def discard(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)  # never registered: no view reads it


def _concatenated(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, np.int64)


def _key_of(row: dict, key: Sequence[str]) -> str:
    return ", ".join(str(row[k]) for k in key)


def _in_row_order(tables: list[pa.Table]) -> pa.Table:
    """The batches' quarantine rows as one table ordered by row (stable within a row)."""
    if len(tables) == 1:
        return tables[0]
    together = pa.concat_tables(tables)
    return together.take(pc.sort_indices(together, [("row", "ascending")]))


def _rewrite_part_without(part: Path, folder: Path, view: str, rows: np.ndarray) -> None:
    """Write ``part`` again without the rows numbered ``rows`` (batch by batch)."""
    writer = PartWriter(folder, view, part.name.removesuffix(".parquet"))
    try:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=1 << 20):
            keep = ~np.isin(batch.column("_row").to_numpy(), rows)
            writer.write(pa.Table.from_batches([batch]).filter(pa.array(keep)))
        writer.close()
    except BaseException:
        writer.abort()
        raise


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


@dataclass
class _Planned:
    """A file to load, its position in the run, its content hash or why it failed."""

    index: int
    source: SourceFile
    file_id: str | None = None
    failure: FileSummary | None = None


def _hash_each(
    sources: list[SourceFile], progress: _Progress, profile: Profile | None = None
) -> list[_Planned]:
    plan = []
    for index, source in enumerate(sources):
        if source.skipped is not None:  # a folder not walked into: said, not failed
            plan.append(_Planned(index, source, failure=skipped_summary(source)))
            continue
        if source.problem is not None:
            plan.append(_Planned(index, source, failure=_failed(source, source.problem)))
            continue
        progress.report(index, source.path.name, "hashing", 0.0)
        try:
            file_id = file_identity(source, file_id_of(source.path))
            if profile is not None:  # read through another profile, the rows differ
                mixed = f"{file_id}\0profile\0{profile.fingerprint()}"
                file_id = hashlib.sha256(mixed.encode()).hexdigest()
            plan.append(_Planned(index, source, file_id=file_id))
        except InputFileError as exc:
            plan.append(_Planned(index, source, failure=_failed(source, str(exc))))
    return plan


# Starting a worker process (imports included) costs 2-3 s of CPU on this machine, as much as
# staging 30-50 MB of Parquet: smaller runs load in this process.
PARALLEL_MIN_BYTES = 64 << 20


def _worth_processes(to_stage: list[_Planned]) -> bool:
    return sum(_size(item.source.path) for item in to_stage) >= PARALLEL_MIN_BYTES


def _jobs_setting(jobs: int | None) -> int:
    if jobs is None:
        return max(os.cpu_count() or 1, 1)
    if jobs < 1:
        raise ConfigError(f"--jobs={jobs}: files loaded at once must be at least 1")
    return jobs


def _quiet(stage: str, fraction: float) -> None:
    """Progress of a file staged in another process: reported when it commits."""


@dataclass(frozen=True)
class _Job:
    """What a worker process needs to stage one file (picklable)."""

    config: Config
    source: SourceFile
    encoding: str | None
    pii_key: bytes | None
    batch_rows: int
    folder: Path
    file_id: str
    profile: Profile | None = None


def _spill_folder(folder: Path) -> Path:
    return folder / f".key-check-spill-{os.getpid()}"


def _stage_in_worker(job: _Job) -> _Staged:
    def key() -> bytes:
        assert job.pii_key is not None  # resolved by the parent before starting workers
        return job.pii_key

    loader = _FileLoader(
        job.config, job.source, job.encoding, key, _quiet, job.batch_rows, job.folder, job.profile
    )
    query_con = key_check_connection(_spill_folder(job.folder))
    try:
        return loader.stage(job.file_id, query_con)
    finally:
        query_con.disconnect()
        shutil.rmtree(_spill_folder(job.folder), ignore_errors=True)


class _Pool:
    """Worker processes staging files ahead of their commits in the parent."""

    def __init__(
        self,
        jobs: int,
        config: Config,
        encoding: str | None,
        pii_key: bytes | None,
        batch_rows: int,
        folder: Path,
        profile: Profile | None = None,
    ) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        )
        self.job = {"config": config, "encoding": encoding, "pii_key": pii_key}
        self.job |= {"batch_rows": batch_rows, "folder": folder, "profile": profile}
        self.futures: dict[int, Future] = {}

    def submit(self, item: _Planned) -> None:
        assert item.file_id is not None
        job = _Job(source=item.source, file_id=item.file_id, **self.job)
        self.futures[item.index] = self.executor.submit(_stage_in_worker, job)

    def take(self, index: int) -> Future | None:
        """The staging of the file ``index``, now the caller's to commit or discard."""
        return self.futures.pop(index, None)

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        self.executor.shutdown(wait=True)
        for future in self.futures.values():  # staged but never taken (an error stopped us)
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().discard()


def _load_one(
    con: DuckDBBackend,
    loader: _FileLoader,
    item: _Planned,
    pool: _Pool | None,
    query_con: Callable[[], DuckDBBackend],
) -> FileSummary:
    """Stage (or take the staged) file and commit it; a failure of the file is a summary."""
    source = item.source
    future = pool.take(item.index) if pool is not None else None
    try:
        versions = loaded_versions(con)
        for version in versions:
            if version.file_id == item.file_id:
                if future is not None:
                    future.result().discard()
                return loader.unchanged(con, version)
        assert item.file_id is not None
        staged = future.result() if future is not None else loader.stage(item.file_id, query_con())
        return loader.finish(con, staged, versions)
    except (InputFileError, SchemaError) as exc:
        return _failed(source, str(exc))
    except TouchpointError:
        raise  # the warehouse or the configuration: every other file would fail too
    except Exception as exc:  # a bug must not cost the other files their load
        return _failed(
            source,
            f"{source.path}: unexpected {type(exc).__name__} while ingesting "
            f"({str(exc).splitlines()[0] if str(exc) else 'no message'}); nothing of "
            "the file was loaded; please report this with the file",
        )


def _entity_with_profile(entity: str | None, profile: Profile | None) -> str | None:
    """The entity of every file: the profile's, which ``--entity`` may repeat, not contradict."""
    if profile is None:
        return entity
    if entity is not None and entity != profile.entity:
        raise SchemaError(
            f"--entity {entity!r} contradicts the profile's entity {profile.entity!r}; "
            "give one of them"
        )
    return profile.entity


def _new_contents(con: DuckDBBackend, plan: list[_Planned]) -> list[_Planned]:
    """The items of ``plan`` whose content is not loaded yet, each content once (its part
    has one name)."""
    known = {v.file_id for v in loaded_versions(con)}
    to_stage = []
    for item in plan:
        if item.file_id and item.file_id not in known:
            to_stage.append(item)
            known.add(item.file_id)
    return to_stage


def ingest(
    con: DuckDBBackend,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    entity: str | None = None,
    encoding: str | None = None,
    on_progress: ProgressCallback | None = None,
    batch_rows: int | None = None,
    jobs: int | None = 1,
    profile: Profile | None = None,
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
    batch_rows
        Rows read, checked and stored at a time (Parquet; a CSV block holds about as many
        rows of 128 bytes); peak memory grows with it, not with the file. ``None``: the
        ``TOUCHPOINT_INGEST_BATCH_ROWS`` environment variable, else 1,000,000.
    jobs
        Files read, checked and stored at once, each in its own process (``None``: one per
        core). Each file still commits in its own transaction, in the order of ``paths``, so
        the summaries and the log are those of loading the files one by one.
    profile
        An ingest profile (:func:`~touchpoint.ingest.load_profile`): every file is its
        entity, and each batch is mapped through it (renames, date and time combined, the
        export's formats, placeholders, codes) before validation. The same content read
        through another profile is another version of the file.

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
    entity = _entity_with_profile(entity, profile)
    batch_rows_setting(batch_rows)  # a bad setting fails before any file is touched
    _jobs_setting(jobs)
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

    rows_per_batch = batch_rows_setting(batch_rows)
    folder = prepare_parts_folder(con, [ENTITIES[e].table for e in ENTITIES])
    plan = _hash_each(sources, progress, profile)
    to_stage = _new_contents(con, plan)
    pool = None
    if _jobs_setting(jobs) > 1 and len(to_stage) > 1 and _worth_processes(to_stage):
        # Every entity's text is scanned for phone numbers: the workers need the key.
        pool = _Pool(
            _jobs_setting(jobs), config, encoding, pii_key_once(), rows_per_batch, folder, profile
        )
        for item in to_stage:
            pool.submit(item)
    checks: list[DuckDBBackend] = []

    def key_checks() -> DuckDBBackend:
        if not checks:
            checks.append(key_check_connection(_spill_folder(folder)))
        return checks[0]

    summaries = []
    try:
        for item in plan:
            index, source = item.index, item.source
            name = source.path.name

            def report(stage: str, fraction: float, index: int = index, name: str = name) -> None:
                progress.report(index, name, stage, fraction)

            if item.failure is not None:
                summaries.append(item.failure)
            else:
                loader = _FileLoader(
                    config, source, encoding, pii_key_once, report, rows_per_batch, folder, profile
                )
                summaries.append(_load_one(con, loader, item, pool, key_checks))
            progress.finish(index)
            report("done", 0.0)
    finally:
        if pool is not None:
            pool.close()
        for check in checks:
            check.disconnect()
            shutil.rmtree(_spill_folder(folder), ignore_errors=True)
    return summaries
