"""The server's warehouse reads: one long-lived read-only database per process.

Opening DuckDB costs 40-90 ms, more than a whole card lookup may take, and a read-only
connection kept open on the warehouse would stop ``touchpoint run`` (DuckDB's file lock). So
the server reads the newest *published snapshot* (:mod:`touchpoint.warehouse.snapshot`),
which ``touchpoint run`` writes when it has finished:

- the snapshot is opened once, read-only; each worker thread queries it through a cursor of
  its own (DuckDB connections are not shared between threads; a cursor costs microseconds);
- at most every ``check_seconds`` a request looks at the snapshot pointer (one ``stat``); a
  newer snapshot is opened and used by the requests that start from then on, and the old one
  is closed when its last request has finished: a page shows the last complete state, then
  the new one, never a half-written table;
- each request's queries are interrupted after ``timeout_seconds`` (DuckDB ``interrupt()`` on
  a timer): the caller gets a 504 problem, and the thread is free again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from ibis.backends.duckdb import Backend

from touchpoint.errors import WarehouseError
from touchpoint.platform._security import Problem
from touchpoint.platform._serving import ServingBackend, open_card_store, publish
from touchpoint.warehouse import connect, current_snapshot, snapshot_folder
from touchpoint.warehouse.snapshot import CURRENT

NO_WAREHOUSE = (
    "the warehouse has not been built yet: run `touchpoint demo` or `touchpoint ingest` then "
    "`touchpoint run`"
)
NO_SNAPSHOT = (
    "the warehouse has no published snapshot: `touchpoint run` publishes one when it finishes"
)
BUSY = (
    "a run (`touchpoint run` or `ingest`) is writing the warehouse and no snapshot has been "
    "published yet; try again when it has finished / 数据仓库正在更新，请稍后再试"
)


class _Watchdog:
    """Calls each request's ``stop`` when its time is up, from one thread for all requests
    (a ``threading.Timer`` per request started a thread per card lookup)."""

    def __init__(self) -> None:
        self._pending: dict[int, tuple[float, Callable[[], None]]] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._waiting_until = float("inf")  # the deadline the thread sleeps until

    def start(self, seconds: float, stop: Callable[[], None]) -> int:
        """Call ``stop`` in ``seconds`` unless cancelled; returns the handle for :meth:`cancel`."""
        handle = next(self._ids)
        deadline = time.monotonic() + seconds
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="touchpoint-query-timeout", daemon=True
                )
                self._thread.start()
            self._pending[handle] = (deadline, stop)
            if deadline < self._waiting_until:  # sooner than the thread would wake
                self._cond.notify()
        return handle

    def cancel(self, handle: int) -> None:
        with self._cond:
            self._pending.pop(handle, None)

    def _run(self) -> None:
        while True:
            due = []
            with self._cond:
                now = time.monotonic()
                for handle, (deadline, stop) in list(self._pending.items()):
                    if deadline <= now:
                        del self._pending[handle]
                        due.append(stop)
                if not due:
                    soonest = min((d for d, _ in self._pending.values()), default=float("inf"))
                    self._waiting_until = soonest
                    self._cond.wait(None if soonest == float("inf") else soonest - now)
                    self._waiting_until = float("inf")
            for stop in due:
                stop()


_WATCHDOG = _Watchdog()


@dataclass
class _Generation:
    """One opened snapshot: its backend (a cursor per thread) and the requests using it."""

    path: Path
    backend: ServingBackend
    users: int = 0
    retired: bool = False

    def close(self) -> None:
        self.backend.disconnect()


class WarehouseReader:
    """The newest published snapshot of ``warehouse``, opened once per process.

    ``check_seconds``: how often the pointer is looked at (0: on every request);
    ``timeout_seconds``: longest a request's queries may run before they are interrupted.
    """

    def __init__(
        self,
        warehouse: Path,
        *,
        check_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        threads: int | None = None,
        publish_when_missing: bool = True,
    ) -> None:
        self.publish_when_missing = publish_when_missing
        self.warehouse = Path(warehouse)
        self.threads = threads
        self.check_seconds = check_seconds
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self._pointer_seen: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._pointer = snapshot_folder(self.warehouse) / CURRENT

    # ---- which snapshot -----------------------------------------------------------------
    def _pointer_state(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._pointer)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _current(self) -> _Generation:
        """The generation a new request uses (opening a newer snapshot if one appeared)."""
        now = time.monotonic()
        with self._lock:
            generation = self._generation
            if generation is not None and now - self._checked_at < self.check_seconds:
                generation.users += 1
                return generation
            self._checked_at = now
            state = self._pointer_state()
            if generation is None or state != self._pointer_seen:
                path = current_snapshot(self.warehouse)
                if path is None and generation is None:  # nothing published yet
                    path = self._publish_first()
                    state = self._pointer_state()
                if path is not None and (generation is None or path != generation.path):
                    generation = self._open(path)
                self._pointer_seen = state
            assert generation is not None
            generation.users += 1
            return generation

    def _publish_first(self) -> Path:
        """A warehouse built before snapshots existed: publish one now, if no run is writing."""
        if not self.warehouse.exists():
            raise Problem(503, "No warehouse", NO_WAREHOUSE)
        if not self.publish_when_missing:
            raise Problem(503, "No published snapshot", NO_SNAPSHOT)
        try:
            con = connect(self.warehouse)  # a writer: fails at once while a run writes
        except WarehouseError:
            raise Problem(503, "Warehouse busy", BUSY, {"Retry-After": "60"}) from None
        try:
            return publish(con)
        finally:
            con.disconnect()

    def _open(self, path: Path) -> _Generation:
        """Open ``path`` and make it current (the lock is held); retire the previous one."""
        try:
            backend = connect(path, read_only=True, lock_wait_seconds=0)
        except WarehouseError as exc:
            if self._generation is not None:  # keep serving the last complete state
                return self._generation
            raise Problem(503, "Warehouse not readable", str(exc)) from None
        if self.threads is not None:  # a typed number, not text from a request
            backend.con.execute(f"SET threads = {int(self.threads)}")
        serving = ServingBackend(backend.con)
        serving.card_store = open_card_store(serving, path)
        new = _Generation(path, serving)
        old, self._generation = self._generation, new
        if old is not None:
            old.retired = True
            if old.users == 0:
                old.close()
        return new

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            if generation.retired and generation.users == 0:
                generation.close()

    def look_again(self) -> None:
        """Look for a newer snapshot on the next request (this process just published one)."""
        with self._lock:
            self._checked_at = float("-inf")

    @property
    def snapshot(self) -> Path | None:
        """The snapshot the server reads now (``None`` before the first request)."""
        return self._generation.path if self._generation else None

    # ---- one request ----------------------------------------------------------------------
    @contextmanager
    def connection(self) -> Iterator[Backend]:
        """This thread's cursor on the current snapshot, interrupted after the timeout."""
        generation = self._current()
        try:
            backend = generation.backend
            fired = threading.Event()
            cursor = backend.con

            def stop() -> None:
                fired.set()
                cursor.interrupt()

            timer = _WATCHDOG.start(self.timeout_seconds, stop)
            try:
                yield backend
            except duckdb.Error as exc:
                # DuckDB reports an interrupted query under several error types.
                if fired.is_set() or isinstance(exc, duckdb.InterruptException):
                    raise Problem(
                        504,
                        "Query took too long",
                        f"the query ran longer than {self.timeout_seconds:g} s and was stopped; "
                        "narrow it (fewer periods, one dimension) or try again later / "
                        "查询超时，请缩小范围后重试",
                    ) from None
                raise
            finally:
                _WATCHDOG.cancel(timer)
        finally:
            self._release(generation)

    def close(self) -> None:
        """Close every snapshot this reader opened (at shutdown)."""
        with self._lock:
            if self._generation is not None:
                self._generation.retired = True
                if self._generation.users == 0:
                    self._generation.close()
                self._generation = None
