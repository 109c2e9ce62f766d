"""What ingest reports per file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["loaded", "replaced", "unchanged", "failed", "skipped"]


@dataclass(frozen=True)
class FileSummary:
    """The outcome of ingesting one file.

    ``n_read = n_loaded + n_quarantined`` always holds: a row is loaded, or quarantined with
    every problem it has. ``quarantined_by_reason`` counts (row, problem) pairs, so a row with
    two problems counts under both reasons. For an ``unchanged`` file the counts are those of
    the earlier load (nothing was added). A ``failed`` file could not be read at all; ``error``
    says why and how to fix it.
    """

    path: str
    entity: str | None
    status: Status
    n_read: int = 0
    n_loaded: int = 0
    n_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    file_id: str | None = None
    file_format: str | None = None
    encoding: str | None = None
    ignored_columns: tuple[str, ...] = ()
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        data = asdict(self)
        data["ignored_columns"] = list(self.ignored_columns)
        return data
