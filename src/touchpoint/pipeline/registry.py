"""The registry of capabilities, and the order their steps run in.

:data:`CAPABILITIES` is every analytics package, found rather than listed: a sub-package of
``touchpoint`` with a ``marts.yaml`` beside its ``__init__`` (the contract of the tables its
steps write). The pipeline imports each and reads its ``STEPS``. :func:`order_steps` then sorts the steps from what they read and write
(a topological sort; among steps free to run, the one registered first goes first, so the order
is the same on every run), and refuses a table that two steps write, a table that no step
writes and no source provides, and a cycle, each in one line.
"""

from __future__ import annotations

import heapq
import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import ibis

import touchpoint
from touchpoint.capability import Step
from touchpoint.config import Config, check_sections
from touchpoint.contract import ENTITIES
from touchpoint.errors import PipelineError


def discover_capabilities() -> tuple[str, ...]:
    """The packages of :data:`CAPABILITIES`, by name: a new capability needs no line here.

    >>> found = discover_capabilities()
    >>> "touchpoint.channels" in found, found == tuple(sorted(found))
    (True, True)
    """
    root = Path(touchpoint.__file__).parent
    return tuple(
        f"touchpoint.{module.name}"
        for module in sorted(pkgutil.iter_modules([str(root)]), key=lambda m: m.name)
        if module.ispkg and (root / module.name / "marts.yaml").is_file()
    )


#: The analytics capabilities, one package each (its ``STEPS`` and ``marts.yaml`` are read);
#: in name order, which is the order steps free to run at once run in.
CAPABILITIES: tuple[str, ...] = discover_capabilities()

#: Tables ingest provides (``stg_*``, one per source entity of the data contract).
SOURCE_TABLES: frozenset[str] = frozenset(entity.table for entity in ENTITIES.values())


@dataclass(frozen=True)
class StepResult:
    """What one step did: the tables it wrote with their row counts, or why it was skipped.

    ``seconds`` is wall time; ``cpu_seconds`` the CPU time of this process over the step (every
    thread, DuckDB's included), the steadier figure on a shared machine; ``peak_mb`` the
    largest resident memory of this process during the step. Both are ``None`` where they
    cannot be known (work on a Spark cluster; a system without Linux's peak counter).
    """

    step: str
    tables: dict[str, int]
    seconds: float
    skipped_reason: str | None = None
    cpu_seconds: float | None = None
    peak_mb: float | None = None

    @property
    def ran(self) -> bool:
        return self.skipped_reason is None


def capability_module(name: str) -> ModuleType:
    """The package ``name`` of :data:`CAPABILITIES`, imported."""
    return importlib.import_module(name)


def capability_steps(name: str) -> tuple[Step, ...]:
    """The ``STEPS`` of capability ``name``, checked to be a tuple of :class:`Step`.

    Raises
    ------
    PipelineError
        When the package has no ``STEPS`` or holds something else in it.
    """
    steps = getattr(capability_module(name), "STEPS", None)
    if not isinstance(steps, tuple) or not all(isinstance(s, Step) for s in steps):
        raise PipelineError(
            f"{name}: a registered capability needs STEPS = (Step(...), ...) in its "
            f"__init__.py, found {type(steps).__name__}"
        )
    return steps


@cache
def record_tables() -> dict[str, ibis.Schema]:
    """Tables a capability's commands write (not ingest, not a step), with their schemas: each
    capability's ``RECORDS`` (``campaign_definitions``...). Steps may read them as optional
    inputs; like the ``stg_*`` tables they are sources, present or not.

    >>> sorted(record_tables())[:2]
    ['campaign_assignments', 'campaign_definitions']
    """
    records: dict[str, ibis.Schema] = {}
    for name in CAPABILITIES:
        records.update(getattr(capability_module(name), "RECORDS", {}))
    return records


@cache
def pipeline_steps() -> tuple[Step, ...]:
    """Every registered capability's steps, in the order they run.

    >>> names = [step.name for step in pipeline_steps()]
    >>> names.index("channels_cubes") < names.index("channels") < names.index("customers")
    True
    """
    steps = [step for name in CAPABILITIES for step in capability_steps(name)]
    return tuple(order_steps(steps, sources=SOURCE_TABLES | set(record_tables())))


def select_steps(names: Iterable[str]) -> list[Step]:
    """The registered steps called ``names``, in the order they run (to rerun a few steps on
    a warehouse whose other tables exist).

    >>> [step.name for step in select_steps(["customers", "channels"])]
    ['channels', 'customers']

    Raises
    ------
    PipelineError
        For a name no capability registers, with the names that exist.
    """
    wanted = set(names)
    known = {step.name for step in pipeline_steps()}
    unknown = sorted(wanted - known)
    if unknown:
        raise PipelineError(
            f"no step named {unknown[0]!r}; the steps are: {', '.join(sorted(known))}"
        )
    return [step for step in pipeline_steps() if step.name in wanted]


def built_from(tables: Iterable[str], steps: Sequence[Step] | None = None) -> set[str]:
    """``tables`` and every table a step writes from one of them as a required input, however
    many steps away: what cannot be built when ``tables`` are missing.

    >>> sorted(built_from({"stg_call_records"}))[:2]
    ['mart_capacity_backtest', 'mart_capacity_forecast']
    """
    found = set(tables)
    grown = True
    while grown:
        grown = False
        for step in steps if steps is not None else pipeline_steps():
            if set(step.inputs) & found and not set(step.outputs) <= found:
                found |= set(step.outputs)
                grown = True
    return found


def check_config(config: Config, source: str = "configuration") -> None:
    """Refuse a settings section of ``config`` that no registered capability claims, and a bad
    value in any of them, before anything runs (:func:`touchpoint.config.check_sections`)."""
    for name in CAPABILITIES:
        capability_module(name)  # importing a capability registers its settings section
    check_sections(config, source)


def _producers(steps: Sequence[Step]) -> dict[str, Step]:
    producers: dict[str, Step] = {}
    seen: dict[str, Step] = {}
    for step in steps:
        if step.name in seen:
            raise PipelineError(f"two steps are named {step.name!r}; step names must be unique")
        seen[step.name] = step
        for table in step.outputs:
            if table in producers:
                raise PipelineError(
                    f"table {table!r} is written by both step {producers[table].name!r} and "
                    f"step {step.name!r}; one table has one producer"
                )
            producers[table] = step
    return producers


def order_steps(steps: Sequence[Step], sources: Iterable[str] | None = None) -> list[Step]:
    """``steps`` sorted so that a step comes after every step writing a table it reads.

    Parameters
    ----------
    steps
        The steps, in registration order (which breaks ties: the order is deterministic).
    sources
        Tables that exist without a step (the ``stg_*`` tables). When given, a table a step
        reads that no step writes and no source provides is refused; ``None`` treats such
        tables as external (a run of a few steps on a warehouse that holds the rest).

    Raises
    ------
    PipelineError
        One line naming the steps of a cycle, or the step and the table nobody writes.

    Examples
    --------
    >>> make = lambda name, reads, writes: Step(
    ...     name, inputs=reads, outputs=writes, build=lambda t, c: {})
    >>> later = make("later", ("mart_a",), ("mart_b",))
    >>> first = make("first", ("stg_contacts",), ("mart_a",))
    >>> [s.name for s in order_steps([later, first], sources={"stg_contacts"})]
    ['first', 'later']
    >>> order_steps([later], sources={"stg_contacts"})
    Traceback (most recent call last):
    ...
    touchpoint.errors.PipelineError: step 'later' reads 'mart_a', which no registered step writes and no source provides; register the step that writes it or correct the name
    >>> order_steps([make("a", ("mart_b",), ("mart_a",)), later])
    Traceback (most recent call last):
    ...
    touchpoint.errors.PipelineError: the steps form a cycle: a -> later -> a (later reads mart_a, written by a; a reads mart_b, written by later)
    """
    producers = _producers(steps)
    known = set(sources) if sources is not None else None
    index = {step.name: i for i, step in enumerate(steps)}
    after: dict[str, set[str]] = {step.name: set() for step in steps}  # step -> steps it waits for
    for step in steps:
        for table in step.reads:
            producer = producers.get(table)
            if producer is step:
                continue  # an optional own output: the previous run's table
            if producer is not None:
                after[step.name].add(producer.name)
            elif known is not None and table not in known:
                raise PipelineError(
                    f"step {step.name!r} reads {table!r}, which no registered step writes and "
                    "no source provides; register the step that writes it or correct the name"
                )
    waiting = {name: len(before) for name, before in after.items()}
    followers: dict[str, list[str]] = {step.name: [] for step in steps}
    for name, before in after.items():
        for producer in before:
            followers[producer].append(name)
    ready = [index[name] for name, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[Step] = []
    while ready:
        step = steps[heapq.heappop(ready)]
        ordered.append(step)
        for name in followers[step.name]:
            waiting[name] -= 1
            if waiting[name] == 0:
                heapq.heappush(ready, index[name])
    if len(ordered) < len(steps):
        raise PipelineError(_describe_cycle(steps, after, waiting))
    return ordered


def _describe_cycle(
    steps: Sequence[Step], after: dict[str, set[str]], waiting: dict[str, int]
) -> str:
    by_name = {step.name: step for step in steps}
    # Walk back from a stuck step through stuck producers until a step repeats.
    name = next(step.name for step in steps if waiting[step.name] > 0)
    path: list[str] = []
    while name not in path:
        path.append(name)
        name = min(p for p in after[name] if waiting[p] > 0)
    cycle = path[path.index(name) :]
    cycle.reverse()  # producers first, in the direction the data flows
    first = min(range(len(cycle)), key=lambda i: [s.name for s in steps].index(cycle[i]))
    cycle = cycle[first:] + cycle[:first]  # from the step registered first: one message
    links = []
    for producer, reader in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        table = next(t for t in by_name[reader].reads if t in by_name[producer].outputs)
        links.append(f"{reader} reads {table}, written by {producer}")
    cycle_text = " -> ".join([*cycle, cycle[0]])
    return f"the steps form a cycle: {cycle_text} ({'; '.join(links)})"
