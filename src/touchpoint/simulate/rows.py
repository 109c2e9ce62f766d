"""Row helpers shared by the simulator's processes: rows are dicts of equal-length arrays."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr


def concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The rows of ``parts`` one after the other (empty parts skipped; ``{}`` if all are)."""
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def whole_seconds_us(keys: np.ndarray, mean_seconds: np.ndarray) -> np.ndarray:
    """A gamma-distributed duration around ``mean_seconds``, in whole seconds (at least 1 s),
    as microseconds."""
    return (kr.gamma2(keys, mean_seconds / 2) * 1e6).astype(
        np.int64
    ) // 1_000_000 * 1_000_000 + 1_000_000


def events_of(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` events for each ``i``: (i per event, event key = ``keys[i]`` with the
    event's ordinal among i's events).

    >>> import numpy as np
    >>> owner, _ = events_of(np.array([7, 9], dtype=np.uint64), np.array([2, 1]))
    >>> owner.tolist()
    [0, 0, 1]
    """
    owner = np.repeat(np.arange(len(counts)), counts)
    ordinal = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, kr.fold(keys[owner], ordinal)


def sorted_rows(rows: dict[str, np.ndarray], *columns: str) -> dict[str, np.ndarray]:
    """Rows ordered by ``columns`` (the first the most significant)."""
    if not rows or not len(rows[columns[0]]):
        return rows
    order = np.lexsort(tuple(rows[c] for c in reversed(columns)))
    return {k: v[order] for k, v in rows.items()}


def ordinals(customer: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Per row: its rank among the rows of the same customer and month, in row order.

    >>> import numpy as np
    >>> ordinals(np.array([3, 1, 3, 3]), np.array([0, 0, 1, 0])).tolist()
    [0, 0, 0, 1]
    """
    if not len(customer):
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((month, customer))  # stable: row order within a customer-month
    c, m = customer[order], month[order]
    new = np.concatenate([[True], (c[1:] != c[:-1]) | (m[1:] != m[:-1])])
    starts = np.flatnonzero(new)
    rank = np.arange(len(order)) - starts[np.cumsum(new) - 1]
    out = np.empty_like(rank)
    out[order] = rank
    return out
