"""The snapshot the server reads, laid out for point lookups, and a backend that reuses SQL.

``touchpoint run`` publishes a snapshot of the warehouse when it finishes
(:func:`publish`); the server reads only that (:mod:`touchpoint.platform._reader`). Before
it is published, the copy is laid out for the customer card:

- the card store (:mod:`touchpoint.platform._cardstore`): the rows of the tables the card
  reads one customer from, streamed in customer order into files beside the snapshot, where
  a card is found without a query;
- ``platform_phone_index``: each phone number's hash and its customer, sorted by hash.

The snapshot's tables are the warehouse's, unchanged.

:class:`ServingBackend` is the Ibis DuckDB backend the server queries the snapshot with. A
snapshot never changes, so it remembers the tables and their schemas, and it compiles each
query *shape* once: a string compared for equality (a customer id, a phone hash) becomes a
bound parameter of a prepared statement, so the next customer's card reuses the SQL instead
of compiling ~100 columns through sqlglot again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend
from ibis.common.graph import Graph

from touchpoint.customers import CONTACT_COLUMNS
from touchpoint.platform import _cardstore
from touchpoint.warehouse import publish_snapshot
from touchpoint.warehouse.loading import database_path

log = logging.getLogger("touchpoint.platform")

PHONE_INDEX = "platform_phone_index"
C360 = "mart_customer_360"
#: Tables of the card store: name -> (the order its rows are stored in, the first column
#: being the key a card is looked up by; the columns written, ``None``: all).
CARD_STORE: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    C360: (("customer_id", "month"), None),
    "mart_channel_preference": (("customer_id", "month"), None),
    "mart_tag_membership": (("customer_id", "month"), None),
    "stg_contacts": (("customer_id", "started_at"), ("customer_id", *CONTACT_COLUMNS)),
    PHONE_INDEX: (("msisdn_hash",), None),
}
PII_KEY_SUFFIX = ".pii.key"  # the MSISDN hash key beside a warehouse (touchpoint.ingest)


def prepare_for_serving(con: Backend) -> None:
    """Lay the snapshot ``con`` out for point lookups: the phone index, and the card store
    (each customer's card rows, read without a query)."""
    existing = set(con.list_tables())
    if "stg_customers" in existing:
        customers = con.table("stg_customers")
        if "msisdn_hash" in customers.columns:
            known = customers.filter(customers.msisdn_hash.notnull())
            index = known.group_by("msisdn_hash").agg(customer_id=known.customer_id.min())
            con.create_table(PHONE_INDEX, index.order_by("msisdn_hash"), overwrite=True)
    write_card_store(con)


def write_card_store(con: Backend) -> None:
    """The card store beside the snapshot ``con`` (:mod:`touchpoint.platform._cardstore`):
    each card table it has, streamed in customer order. The snapshot's own tables are not
    rewritten sorted: a sorted copy in DuckDB cost three times the sorted stream (at 1 M
    customers, the 360: 19 CPU s to write sorted and 3 to read back, against 6 to stream),
    and cards are read from the store; DuckDB answers them only for a store it cannot read."""
    snapshot = database_path(con)
    if snapshot is None:
        return
    existing = set(con.list_tables())
    try:
        for name, (order, columns) in CARD_STORE.items():
            if name in existing and order[0] in con.table(name).columns:
                _cardstore.write_table(con, name, order[0], columns, order=order)
    except _cardstore.UnsortedError as exc:  # never expected: then cards are queried
        log.warning("no card store: %s", exc)
        _cardstore.remove_store(snapshot)


def open_card_store(con: Backend, snapshot: Path) -> _cardstore.CardStore | None:
    """The card store of ``snapshot`` (opened as ``con``), or ``None`` if it has none, or not
    one of every card table the snapshot has (then the card is queried)."""
    existing = set(con.list_tables())
    tables = [name for name in CARD_STORE if name in existing]
    if C360 not in tables:
        return None
    return _cardstore.open_store(snapshot, tables)


def publish(con: Backend) -> Path:
    """Publish the warehouse behind the writable ``con`` for the server (``touchpoint run``)."""
    return publish_snapshot(con, prepare=prepare_for_serving, companions=(PII_KEY_SUFFIX,))


# ---- the server's backend ---------------------------------------------------------------------
_SENTINEL = "__touchpoint_param_{}__"
_SENTINEL_SQL = re.compile(r"'__touchpoint_param_(\d+)__'")
CACHE_SIZE = 1024
_CURSOR_SETTINGS = ("SET TimeZone = 'UTC'", "SET python_enable_replacements = false")


def _shape(root: ops.Node) -> tuple[tuple, list[ops.Literal]]:
    """A query's shape and its lookup values, without rebuilding the expression.

    The shape is the expression graph written out node by node (breadth first), with each
    string compared for equality (``customer_id == 'C1'``) replaced by a marker; the values
    are those strings in the order met. Two cards of two customers have one shape. Walking
    the graph costs a fraction of rebuilding it (Ibis recomputes ~100 fields per node).
    """
    params: dict[ops.Literal, None] = {}
    for eq in root.find(ops.Equals):
        for side in (eq.left, eq.right):
            if isinstance(side, ops.Literal) and side.dtype.is_string():
                params[side] = None
    index: dict[ops.Node, int] = {}
    literals: list[ops.Literal] = []
    shape = []
    for node in Graph.from_bfs(root):
        index[node] = len(index)
    for node in index:
        if node in params:
            literals.append(node)
            shape.append(("?", node.dtype))
        else:
            shape.append((type(node), tuple(_arg(a, index) for a in node.__args__)))
    return tuple(shape), literals


def _arg(value: Any, index: dict[ops.Node, int]) -> Any:
    if isinstance(value, ops.Node):
        return ("#", index[value])
    if isinstance(value, tuple):
        return tuple(_arg(v, index) for v in value)
    if isinstance(value, Mapping):
        return tuple((k, _arg(v, index)) for k, v in value.items())
    return value


class ServingBackend(Backend):
    """DuckDB through Ibis over an immutable snapshot, shared by the server's threads.

    Each thread queries through a cursor of its own (``con`` is per thread); the tables'
    schemas and the compiled SQL of each query shape are kept for the snapshot's lifetime.
    """

    def __init__(self, root: duckdb.DuckDBPyConnection) -> None:
        super().__init__()
        self._can_reconnect = False
        self._root = root
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._tables: dict[str, ir.Table] = {}
        self._table_names: list[str] | None = None
        self._sql: OrderedDict[Any, tuple[str, list[int]] | None] = OrderedDict()
        self._record_batch_readers_consumed = {}
        self.pii_key_cache: bytes | None = None  # the MSISDN hash key (see find_by_phone)
        self.catalogue_cache: Any = None  # the tag catalogue in use (see _api.card_of)
        self.card_store: _cardstore.CardStore | None = None  # set by the reader (see _api)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:  # type: ignore[override]
        """This thread's cursor on the snapshot (made on first use)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._root.cursor()
            for statement in _CURSOR_SETTINGS:
                cursor.execute(statement)
            self._local.cursor = cursor
            with self._lock:
                self._cursors.append(cursor)
        return cursor

    @con.setter
    def con(self, value: duckdb.DuckDBPyConnection) -> None:
        self._root = value

    def disconnect(self) -> None:
        with self._lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self._root.close()

    def list_tables(self, *, like: str | None = None, database: Any = None) -> list[str]:
        if like is not None or database is not None:
            return super().list_tables(like=like, database=database)
        if self._table_names is None:
            self._table_names = super().list_tables()
        return list(self._table_names)

    def table(self, name: str, /, *, database: Any = None) -> ir.Table:
        if database is not None:
            return super().table(name, database=database)
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = super().table(name)
        return found

    def _to_duckdb_relation(
        self,
        expr: ir.Expr,
        *,
        params: Mapping[ir.Scalar, Any] | None = None,
        limit: int | str | None = None,
        **kwargs: Any,
    ):
        if params or kwargs:
            return super()._to_duckdb_relation(expr, params=params, limit=limit, **kwargs)
        node = expr.as_table().op()
        shape, literals = _shape(node)
        values = [lit.value for lit in literals]
        key = (shape, limit)
        with self._lock:
            prepared = self._sql.get(key, ...)
            if prepared is not ...:
                self._sql.move_to_end(key)
        if prepared is ...:  # a new shape: compile it once, with a marker per value
            template = node.replace(
                {lit: ops.Literal(_SENTINEL.format(i), lit.dtype) for i, lit in enumerate(literals)}
            )
            prepared = self._prepare(template.to_expr(), limit, len(values))
            with self._lock:
                self._sql[key] = prepared
                while len(self._sql) > CACHE_SIZE:
                    self._sql.popitem(last=False)
        if prepared is None:  # a shape that cannot be parameterised: compiled each time
            return super()._to_duckdb_relation(expr, limit=limit)
        sql, order = prepared
        return self.con.sql(sql, params=[values[i] for i in order])

    def _prepare(self, template: ir.Table, limit, n_values: int) -> tuple[str, list[int]] | None:
        sql = self.compile(template, limit=limit)
        order = [int(m.group(1)) for m in _SENTINEL_SQL.finditer(sql)]
        if sorted(set(order)) != list(range(n_values)):
            log.debug("not parameterised: a value is not a plain literal in the SQL")
            return None
        return _SENTINEL_SQL.sub("?", sql), order
