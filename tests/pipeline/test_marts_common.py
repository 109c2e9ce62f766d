"""One contract over every registered step (as scikit-learn's test_common runs the same checks
over every estimator): each step runs on the shared simulated world (``ingested_world``), and
each table it writes keeps the contract its capability declares in ``marts.yaml``: the
declared columns and types, a unique key, the not-null columns, the accepted values and the
expression invariants. Each step also compiles to Spark SQL over unbound tables of the
declared schemas, so a DuckDB-only construct fails here without a Spark cluster (it does not
prove the results equal on Spark; see docs/performance.md). ``docs/marts.md`` is generated
from the same contracts and must be fresh.
"""

from __future__ import annotations

import ibis
import pytest

from touchpoint.capability import MartContract
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.pipeline import pipeline_steps
from touchpoint.pipeline.doc import DOCUMENT, render_marts
from touchpoint.pipeline.marts import contract_problems, registered_marts
from touchpoint.pipeline.registry import built_from, record_tables
from touchpoint.simulate import SIMULATED_ENTITIES

STEPS = {step.name: step for step in pipeline_steps()}


def _not_simulated() -> set[str]:
    """Source tables the simulated world has no rows of (call detail records), and every table
    built from them: a step reading one is checked against its contracts by its capability's
    own test on hand-built rows."""
    return built_from({e.table for name, e in ENTITIES.items() if name not in SIMULATED_ENTITIES})


NOT_SIMULATED = _not_simulated()


def test_every_output_of_every_step_has_a_contract():
    marts = registered_marts()
    assert sorted(marts) == sorted(t for s in STEPS.values() for t in s.outputs)
    assert len(marts) >= 31  # every table `touchpoint run` writes


@pytest.mark.parametrize("step_name", list(STEPS))
def test_each_step_keeps_its_contracts_on_the_simulated_world(ingested_world, step_name):
    if set(STEPS[step_name].inputs) & NOT_SIMULATED:
        pytest.skip("reads a source the simulator does not write; its own test checks it")
    con = ingested_world[0]
    config = load_config()
    marts = registered_marts()
    log = con.table("pipeline_runs").to_pyarrow().to_pylist()
    runs = [r for r in log if r["step"] == step_name]
    assert runs and all(r["skipped_reason"] is None for r in runs), runs
    for table_name in STEPS[step_name].outputs:
        table = con.table(table_name)
        assert table.count().to_pyarrow().as_py() > 0, table_name
        assert contract_problems(table, marts[table_name].contract, config) == []


def _declared_schema(contract: MartContract) -> ibis.Schema:
    return ibis.schema(
        {name: column.type for name, column in contract.expanded_columns(load_config()).items()}
    )


class _PySparkOptions(ibis.config.Config):
    """``ibis.options.pyspark`` as the PySpark backend registers it when pyspark is imported
    (the compiler reads it; pyspark itself is not installed here)."""

    treat_nan_as_null: bool = False


@pytest.fixture
def spark_dialect():
    before = ibis.options.pyspark
    ibis.options.pyspark = before or _PySparkOptions()
    yield
    ibis.options.pyspark = before


@pytest.mark.slow
@pytest.mark.parametrize("step_name", list(STEPS))
def test_each_step_compiles_for_spark(spark_dialect, step_name):
    step = STEPS[step_name]
    if step.in_memory:
        pytest.skip("fits in memory; its capability's own test compiles its Ibis part")
    marts = registered_marts()
    sources = {e.table: ibis.Schema.from_pyarrow(arrow_schema(e)) for e in ENTITIES.values()}
    sources |= record_tables()  # tables the capabilities' commands write
    given = {}
    for name in step.reads:
        if name in step.outputs:
            continue  # the step's own previous output: absent on a first run
        schema = sources[name] if name in sources else _declared_schema(marts[name].contract)
        given[name] = ibis.table(schema, name=name)
    built = step.build(given, load_config())
    assert sorted(built) == sorted(step.outputs)
    for name, expr in built.items():
        assert "SELECT" in ibis.to_sql(expr, dialect="pyspark"), name


def test_a_duckdb_only_operation_would_be_caught(spark_dialect):
    t = ibis.table({"x": "float64"}, name="t")
    with pytest.raises(Exception, match="(?i)kurtosis|not supported|unsupported"):
        ibis.to_sql(t.agg(k=t.x.kurtosis()), dialect="pyspark")
    assert "STDDEV_SAMP" in ibis.to_sql(t.agg(s=t.x.std()), dialect="pyspark").upper()


def test_the_checks_catch_a_table_that_breaks_its_contract():
    """Each kind of check fails on a hand-made table that breaks it (the contract is real)."""
    contract = MartContract.model_validate(
        {
            "name": "mart_example",
            "grain": "one row per channel",
            "key": ["channel"],
            "columns": {
                "channel": {"type": "string", "meaning": "channel id"},
                "n_contacts": {"type": "int64", "meaning": "contacts"},
                "n_repeated": {"type": "int64", "meaning": "repeated contacts"},
            },
            "not_null": ["n_contacts"],
            "accepted_values": {"channel": {"vocabulary": "channel"}},
            "expressions": ["n_repeated <= n_contacts"],
        }
    )
    config = load_config()
    good = ibis.memtable(
        {"channel": ["web", "ivr"], "n_contacts": [3, 1], "n_repeated": [1, None]},
        schema={"channel": "string", "n_contacts": "int64", "n_repeated": "int64"},
    )
    assert contract_problems(good, contract, config) == []  # a null is not judged
    bad = ibis.memtable(
        {
            "channel": ["web", "web", "fax"],
            "n_contacts": [3, None, 1],
            "n_repeated": [4, 0, 0],
        },
        schema={"channel": "string", "n_contacts": "int64", "n_repeated": "int64"},
    )
    assert contract_problems(bad, contract, config) == [
        "mart_example.n_contacts: null on 1 of 3 rows",
        f"mart_example.channel: a value not in {config.ids('channel')} on 1 of 3 rows",
        "mart_example: expression `n_repeated <= n_contacts` false on 1 of 3 rows",
        "mart_example: 1 values of the key ['channel'] repeat",
    ]
    wrong_type = good.mutate(n_contacts=good.n_contacts.cast("float64"), extra=1)
    assert contract_problems(wrong_type, contract, config) == [
        "mart_example.extra: present (int8) but not declared in the contract",
        "mart_example.n_contacts: type float64, declared int64",
    ]


def test_docs_marts_md_is_generated_from_the_contracts():
    assert DOCUMENT.read_text(encoding="utf-8") == render_marts(), (
        "docs/marts.md is out of date: run `python -m touchpoint.pipeline.doc --write`"
    )
    text = render_marts()
    for name, mart in registered_marts().items():
        assert f"### {name}\n" in text
        for column in mart.contract.columns:
            assert f"| `{column}` |" in text
