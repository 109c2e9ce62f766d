"""The whole pipeline on Spark ``local[2]`` equals DuckDB's on every table, every column.

A small simulated world (400 customers × 2 months) is ingested twice; one warehouse runs on
DuckDB, the other with :func:`run_pipeline_spark` on the suite's one Spark session. Every
table the DuckDB run leaves must exist after the Spark run with the same columns, the same
types and the same rows (sorted; floats equal within 1e-9 relative or absolute: sums are added
in a different order by the two engines' parallel aggregation, which moves the last bits).
A new step that breaks parity fails here.

The churn model's outputs are compared by rows and keys only: LightGBM's fit depends on the
order of its training rows, which differs between two DuckDB runs already
(scripts/compare_run_tables.py shows ``churn_probability`` moving between two runs of the same
code), so no engine can promise the same probabilities.
"""

from __future__ import annotations

import math
import shutil
import time

import pyarrow as pa
import pytest

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES
from touchpoint.ingest import ingest
from touchpoint.pipeline import pipeline_steps, run_pipeline
from touchpoint.pipeline.marts import registered_marts
from touchpoint.pipeline.registry import built_from
from touchpoint.pipeline.spark import run_pipeline_spark
from touchpoint.simulate import SIMULATED_ENTITIES, simulate
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow

REL_TOL = 1e-9
#: Tables with a looser tolerance, and why. Spark types an untyped float literal as DECIMAL and
#: rounds the products it enters to that decimal's scale (issue 17); the menu design's prices
#: differ by up to 1.8e-8 relative (measured on this world, 400 customers x 2 months).
TABLE_REL_TOL = {"mart_ivr_menu_recommendations": 1e-7}
#: Tables whose values come from a model fitted on rows in engine order (see above).
ORDER_DEPENDENT = {
    "mart_churn_scores": ["customer_id", "month"],
    "mart_churn_evaluation": [],
    "mart_churn_calibration": [],
    "mart_churn_drivers": [],
}
#: Not a result: the clock.
SKIPPED_COLUMNS = {("mart_tag_definitions", "first_built_at")}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, spark_session):
    root = tmp_path_factory.mktemp("parity")
    world = simulate(root / "world", customers=400, months=2, seed=11)
    files = list(world.files.values())
    duck = connect(str(root / "duckdb.duckdb"))
    ingest(duck, files)
    start = time.perf_counter()
    run_pipeline(duck, load_config())
    duck_seconds = time.perf_counter() - start
    spark = connect(str(root / "spark.duckdb"))
    ingest(spark, files)
    start = time.perf_counter()
    results = run_pipeline_spark(spark, load_config(), session=spark_session)
    spark_seconds = time.perf_counter() - start
    print(f"parity world: duckdb {duck_seconds:.1f} s, spark {spark_seconds:.1f} s")
    yield duck, spark, results, root
    duck.disconnect()
    spark.disconnect()
    shutil.rmtree(root, ignore_errors=True)


def _sort_key(row: tuple) -> tuple:
    return tuple(
        (v is None, round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
        if v is not None
        else (True, 0)
        for v in row
    )


def _equal(a: object, b: object, tol: float = REL_TOL) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def _rows(table: pa.Table) -> list[tuple]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return sorted(zip(*columns, strict=True), key=_sort_key) if columns else []


#: Tables of sources the simulated world does not write (call detail records), and those
#: built from them: their steps are skipped on both engines, for want of input.
NOT_SIMULATED = built_from(
    {e.table for name, e in ENTITIES.items() if name not in SIMULATED_ENTITIES}
)


def test_every_step_ran_on_spark(two_runs):
    _, _, results, root = two_runs
    skipped = [r.step for r in results if not r.ran]
    assert skipped == [s.name for s in pipeline_steps() if set(s.outputs) <= NOT_SIMULATED]
    assert (root / "spark.duckdb.data" / "spark-marts").is_dir()
    # The rows each step reports (counted from the Parquet footers Spark wrote, not by a
    # Spark job) are the rows of its tables in the warehouse.
    _, spark, _, _ = two_runs
    for result in results:
        for table, rows in result.tables.items():
            assert rows == spark.table(table).count().execute(), (result.step, table)
    assert not (root / "spark.duckdb.data" / "spark-marts.new").exists()
    # A table with a row per customer and month is written a folder per month; others not.
    marts = root / "spark.duckdb.data" / "spark-marts"
    months = sorted(p.name for p in (marts / "mart_customer_360").glob("month=*"))
    assert months == ["month=2026-01-01", "month=2026-02-01"]
    assert not list((marts / "mart_channels_kpis").glob("*=*"))


#: No known parity gaps since 2026-12-03. Two were found on 2026-12-02 and closed in the
#: analytics: mart_survey_satisfaction's counts (0 on DuckDB, null on Spark for a cell with no
#: answers: tests/spark/test_spark_counts.py) and the segment tables (5 segments against 4:
#: k-means fitted on rows in engine order with too few starts; the step now sorts its sample,
#: starts 10 times and assigns every customer-month in Ibis). A new gap is a failure here.


def test_every_table_and_column_equals_duckdb(two_runs):
    duck, spark, _, _ = two_runs
    names = sorted(set(registered_marts()) - NOT_SIMULATED)  # every table a step writes
    assert len(names) >= 40 and set(names) <= set(duck.list_tables())
    assert set(names) <= set(spark.list_tables())
    problems = _problems(duck, spark, names)
    assert problems == [], "\n".join(problems)


def _problems(duck, spark, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        a, b = duck.table(name), spark.table(name)
        if a.schema() != b.schema():
            problems.append(f"{name}: schema {a.schema()} != {b.schema()}")
            continue
        columns = [c for c in a.columns if (name, c) not in SKIPPED_COLUMNS]
        if name in ORDER_DEPENDENT:
            columns = ORDER_DEPENDENT[name]
            if not columns:
                na, nb = a.count().execute(), b.count().execute()
                if na != nb:
                    problems.append(f"{name}: {na} rows != {nb}")
                continue
        rows_a = _rows(a.select(*columns).to_pyarrow())
        rows_b = _rows(b.select(*columns).to_pyarrow())
        if len(rows_a) != len(rows_b):
            problems.append(f"{name}: {len(rows_a)} rows != {len(rows_b)}")
            continue
        for ra, rb in zip(rows_a, rows_b, strict=True):
            tol = TABLE_REL_TOL.get(name, REL_TOL)
            pairs = zip(columns, ra, rb, strict=True)
            bad = [c for c, x, y in pairs if not _equal(x, y, tol)]
            if bad:
                problems.append(f"{name}: columns {bad} differ: {ra} != {rb}")
                break
    return problems
