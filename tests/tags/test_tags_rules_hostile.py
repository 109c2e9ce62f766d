"""Hostile rules: what `tags check` accepts, `run` evaluates; the rest is refused with a
position (issue 11 item 8d).

Rules are generated from the grammar with hostile leaves: numbers of 41 digits, 1e400, zero
divisors, NUL and quotes in strings, texts that are no dates, deep nesting. Each one either
gets problems that name a column of the rule, or compiles and runs on DuckDB over rows that
hold zeros, nulls and the extremes of int64 and float64, without an error.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from touchpoint.tags import check_rule, compile_rule
from touchpoint.tags._rules import MAX_RULE_DEPTH

SCHEMA = ibis.schema(
    {
        "a": "int64",
        "b": "int64",
        "x": "float64",
        "brand": "string",
        "is_vip": "boolean",
        "join_date": "date",
    }
)
BIG = 2**63 - 1
ROWS = {
    "a": [0, 1, -1, BIG, -BIG - 1, None, 7, 0],
    "b": [0, 0, 2, BIG, -1, 3, None, 1],
    "x": [0.0, -0.0, 1e308, -1e308, 5e-324, None, 2.5, 1.0],
    "brand": ["", "gotone", "'; DROP TABLE t; --", "\\", "数", None, "2024-01-01", "x"],
    "is_vip": [True, False, None, True, False, True, None, False],
    "join_date": [dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29)] * 2,
}
PARAMETERS = {"k": 2, "zero": 0, "huge": 10**40, "text": "a\x00b", "day": "2024-03-01"}
TABLE = ibis.memtable(pa.table(ROWS, schema=SCHEMA.to_pyarrow()))

numbers = st.one_of(
    st.sampled_from(["0", "0.0", "00", "1", "2.5", "1e308", "1e400", "9223372036854775807",
                     "9223372036854775808", "1" * 41, "0.000", "1_000", ".5"]),
    st.integers(min_value=0, max_value=10**45).map(str),
)  # fmt: skip
strings = st.one_of(
    st.sampled_from(["'gotone'", "'2024-03-01'", "'2024-13-01'", "'0000-01-01'", "''",
                     "'a\x00b'", "'it''s'", "'\\\\'", "\"数\"", "'\\''"]),
    st.text(alphabet=st.characters(blacklist_characters="'\\", blacklist_categories=["Cs"]),
            max_size=5).map(lambda s: f"'{s}'"),
)  # fmt: skip
leaves = st.one_of(
    numbers,
    strings,
    st.sampled_from(["a", "b", "x", "brand", "is_vip", "join_date", "true", "false", "null",
                     "$k", "$zero", "$huge", "$text", "$day"]),
)  # fmt: skip


def _combine(children):
    binary = st.tuples(
        children,
        st.sampled_from(["+", "-", "*", "/", "%", "=", "!=", "<", ">=", "and", "or"]),
        children,
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    return st.one_of(
        binary,
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"-{c}"),
        st.tuples(children, st.lists(st.one_of(numbers, strings), min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} in [{', '.join(t[1])}]"
        ),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
        children.map(lambda c: f"{c} is not null"),
    )


rules = st.recursive(leaves, _combine, max_leaves=12)
deep = st.tuples(
    st.integers(min_value=MAX_RULE_DEPTH - 3, max_value=3 * MAX_RULE_DEPTH),
    st.sampled_from(["({}) > 0", "not ({})", "- {}", "{} + a"]),
).map(lambda t: _nest(*t))


def _nest(depth: int, shape: str) -> str:
    rule = "a"
    for _ in range(depth):
        rule = shape.format(rule)
    return rule + (" > 0" if shape in ("- {}", "{} + a") else "")


def _evaluate(rule: str) -> list[bool]:
    return TABLE.select(r=compile_rule(rule, TABLE, PARAMETERS)).to_pyarrow()["r"].to_pylist()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=st.one_of(rules, deep, rules.map(lambda r: f"{r} > 1")))
@example(rule="x / 0 > 1")
@example(rule="a % 0 = 0")
@example(rule="a > " + "1" * 41)
@example(rule="brand = 'a\x00b'")
@example(rule="(" * 2000 + "a > 1" + ")" * 2000)
@example(rule=" or ".join(["a > 1"] * 2000))
@example(rule="a * 9223372036854775807 * 9223372036854775807 > 1")
@example(rule="join_date > '2024-13-01'")
@example(rule=_nest(38, "{} + a"))
@example(rule=_nest(38, "a / ({})") + " > 0")
def test_a_rule_is_refused_with_a_position_or_runs_without_error(rule):
    problems = check_rule(rule, SCHEMA, PARAMETERS)
    if problems:
        for problem in problems:
            assert 0 < problem.column <= len(rule) + 1, (rule, problem)
            assert problem.message
        return
    result = _evaluate(rule)
    assert len(result) == len(ROWS["a"]) and all(isinstance(v, bool) for v in result)


@pytest.mark.parametrize("shape", ["{} + a", "- {}", "a / ({})", "({}) % b", "a * ({}) - x"])
def test_compiled_rule_grows_linearly_with_nesting(shape):
    """Each operand is named once in the SQL: one more level adds the same number of
    characters, never a multiple of the rule (3**25 nodes hung a CI run)."""

    def sql_length(depth: int) -> int:
        rule = _nest(depth, shape) + ("" if shape in ("- {}", "{} + a") else " > 0")
        assert not check_rule(rule, SCHEMA, PARAMETERS)
        sql = ibis.to_sql(TABLE.select(r=compile_rule(rule, TABLE, PARAMETERS)))
        return len("".join(sql.split()))  # not the indentation, which grows with the depth

    steps = [sql_length(d + 1) - sql_length(d) for d in (5, 10, 15)]
    assert 0 < steps[0] == steps[1] == steps[2], steps


@pytest.mark.parametrize(
    ("rule", "column", "says"),
    [
        ("a > " + "1" * 41, 5, "too large"),
        ("a > 1e400", 5, "too large"),
        ("a > $huge", 5, "too large"),
        ("a % 0 = 1", 3, "remainder by zero"),
        ("x / (1 - 1) > 1", 3, "division by zero"),
        ("x / $zero > 1", 3, "division by zero"),
        ("brand = 'a\x00b'", 11, "NUL"),
        ("brand = $text", 9, "NUL"),
        ("join_date > '2024-13-01'", 13, "no date"),
        ("join_date in ['2024-01-01', 'soon']", 29, "no date"),
        ("(" * 100 + "a > 1" + ")" * 100, MAX_RULE_DEPTH + 1, "nests deeper"),
        ("not " * 100 + "is_vip", 4 * MAX_RULE_DEPTH + 1, "nests deeper"),
    ],
)
def test_check_refuses_what_cannot_run_at_its_position(rule, column, says):
    problems = check_rule(rule, SCHEMA, PARAMETERS)
    assert problems and problems[0].column == column and says in problems[0].message, problems


def test_a_long_chain_of_operators_is_refused_not_a_recursion_error():
    rule = " or ".join(["a > 1"] * 2000)
    [problem] = check_rule(rule, SCHEMA, PARAMETERS)
    assert "nests deeper" in problem.message
    assert rule[problem.column - 1 :].startswith("or")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # Division by a zero in the data is null: false, never "infinitely large".
        ("x / b > 1", [False, False, True, False, False, False, False, False]),
        ("a / b > 1", [False, False, False, False, True, False, False, False]),
        ("a % b = 0", [False, False, False, True, True, False, False, True]),
        # Overflow is null, not an error and not infinity.
        ("x * 10 > 1", [False, False, False, False, False, False, True, True]),
        ("a * a > 0", [False, True, True, True, True, False, True, False]),
    ],
)
def test_arithmetic_on_extreme_rows_is_null_where_it_has_no_value(rule, expected):
    assert _evaluate(rule) == expected
