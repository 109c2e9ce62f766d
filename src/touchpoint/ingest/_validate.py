"""Validating a file's rows against the contract, vectorised, collecting every failure of a row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.config import Config
from touchpoint.contract import Entity
from touchpoint.contract.arrow import ARROW_TYPES
from touchpoint.ingest._pii import normalise_msisdn_array
from touchpoint.ingest._reading import dictionary_encode
from touchpoint.ingest._values import (
    drop_out_of_range,
    parse_column,
    parse_vocabulary,
    plain,
    plausible_range,
)


@dataclass(frozen=True)
class ProblemBatch:
    """Rows (positions in the read table) that fail one check of one column."""

    positions: np.ndarray
    column: str | None
    reason: str
    source: pa.Array | None = None  # the raw column, for the quarantine `value`
    detail: np.ndarray | None = None  # ready-made `value` text per position, instead of source


@dataclass
class Validated:
    """The typed columns of a file and every problem found, one batch per (check, column)."""

    columns: dict[str, pa.Array]
    problems: list[ProblemBatch] = field(default_factory=list)

    def add(
        self,
        mask: pa.Array | np.ndarray,
        column: str | None,
        reason: str,
        source: pa.Array | None = None,
    ) -> None:
        if isinstance(mask, pa.Array | pa.ChunkedArray):
            if not pc.any(mask).as_py():  # the usual case: a bitmap scan, no unpacking
                return
            mask = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
        elif not mask.any():
            return
        positions = np.flatnonzero(mask)
        if len(positions):
            self.problems.append(ProblemBatch(positions, column, reason, source))

    def bad_positions(self) -> np.ndarray:
        """Positions of the rows with at least one problem, sorted."""
        if not self.problems:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate([p.positions for p in self.problems]))


def _codes(values: pa.Array) -> np.ndarray:
    """Integer codes numbered by first appearance; -1 for nulls."""
    _, indices = dictionary_encode(values)
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_dictionary(values.type):  # its own order, not that of first appearance
        codes = _by_first_appearance(codes)
    return codes


def _by_first_appearance(codes: np.ndarray) -> np.ndarray:
    """Renumber ``codes`` (-1 for null) so that each code is numbered by its first row."""
    present = codes >= 0
    if not present.any():
        return codes
    distinct, first_row = np.unique(codes[present], return_index=True)
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[np.argsort(first_row)] = np.arange(len(distinct))
    lookup = np.full(int(distinct[-1]) + 1, -1, dtype=np.int64)
    lookup[distinct] = rank
    return np.where(present, lookup[np.maximum(codes, 0)], -1)


def key_codes(keys: Sequence[pa.Array]) -> np.ndarray:
    """One code per distinct key (numbered by first appearance); -1 where a key part is null."""
    codes = _codes(keys[0])
    for part in keys[1:]:
        other = _codes(part)
        combined = codes * (int(other.max(initial=0)) + 1) + other
        invalid = (codes < 0) | (other < 0)
        codes = _codes(pa.array(np.where(invalid, 0, combined), mask=invalid))
    return codes


def repeated_keys(keys: Sequence[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of rows whose key appeared on an earlier row, and that earlier row's position."""
    codes = key_codes(keys)
    if len(codes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    seen_before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    is_first = codes > seen_before  # codes grow by one at each key's first appearance
    first_positions = np.flatnonzero(is_first)  # ordered by code
    repeats = np.flatnonzero((codes >= 0) & ~is_first)
    return repeats, first_positions[codes[repeats]]


def validate(
    table: pa.Table, entity: Entity, config: Config, *, row_numbers: np.ndarray
) -> Validated:
    """Check every row of ``table`` (columns named as in the contract) against ``entity``.

    Returns the typed columns (vocabulary values mapped to their ids, phone numbers
    normalised but not yet hashed) and every problem: ``missing_column``, ``bad_type``,
    ``missing_value``, ``not_in_vocabulary``, ``below_min``, ``above_max``, the entity's
    order checks and ``duplicate_key`` within the file. A row can have several problems.
    """
    n = table.num_rows
    result = Validated(columns={})
    first_day, last_day = plausible_range(config)
    for column in entity.columns:
        if column.name not in table.column_names:
            result.columns[column.name] = pa.nulls(n, ARROW_TYPES[column.dtype])
            if column.required:
                result.add(np.ones(n, dtype=bool), column.name, "missing_column")
            continue
        source = table.column(column.name)
        if column.vocabulary:
            parsed = parse_vocabulary(
                source, config.alias_map(column.vocabulary), config.ingest.null_values
            )
            bad_reason = "not_in_vocabulary"
        else:
            parsed = parse_column(
                source,
                column.dtype,
                timezone=config.timezone,
                null_values=config.ingest.null_values,
            )
            bad_reason = "bad_type"
        values = parsed.values
        result.add(parsed.is_bad, column.name, bad_reason, source)
        if column.required:
            result.add(parsed.is_missing, column.name, "missing_value")
        if column.pii:
            values, is_not_a_number = normalise_msisdn_array(plain(values))
            result.add(is_not_a_number, column.name, "bad_type", source)
        if column.min_value is not None:
            result.add(pc.less(values, column.min_value), column.name, "below_min", source)
        if column.max_value is not None:
            result.add(pc.greater(values, column.max_value), column.name, "above_max", source)
        if column.dtype in ("date", "timestamp"):
            values, is_out = drop_out_of_range(values, first_day, last_day)
            result.add(is_out, column.name, "out_of_range", source)
        result.columns[column.name] = values
    for check in entity.order_checks:
        is_reversed = pc.less(result.columns[check.later], result.columns[check.earlier])
        positions = np.flatnonzero(pc.fill_null(is_reversed, False).to_numpy(zero_copy_only=False))
        if len(positions):
            later = key_text(result.columns, [check.later], positions)
            earlier = key_text(result.columns, [check.earlier], positions)
            detail = [
                f"{a} (before {check.earlier} {b})" for a, b in zip(later, earlier, strict=True)
            ]
            result.problems.append(
                ProblemBatch(
                    positions, check.later, check.reason, detail=np.array(detail, dtype=object)
                )
            )
    repeats, firsts = repeated_keys([result.columns[k] for k in entity.key])
    if len(repeats):
        result.problems.append(
            ProblemBatch(
                repeats,
                ",".join(entity.key),
                "duplicate_key",
                detail=np.array(
                    [
                        f"{text} (first at row {row})"
                        for text, row in zip(
                            key_text(result.columns, entity.key, repeats),
                            row_numbers[firsts],
                            strict=True,
                        )
                    ],
                    dtype=object,
                ),
            )
        )
    return result


def key_text(
    columns: Mapping[str, pa.Array], key: Sequence[str], positions: np.ndarray
) -> list[str]:
    """The key of the rows at ``positions`` as text, parts joined by ", "."""
    parts = [as_plain_text(columns[k].take(pa.array(positions))) for k in key]
    return [", ".join(values) for values in zip(*parts, strict=True)]


def as_plain_text(values: pa.Array) -> list[str]:
    return [str(v) for v in values.to_pylist()]
