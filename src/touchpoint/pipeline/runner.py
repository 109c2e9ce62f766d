"""Running the pipeline: build each step's tables and write them to the warehouse."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

import ibis
import pyarrow as pa

from touchpoint.capability import Step
from touchpoint.config import Config
from touchpoint.pipeline._memory import peak_memory_mb, reset_peak_memory
from touchpoint.pipeline.registry import StepResult, check_config, order_steps, pipeline_steps
from touchpoint.warehouse import write_table

RUNS_TABLE = "pipeline_runs"
ProgressCallback = Callable[[str, int, int], None]


def run_pipeline(
    con: ibis.BaseBackend,
    config: Config,
    *,
    steps: Sequence[Step] | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[StepResult]:
    """Run every step whose required inputs exist, in dependency order, writing its tables.

    Parameters
    ----------
    con
        The warehouse backend (see :func:`touchpoint.warehouse.connect`).
    config
        The configuration passed to every step.
    steps
        The steps to run; every registered capability's by default
        (:func:`~touchpoint.pipeline.registry.pipeline_steps`). They run in dependency order;
        a table a step reads that none of them writes is taken from the warehouse.
    on_progress
        Called as ``on_progress(step_name, steps_done, n_steps)`` before each step and once at the end.

    Returns
    -------
    list of StepResult
        One per step, in order; a skipped step names the input it lacked. The same rows are
        appended to the ``pipeline_runs`` table as each step ends (one row per step and table
        written), so a run that stops part way leaves the rows of the steps that ran.

    Raises
    ------
    PipelineError
        When the steps cannot be ordered (one line: the cycle, or the table nobody writes) or
        a build returns other tables than its step declares (nothing of that step is written).
    ConfigError
        When ``config`` has a section no capability claims, or a bad value in one.
    """
    check_config(config)
    steps = list(pipeline_steps()) if steps is None else order_steps(steps)
    results: list[StepResult] = []
    ran_at = dt.datetime.now().replace(microsecond=0)
    for index, step in enumerate(steps):
        if on_progress:
            on_progress(step.name, index, len(steps))
        result = _run_step(con, config, step)
        results.append(result)
        # Logged as each step ends: a run stopped part way (killed for its memory, say) still
        # shows which steps ran and what each cost.
        _log_runs(con, [result], ran_at)
    if on_progress:
        on_progress("done", len(steps), len(steps))
    return results


def _run_step(con: ibis.BaseBackend, config: Config, step: Step) -> StepResult:
    existing = set(con.list_tables())
    missing = [name for name in step.inputs if name not in existing]
    if missing:
        return StepResult(step.name, {}, 0.0, f"missing input table {missing[0]}")
    names = [*step.inputs, *(name for name in step.optional if name in existing)]
    peak_known = reset_peak_memory()
    start, cpu_start = time.perf_counter(), time.process_time()
    built = step.build({name: con.table(name) for name in names}, config)
    step.check_outputs(built)
    written = {}
    for table_name, expression in built.items():
        table = write_table(con, table_name, expression)
        written[table_name] = int(table.count().to_pyarrow().as_py())
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mb = peak_memory_mb() if peak_known else None
    return StepResult(step.name, written, seconds, cpu_seconds=cpu_seconds, peak_mb=peak_mb)


def _log_runs(con: ibis.BaseBackend, results: list[StepResult], ran_at: dt.datetime) -> None:
    rows = []
    for result in results:
        # A skipped step still leaves one row, with its reason and no table.
        for name, n_rows in result.tables.items() or [(None, None)]:
            rows.append(
                {
                    "ran_at": ran_at,
                    "step": result.step,
                    "table_name": name,
                    "n_rows": n_rows,
                    "seconds": result.seconds,
                    "cpu_seconds": result.cpu_seconds,
                    "peak_mb": result.peak_mb,
                    "skipped_reason": result.skipped_reason,
                }
            )
    schema = pa.schema(
        [
            ("ran_at", pa.timestamp("us")),
            ("step", pa.string()),
            ("table_name", pa.string()),
            ("n_rows", pa.int64()),
            ("seconds", pa.float64()),
            ("cpu_seconds", pa.float64()),
            ("peak_mb", pa.float64()),
            ("skipped_reason", pa.string()),
        ]
    )
    batch = pa.Table.from_pylist(rows, schema=schema)
    if RUNS_TABLE in con.list_tables():
        _add_new_columns(con, schema)
        # By name: an older log has its added column last.
        con.insert(RUNS_TABLE, batch.select(con.table(RUNS_TABLE).columns))
    else:
        con.create_table(RUNS_TABLE, batch)


def _add_new_columns(con: ibis.BaseBackend, schema: pa.Schema) -> None:
    """A log written before a column existed (``cpu_seconds``, ``peak_mb``) gains it, null for
    its old runs. Only float columns were ever added; the names are this module's own."""
    have = set(con.table(RUNS_TABLE).columns)
    for name in schema.names:
        if name not in have:
            con.raw_sql(f"ALTER TABLE {RUNS_TABLE} ADD COLUMN {name} DOUBLE")
