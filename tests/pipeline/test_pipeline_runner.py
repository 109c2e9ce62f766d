import datetime as dt
import time
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from touchpoint.capability import Step
from touchpoint.config import load_config
from touchpoint.errors import PipelineError
from touchpoint.pipeline import STEPS, order_steps, pipeline_steps, run_pipeline
from touchpoint.pipeline.registry import (
    CAPABILITIES,
    SOURCE_TABLES,
    capability_steps,
    record_tables,
)


def _count_by_channel(tables, config):
    contacts = tables["stg_contacts"]
    return {
        "mart_test_by_channel": contacts.group_by("channel").aggregate(n_contacts=contacts.count())
    }


def _needs_mart(tables, config):
    by_channel = tables["mart_test_by_channel"]
    extra = tables.get("stg_customers")
    return {
        "mart_test_total": by_channel.aggregate(
            n=by_channel.n_contacts.sum(), has_customers=ibis.literal(extra is not None)
        )
    }


def _step(name, reads, writes, optional=()):
    return Step(name, inputs=reads, optional=optional, outputs=writes, build=lambda t, c: {})


def test_steps_run_in_dependency_order_and_skip_missing_inputs(tiny_warehouse):
    steps = [
        # Listed before the step whose table it reads: the runner orders them.
        Step(
            "total",
            inputs=("mart_test_by_channel",),
            optional=("stg_customers",),
            outputs=("mart_test_total",),
            build=_needs_mart,
        ),
        Step(
            "by_channel",
            inputs=("stg_contacts",),
            outputs=("mart_test_by_channel",),
            build=_count_by_channel,
        ),
        Step(
            "needs_bills",
            inputs=("stg_bills",),
            outputs=("mart_test_bills",),
            build=_count_by_channel,
        ),
    ]
    seen = []
    results = run_pipeline(
        tiny_warehouse,
        load_config(),
        steps=steps,
        on_progress=lambda d, c, t: seen.append((d, c, t)),
    )
    assert [r.step for r in results] == ["by_channel", "total", "needs_bills"]
    assert results[0].tables == {"mart_test_by_channel": 4}  # ivr, agent, web, store
    assert results[2].skipped_reason == "missing input table stg_bills"
    total = tiny_warehouse.table("mart_test_total").to_pyarrow().to_pylist()
    assert total == [{"n": 5, "has_customers": False}]
    assert seen[-1] == ("done", 3, 3)
    log = tiny_warehouse.table("pipeline_runs").to_pyarrow().to_pylist()
    assert [(r["step"], r["table_name"], r["n_rows"]) for r in log] == [
        ("by_channel", "mart_test_by_channel", 4),
        ("total", "mart_test_total", 1),
        ("needs_bills", None, None),
    ]


def test_a_build_returning_other_tables_than_declared_is_refused_before_writing(tiny_warehouse):
    step = Step(
        "liar",
        inputs=("stg_contacts",),
        outputs=("mart_test_by_channel", "mart_test_other"),
        build=_count_by_channel,
    )
    with pytest.raises(PipelineError) as info:
        run_pipeline(tiny_warehouse, load_config(), steps=[step])
    assert str(info.value) == (
        "step 'liar' returned ['mart_test_by_channel'] but declares outputs "
        "['mart_test_by_channel', 'mart_test_other'] (undeclared: [], not returned: "
        "['mart_test_other']); make build return exactly its declared outputs"
    )
    assert "mart_test_by_channel" not in tiny_warehouse.list_tables()


def test_order_is_topological_and_ties_keep_registration_order():
    a = _step("a", ("stg_contacts",), ("mart_a",))
    b = _step("b", ("mart_c",), ("mart_b",))
    c = _step("c", ("stg_contacts",), ("mart_c",))
    d = _step("d", ("stg_contacts",), ("mart_d",), optional=("mart_b",))
    # b waits for c, d for b (an optional input is also a dependency); a and c are free.
    names = [s.name for s in order_steps([a, b, c, d], sources={"stg_contacts"})]
    assert names == ["a", "c", "b", "d"]
    assert [s.name for s in order_steps([d, c, b, a], sources={"stg_contacts"})] == [
        "c",
        "b",
        "d",
        "a",
    ]


def test_a_step_may_read_its_own_previous_output():
    history = _step("history", ("stg_contacts",), ("mart_h",), optional=("mart_h",))
    assert order_steps([history], sources={"stg_contacts"}) == [history]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [_step("x", ("mart_nowhere",), ("mart_x",))],
            "step 'x' reads 'mart_nowhere', which no registered step writes and no source "
            "provides; register the step that writes it or correct the name",
        ),
        (
            [_step("x", ("stg_contacts",), ("mart_x",), optional=("stg_typo",))],
            "step 'x' reads 'stg_typo', which no registered step writes and no source "
            "provides; register the step that writes it or correct the name",
        ),
        (
            [
                _step("x", ("stg_contacts",), ("mart_x",)),
                _step("y", ("stg_contacts",), ("mart_x",)),
            ],
            "table 'mart_x' is written by both step 'x' and step 'y'; one table has one producer",
        ),
        (
            [
                _step("x", ("stg_contacts",), ("mart_x",)),
                _step("x", ("stg_contacts",), ("mart_y",)),
            ],
            "two steps are named 'x'; step names must be unique",
        ),
        (
            [
                _step("p", ("mart_r",), ("mart_p",)),
                _step("q", ("mart_p",), ("mart_q",)),
                _step("r", ("mart_q",), ("mart_r",)),
                _step("free", ("stg_contacts",), ("mart_free",)),
            ],
            "the steps form a cycle: p -> q -> r -> p (q reads mart_p, written by p; "
            "r reads mart_q, written by q; p reads mart_r, written by r)",
        ),
    ],
)
def test_bad_registrations_are_refused_in_one_line(steps, message):
    with pytest.raises(PipelineError) as info:
        order_steps(steps, sources={"stg_contacts"})
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_bad_step_declarations_are_refused():
    with pytest.raises(PipelineError, match="write \\('stg_contacts',\\)"):
        Step("s", inputs="stg_contacts", outputs=("m",), build=lambda t, c: {})
    with pytest.raises(PipelineError, match="declares no outputs"):
        Step("s", inputs=("stg_contacts",), outputs=(), build=lambda t, c: {})
    with pytest.raises(PipelineError, match="both required and optional"):
        Step("s", inputs=("a",), optional=("a",), outputs=("m",), build=lambda t, c: {})


def test_every_registered_capability_declares_its_steps_and_the_order_respects_them():
    steps = pipeline_steps()
    assert [s.name for s in steps] == [s.name for s in STEPS]
    assert sum(len(capability_steps(name)) for name in CAPABILITIES) == len(steps) >= 13
    position = {s.name: i for i, s in enumerate(steps)}
    writer = {table: s.name for s in steps for table in s.outputs}
    for step in steps:
        for table in step.reads:
            assert table in SOURCE_TABLES or table in record_tables() or table in writer, (
                step.name,
                table,
            )
            if writer.get(table, step.name) != step.name:
                assert position[writer[table]] < position[step.name], (step.name, table)
    assert position["customers"] < position["tags"] < position["tags_changes"]


@pytest.mark.slow
def test_registered_steps_run_on_contacts_alone(tiny_warehouse):
    results = {r.step: r for r in run_pipeline(tiny_warehouse, load_config())}
    assert results["channels_cubes"].ran and results["channels"].ran
    # No IVR events in this warehouse: no hotline-call cube, no escalation marts, and the
    # channel marts run without them.
    assert results["channels_calls_cube"].skipped_reason == ("missing input table stg_ivr_events")
    assert results["channels_escalation"].skipped_reason == (
        "missing input table mart_channels_calls_daily"
    )
    kpis = tiny_warehouse.table("mart_channels_kpis").to_pyarrow().to_pylist()[0]
    # u2's web payment at 09:10 is followed by a store payment the next day at 09:00:
    # within 24 h of its end, so 1 repeat among 5 contacts; the agent row shares call c1.
    assert kpis["repeat_contact_rate"] == 1 / 5


def _burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _busy(tables, config):
    _burn(0.3)
    return _count_by_channel(tables, config)


def _idle(tables, config):
    time.sleep(0.3)
    return {"mart_test_idle": _count_by_channel(tables, config)["mart_test_by_channel"]}


def test_the_log_tells_cpu_time_from_wall_time(tiny_warehouse):
    steps = [
        Step("busy", inputs=("stg_contacts",), outputs=("mart_test_by_channel",), build=_busy),
        Step("idle", inputs=("stg_contacts",), outputs=("mart_test_idle",), build=_idle),
    ]
    busy, idle = run_pipeline(tiny_warehouse, load_config(), steps=steps)
    assert busy.cpu_seconds >= 0.3 and idle.seconds >= 0.3
    # Sleeping costs no CPU; the write of a 4-row table costs far less than the sleep.
    assert idle.cpu_seconds < 0.15
    log = tiny_warehouse.table("pipeline_runs").to_pyarrow().to_pylist()
    assert [r["cpu_seconds"] for r in log] == [busy.cpu_seconds, idle.cpu_seconds]


def _hungry(tables, config):
    block = bytearray(400 * 2**20)  # 400 MB, touched
    block[:: 2**12] = b"x" * len(block[:: 2**12])
    del block
    return _count_by_channel(tables, config)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak counter")
def test_each_step_logs_its_own_peak_memory(tiny_warehouse):
    steps = [
        Step("hungry", inputs=("stg_contacts",), outputs=("mart_test_by_channel",), build=_hungry),
        Step("small", inputs=("stg_contacts",), outputs=("mart_test_idle",), build=_idle),
    ]
    hungry, small = run_pipeline(tiny_warehouse, load_config(), steps=steps)
    assert hungry.peak_mb >= 400
    # The second step's peak is its own, not the first step's 400 MB carried over.
    assert small.peak_mb < hungry.peak_mb - 300
    log = tiny_warehouse.table("pipeline_runs").to_pyarrow().to_pylist()
    assert [r["peak_mb"] for r in log] == [hungry.peak_mb, small.peak_mb]


def test_a_log_from_before_cpu_seconds_gains_the_column(tiny_warehouse):
    old = pa.table(
        {
            "ran_at": pa.array([dt.datetime(2026, 1, 1)], pa.timestamp("us")),
            "step": ["old"],
            "table_name": pa.array([None], pa.string()),
            "n_rows": pa.array([None], pa.int64()),
            "seconds": [1.5],
            "skipped_reason": ["missing input table stg_x"],
        }
    )
    tiny_warehouse.create_table("pipeline_runs", old)
    step = Step(
        "by_channel",
        inputs=("stg_contacts",),
        outputs=("mart_test_by_channel",),
        build=_count_by_channel,
    )
    run_pipeline(tiny_warehouse, load_config(), steps=[step])
    log = tiny_warehouse.table("pipeline_runs").order_by("ran_at").to_pyarrow().to_pylist()
    assert [(r["step"], r["seconds"] > 0, r["cpu_seconds"] is None) for r in log] == [
        ("old", True, True),
        ("by_channel", True, False),
    ]
    assert "peak_mb" in tiny_warehouse.table("pipeline_runs").columns


def _fails(tables, config):
    raise RuntimeError("out of luck")


def test_a_run_that_stops_part_way_keeps_the_log_of_the_steps_that_ran(tiny_warehouse):
    steps = [
        Step(
            "by_channel",
            inputs=("stg_contacts",),
            outputs=("mart_test_by_channel",),
            build=_count_by_channel,
        ),
        Step("broken", inputs=("mart_test_by_channel",), outputs=("mart_x",), build=_fails),
    ]
    with pytest.raises(RuntimeError, match="out of luck"):
        run_pipeline(tiny_warehouse, load_config(), steps=steps)
    log = tiny_warehouse.table("pipeline_runs").to_pyarrow().to_pylist()
    assert [(r["step"], r["n_rows"]) for r in log] == [("by_channel", 4)]
    assert log[0]["cpu_seconds"] is not None
