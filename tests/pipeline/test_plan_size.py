"""Every step's query stays small once its shared sub-queries (CTEs) are expanded: Spark's
analyser inlines them, and the menu design's 250,000 expanded scans exhausted a 12 GB driver
before reading a row (issue 17). Measured without any engine, over unbound tables of the
declared schemas, like the Spark compilation check of test_marts_common.py."""

from __future__ import annotations

import ibis
import pytest

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.ivr.menu_design import (
    REPLAY_TABLE,
    menu_design_settings_from_config,
    menu_recommendations,
)
from touchpoint.pipeline import pipeline_steps
from touchpoint.pipeline.marts import registered_marts
from touchpoint.pipeline.plan_size import MAX_EXPANDED_SCANS, expanded_scans
from touchpoint.pipeline.registry import record_tables

STEPS = {step.name: step for step in pipeline_steps()}


def _given(step) -> dict[str, ibis.Table]:
    config = load_config()
    marts = registered_marts()
    records = record_tables()  # tables a capability's commands write (campaigns)
    given = {}
    for name in step.reads:
        if name in step.outputs:
            continue
        if name in {e.table for e in ENTITIES.values()}:
            entity = next(e for e in ENTITIES.values() if e.table == name)
            schema = ibis.Schema.from_pyarrow(arrow_schema(entity))
        elif name in records:
            schema = records[name]
        else:
            columns = marts[name].contract.expanded_columns(config)
            schema = ibis.schema({n: c.type for n, c in columns.items()})
        given[name] = ibis.table(schema, name=name)
    return given


def test_expansion_is_counted_through_chains_of_shared_subqueries():
    t = ibis.table({"x": "int64"}, name="t")
    a = t.filter(t.x > 0)
    b = a.union(a)  # a read twice
    c = b.union(b)  # b read twice
    assert expanded_scans(a) == 1
    assert expanded_scans(c) == 4
    assert expanded_scans(c.union(c).union(c)) == 12
    joined = c.join(t.view(), "x")
    assert expanded_scans(joined) == 5


@pytest.mark.slow
@pytest.mark.parametrize("step_name", [s for s in STEPS if not STEPS[s].in_memory])
def test_each_step_expands_to_a_bounded_number_of_scans(step_name):
    step = STEPS[step_name]
    built = step.build(_given(step), load_config())
    sizes = {name: expanded_scans(expr) for name, expr in built.items()}
    assert max(sizes.values()) <= MAX_EXPANDED_SCANS, sizes


def test_the_guard_refuses_the_menu_design_built_in_one_query():
    """The recommendations with the tree and ancestors inline (before issue 17) fail it."""
    config = load_config()
    given = _given(STEPS["ivr_menu_design"])
    settings = menu_design_settings_from_config(config)
    inline = menu_recommendations(given[REPLAY_TABLE], config, settings)
    assert expanded_scans(inline) > 100 * MAX_EXPANDED_SCANS
