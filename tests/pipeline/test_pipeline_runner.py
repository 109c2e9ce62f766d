import ibis

from touchpoint.config import load_config
from touchpoint.pipeline import STEPS, Step, run_pipeline


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


def test_steps_run_in_order_and_skip_missing_inputs(tiny_warehouse):
    steps = [
        Step("by_channel", ("stg_contacts",), _count_by_channel),
        Step("total", ("mart_test_by_channel",), _needs_mart, optional_inputs=("stg_customers",)),
        Step("needs_bills", ("stg_bills",), _count_by_channel),
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


def test_registered_steps_run_on_contacts_alone(tiny_warehouse):
    results = {r.step: r for r in run_pipeline(tiny_warehouse, load_config(), steps=STEPS)}
    assert results["channels_cubes"].ran and results["channels"].ran
    # No IVR events in this warehouse: no hotline-call cube, and the marts run without it.
    assert "mart_channels_calls_daily" not in results["channels_cubes"].tables
    kpis = tiny_warehouse.table("mart_channels_kpis").to_pyarrow().to_pylist()[0]
    # u2's web payment at 09:10 is followed by a store payment the next day at 09:00:
    # within 24 h of its end, so 1 repeat among 5 contacts; the agent row shares call c1.
    assert kpis["repeat_contact_rate"] == 1 / 5
