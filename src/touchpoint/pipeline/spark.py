"""The pipeline on Spark: a session, the warehouse's Parquet parts as its sources.

Needs the optional extra (``pip install 'touchpoint[spark]'``: PySpark and Ibis's pyspark
backend, docs/scale.md). Local (``local[N]``) or any cluster: a master URL
(``spark://host:7077``, ``yarn``) or a Spark Connect URL (``sc://host:15002``), with the
operator's Spark settings passed through unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from touchpoint.errors import TouchpointError, first_line

DEFAULT_MASTER = "local[2]"
#: Settings every session gets unless the operator sets them: UTC (warehouse timestamps are
#: naive, read as UTC), no web UI, few shuffle partitions for a small local run.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    # Naive timestamps stay naive in the Parquet Spark writes (DuckDB reads them back as such).
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


class SparkEngineError(TouchpointError, RuntimeError):
    """Spark cannot be used: the extra is missing, or the master cannot be reached."""


def _pyspark() -> Any:
    try:
        import pyspark.sql  # noqa: F401
        from ibis.backends import pyspark as _backend  # noqa: F401
    except ImportError as exc:
        raise SparkEngineError(
            f"--engine spark needs the optional extra: pip install 'touchpoint[spark]' "
            f"({exc.name or exc} is not installed)"
        ) from None
    import pyspark

    return pyspark


def _check_reachable(master: str, timeout_seconds: float = 5.0) -> None:
    """Refuse a ``sc://`` or ``spark://`` master nothing answers at, in seconds: Spark Connect
    itself retries for about ten minutes before giving up (measured)."""
    scheme, _, rest = master.partition("://")
    if scheme not in ("sc", "spark"):
        return
    address = rest.split("/")[0].split(";")[0]
    host, _, port = address.rpartition(":")
    default_port = 15002 if scheme == "sc" else 7077
    host, port_number = (host, int(port)) if host and port.isdigit() else (address, default_port)
    try:
        socket.create_connection((host, port_number), timeout=timeout_seconds).close()
    except OSError as exc:
        raise SparkEngineError(
            f"cannot start Spark on master {master!r}: nothing answers at "
            f"{host}:{port_number} ({exc.strerror or exc})"
        ) from None


def spark_session(master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None) -> Any:
    """A Spark session on ``master`` with :data:`BASE_CONF` and ``conf`` (``conf`` wins).

    Raises
    ------
    SparkEngineError
        One line when PySpark is not installed or the master cannot be reached.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    _check_reachable(master)
    settings = {**BASE_CONF, **(conf or {})}
    builder = SparkSession.builder.appName("touchpoint")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        session.sql("SELECT 1").collect()  # a master that cannot be reached fails here
    except Exception as exc:  # py4j, grpc and JVM start-up errors have no common base
        raise SparkEngineError(
            f"cannot start Spark on master {master!r}: {first_line(exc)[:300]}"
        ) from None
    return session


def _stage_sources(session: Any, raw: Any) -> list[str]:
    """Every ``stg_*`` view as a Spark temporary view over exactly its registered parts."""
    from touchpoint.warehouse.parts import PARTS_TABLE, SUFFIX, parts_folder

    folder = parts_folder(raw)
    rows = raw.execute(f"SELECT view, part FROM {PARTS_TABLE} ORDER BY rowid").fetchall()
    by_view: dict[str, list[str]] = {}
    for view, part in rows:
        by_view.setdefault(view, []).append(str(folder / view / f"{part}{SUFFIX}"))
    for view, paths in by_view.items():
        for path in paths:
            _check_part(path, view, PARTS_TABLE)
        session.read.parquet(*paths).createOrReplaceTempView(view)
    return sorted(by_view)


def _check_part(path: str, view: str, parts_table: str) -> None:
    """Refuse, in one line and before any step runs, a listed part that is missing or whose
    Parquet footer cannot be read: Spark reads lazily, so such a part would otherwise fail a
    step part way with a Java stack trace."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    reload = "reload the source with `touchpoint ingest`"
    if not Path(path).exists():
        raise SparkEngineError(
            f"warehouse part {path} of {view} is listed in {parts_table} but missing; {reload}"
        )
    try:
        pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        raise SparkEngineError(
            f"warehouse part {path} of {view} is not readable Parquet "
            f"({first_line(exc)[:200]}); {reload}"
        ) from None


def _declared(expr: Any, schema: Any) -> Any:
    """``expr`` with exactly the declared columns, each cast to its declared type (Spark
    returns DATE_TRUNC as a timestamp, untyped float literals as DECIMAL, other int widths)."""
    order = [name for name in expr.columns if name in schema]
    return expr.select(*[expr[name].cast(schema[name]).name(name) for name in order])


def _arrow_memtables(scon: Any, session: Any) -> None:
    """Register Ibis in-memory tables (fitted models' results) through Arrow, not pandas: on
    the pandas path a column of missing strings became the text 'NaN' and missing floats NaN
    (``mart_retention_sbg``, measured), which Spark keeps as values."""

    def register(op: Any) -> None:
        data = op.data.to_pyarrow(op.schema)
        session.createDataFrame(data).createOrReplaceTempView(op.name)

    scon._register_in_memory_table = register


def _arrow_results(scon: Any, session: Any) -> None:
    """Read results into Python through Arrow (``DataFrame.toArrow``), not ``toPandas``.

    Ibis's pyspark backend builds ``to_pyarrow`` on ``toPandas`` (without Spark's Arrow
    setting: a Python object per value, then pandas, then Arrow): churn's read of its
    training months at 300 k customers peaked at 12 GB where DuckDB's holds 3.6 GB at 1 M
    (docs/scale.md). ``execute`` (``to_pandas``) converts the Arrow table as Ibis's DuckDB
    backend does, so both engines hand a step the same frame."""
    import pandas as pd
    import pyarrow.types as pat
    from ibis.backends.pyspark.converter import PySparkPandasData
    from ibis.formats.pyarrow import PyArrowData

    def arrow(expr: Any, params: Any, limit: Any) -> Any:
        table = expr.as_table()
        scon._run_pre_execute_hooks(table)  # registers in-memory tables and UDFs
        result = session.sql(scon.compile(table, params=params, limit=limit)).toArrow()
        return PyArrowData.convert_table(result, table.schema())

    def to_pyarrow(expr: Any, /, *, params: Any = None, limit: Any = None, **_: Any) -> Any:
        return expr.__pyarrow_result__(arrow(expr, params, limit))

    def execute(expr: Any, /, *, params: Any = None, limit: Any = None, **_: Any) -> Any:
        table = arrow(expr, params, limit)
        frame = pd.DataFrame(
            {
                name: column.to_pylist()
                if pat.is_nested(column.type) or pat.is_dictionary(column.type) or column.null_count
                else column.to_pandas()
                for name, column in zip(table.column_names, table.columns, strict=True)
            }
        )
        return expr.__pandas_result__(
            PySparkPandasData.convert_table(frame, expr.as_table().schema())
        )

    scon.to_pyarrow = to_pyarrow
    scon.execute = execute


def spark_ibis(session: Any) -> Any:
    """Ibis over ``session``, with in-memory tables going in and results coming out through
    Arrow (:func:`_arrow_memtables`, :func:`_arrow_results`): the connection every step runs
    on when the engine is Spark."""
    import ibis

    scon = ibis.pyspark.connect(session)
    _arrow_memtables(scon, session)
    _arrow_results(scon, session)
    return scon


def _label_jobs(session: Any, step: str) -> None:
    """Name the Spark jobs of ``step`` (job group ``touchpoint:<step>``): the Spark UI and
    status API show each step's jobs, stages and shuffle bytes under it. Spark Connect has no
    job groups; its jobs are left unnamed."""
    try:
        context = session.sparkContext
    except Exception:  # Spark Connect: no SparkContext on the client
        return
    context.setJobGroup(f"touchpoint:{step}", f"touchpoint step {step}")


def _drop_earlier_views(session: Any, marts: Mapping[str, Any]) -> None:
    """Drop the session's views of an earlier run (its sources and marts, maybe of another
    warehouse): a step would otherwise read an optional input left by that run (measured:
    ``mart_tag_definitions`` of a renamed folder, a failed read)."""
    for table in session.catalog.listTables():
        if table.isTemporary and (table.name in marts or table.name.startswith("stg_")):
            session.catalog.dropTempView(table.name)


def _parquet_rows(folder: Path) -> int:
    """The rows of the Parquet files Spark wrote into ``folder``, from their footers."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(part).num_rows for part in folder.rglob("*.parquet"))


@contextlib.contextmanager
def _step_failure(step: str, staging: Path) -> Iterator[None]:
    """A step that fails on Spark (a Java exception, a part that cannot be read part way)
    as one line naming the step, the cause chained for a debugger; a Touchpoint error (bad
    input the step itself found) passes unchanged. Either way the marts written so far
    (``staging``) are removed: nothing half written stays."""
    try:
        yield
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, TouchpointError):
            raise
        raise SparkEngineError(f"step {step} failed on Spark: {first_line(exc)[:300]}") from exc


def _partitions(contract: Any) -> list[str]:
    """``["month"]`` for a table with a row per customer and month, else none: those tables
    grow with both (25 M rows of channel preference at 1 M customers × 6 months), and later
    steps and readers take them a month at a time (churn's months and blocks, the latest
    month of the 360), so a month's files are read alone; a small table split by month would
    only be more files."""
    return ["month"] if {"customer_id", "month"} <= set(contract.key) else []


def _write_mart(
    scon: Any, session: Any, expression: Any, folder: Path, partitions: list[str]
) -> int:
    """Write ``expression`` as Parquet into ``folder`` (a folder per value of
    ``partitions``) and register it as the view of that name for later steps; the rows
    written. Read back with the schema just written (no job to infer it from the files), and
    counted from the Parquet footers (no job to count them): two Spark jobs fewer per table,
    each a fixed cost of its own (docs/scale.md)."""
    from pyspark.sql.types import StructField, StructType

    scon._run_pre_execute_hooks(expression)  # registers in-memory tables and UDFs
    frame = session.sql(scon.compile(expression))
    frame.write.mode("overwrite").partitionBy(*partitions).parquet(str(folder))
    nullable = StructType([StructField(f.name, f.dataType) for f in frame.schema])
    session.read.schema(nullable).parquet(str(folder)).createOrReplaceTempView(folder.name)
    return _parquet_rows(folder)


def run_pipeline_spark(
    duck_con: Any,
    config: Any,
    *,
    master: str = DEFAULT_MASTER,
    conf: Mapping[str, str] | None = None,
    on_progress: Any = None,
    session: Any = None,
) -> list[Any]:
    """Run every registered step on Spark over the warehouse's Parquet parts.

    Each table a step writes is cast to its mart contract's types and written as Parquet to a
    new folder beside the warehouse (``<warehouse>.data/spark-marts.new``); a later step reads
    it back from there (so no step's query inlines another's). Only when every step has run are
    the tables loaded into the DuckDB warehouse (the report, the query layer and the API read
    them as after a DuckDB run) and the folder swapped in as ``spark-marts``. A failure leaves
    the warehouse's tables as they were.
    """
    import ibis

    from touchpoint.pipeline.marts import registered_marts
    from touchpoint.pipeline.registry import StepResult, check_config, pipeline_steps
    from touchpoint.pipeline.runner import _log_runs
    from touchpoint.warehouse import write_table
    from touchpoint.warehouse.parts import parts_folder

    check_config(config)
    session = session or spark_session(master, conf)

    raw = duck_con.con
    scon = spark_ibis(session)
    marts = registered_marts()
    _drop_earlier_views(session, marts)
    _stage_sources(session, raw)
    folder = parts_folder(raw)
    staging = folder / "spark-marts.new"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    steps = list(pipeline_steps())
    results: list[StepResult] = []
    schemas: dict[str, Any] = {}
    ran_at = dt.datetime.now().replace(microsecond=0)
    existing = set(scon.list_tables())
    for index, step in enumerate(steps):
        if on_progress:
            on_progress(step.name, index, len(steps))
        missing = [name for name in step.inputs if name not in existing]
        if missing:
            results.append(StepResult(step.name, {}, 0.0, f"missing input table {missing[0]}"))
            continue
        names = [*step.inputs, *(n for n in step.optional if n in existing)]
        _label_jobs(session, step.name)
        start = time.perf_counter()
        with _step_failure(step.name, staging):
            built = step.build({name: scon.table(name) for name in names}, config)
            step.check_outputs(built)
            written = {}
            for table_name, expression in built.items():
                columns = marts[table_name].contract.expanded_columns(config)
                schema = ibis.schema({n: c.type for n, c in columns.items()})
                declared = _declared(expression, schema)
                schemas[table_name] = declared.schema()
                written[table_name] = _write_mart(
                    scon,
                    session,
                    declared,
                    staging / table_name,
                    _partitions(marts[table_name].contract),
                )
                existing.add(table_name)
        results.append(StepResult(step.name, written, time.perf_counter() - start))
    for table_name, schema in schemas.items():
        table = duck_con.read_parquet(
            str(staging / table_name / "**" / "*.parquet"), hive_partitioning=True
        )
        # In the written order (a partition column comes back last from its folder names).
        table = table.select(*schema.names)
        write_table(duck_con, table_name, _declared(table, schema))
    final = folder / "spark-marts"
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    if on_progress:
        on_progress("done", len(steps), len(steps))
    _log_runs(duck_con, results, ran_at)
    return results
