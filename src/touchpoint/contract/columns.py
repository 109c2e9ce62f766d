"""One check that an analytics input carries the contract's columns, for every capability."""

from __future__ import annotations

from collections.abc import Iterable

import ibis

from touchpoint.contract.entities import ENTITIES
from touchpoint.errors import SchemaError


def require_columns(table: ibis.Table, entity: str, columns: Iterable[str]) -> None:
    """Refuse a table that lacks some of ``columns``, naming every missing one.

    Parameters
    ----------
    table
        The input as the analytics receive it (usually a ``stg_*`` table).
    entity
        The contract entity the table holds (``"contacts"``, ``"ivr_events"``...): the message
        names its warehouse table and where its columns are defined.
    columns
        The columns the caller reads.

    Raises
    ------
    SchemaError
        ``<table>: missing column(s) a, b; expected the columns of ...``, every missing
        column named.

    Examples
    --------
    >>> import ibis
    >>> require_columns(ibis.table({"call_id": "string"}), "ivr_events", ("call_id",))
    >>> require_columns(ibis.table({"call_id": "string"}), "ivr_events", ("call_id", "seq", "key"))
    Traceback (most recent call last):
    ...
    touchpoint.errors.SchemaError: stg_ivr_events: missing column(s) seq, key; expected the columns of touchpoint.contract.ENTITIES['ivr_events'] (load it with `touchpoint ingest`)
    """
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise SchemaError(
            f"{ENTITIES[entity].table}: missing column(s) {', '.join(missing)}; expected the "
            f"columns of touchpoint.contract.ENTITIES[{entity!r}] (load it with `touchpoint ingest`)"
        )
