"""`tags check` refuses with a position what `touchpoint run` could not evaluate, and `run`
never shows a traceback for a rule (issue 11 item 8d, end to end on a real warehouse)."""

from __future__ import annotations

import shutil

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from touchpoint.cli import main
from touchpoint.tags import DEFAULT_CATALOGUE_PATH
from touchpoint.warehouse import connect

_leaves = st.sampled_from(
    ["arpu_yuan", "n_complaints_3m", "points", "tenure_months", "brand", "join_date",
     "is_family_plan", "0", "0.0", "1e400", "1" * 41, "9223372036854775807", "2.5",
     "'2024-13-01'", "'2024-03-01'", "'a\x00b'", "'gotone'", "null", "true"]
)  # fmt: skip
_rules = st.recursive(
    _leaves,
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["/", "%", "*", "+", ">", "<=", "=", "and", "or"]), c).map(
            " ".join
        ),
        c.map(lambda r: f"({r})"),
        c.map(lambda r: f"not {r}"),
    ),
    max_leaves=6,
)


def _catalogue(tmp_path, rule: str):
    data = yaml.safe_load(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["tags"][0]["rule"] = rule
    path = tmp_path / "tags.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path, data["tags"][0]["id"]


def _exit_code(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule=st.one_of(_rules, _rules.map(lambda r: f"{r} > 1")))
@example(rule="arpu_yuan / 0 > 1")
@example(rule="points % 0 = 0")
@example(rule="arpu_yuan > " + "1" * 41)
@example(rule="brand = 'a\x00b'")
@example(rule="(" * 500 + "arpu_yuan > 1" + ")" * 500)
@example(rule="points * 9223372036854775807 * 9223372036854775807 > 1")
def test_check_refuses_or_run_evaluates(
    built_warehouse, tmp_path_factory, capsys, monkeypatch, rule
):
    folder = tmp_path_factory.mktemp("hostile_rule")
    warehouse = folder / "wh.duckdb"
    shutil.copy(built_warehouse, warehouse)
    catalogue, tag_id = _catalogue(folder, rule)
    capsys.readouterr()
    checked = _exit_code(["tags", "check", str(catalogue)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    if checked != 0:
        assert f"tag {tag_id}: rule column " in out.err or f"tag {tag_id}: " in out.err, out.err
        return
    monkeypatch.setenv("TOUCHPOINT_TAGS", str(catalogue))
    ran = _exit_code(["run", "-w", str(warehouse)])
    out = capsys.readouterr()
    assert ran == 0 and "Traceback" not in out.err + out.out, out.err
    con = connect(warehouse, read_only=True)
    try:
        assert "mart_tag_membership" in con.list_tables()
    finally:
        con.disconnect()


@pytest.mark.parametrize("rule", ["arpu_yuan / 0 > 1", "points % 0 = 0", "brand = 'a\x00b'"])
def test_check_names_the_position(tmp_path, capsys, rule):
    catalogue, tag_id = _catalogue(tmp_path, rule)
    assert _exit_code(["tags", "check", str(catalogue)]) == 1
    assert f"tag {tag_id}: rule column " in capsys.readouterr().err
