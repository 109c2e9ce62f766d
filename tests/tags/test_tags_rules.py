"""The rule language: precedence, every kind of error with its position, compiled values."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint.tags import RuleSyntaxError, check_rule, compile_rule, parse_rule, tokenize
from touchpoint.tags._rules import Between, Binary, InList, IsNull, Unary

SCHEMA = ibis.schema(
    {
        "a": "int64",
        "b": "int64",
        "x": "float64",
        "brand": "string",
        "is_vip": "boolean",
        "is_new": "boolean",
        "join_date": "date",
        "n_complaints_3m": "int64",
    }
)
ROWS = {
    "a": [1, 2, 3, None],
    "b": [10, 0, 5, 1],
    "x": [0.5, None, 2.5, 1.0],
    "brand": ["gotone", "mzone", "easyown", None],
    "is_vip": [True, False, None, True],
    "is_new": [False, True, True, False],
    "join_date": [dt.date(2020, 1, 1), dt.date(2024, 2, 1), None, dt.date(2024, 3, 15)],
    "n_complaints_3m": [0, 2, 5, 1],
}


def evaluate(rule: str, parameters: dict | None = None) -> list[bool]:
    table = ibis.memtable(ROWS, schema=SCHEMA)
    return table.select(r=compile_rule(rule, table, parameters or {})).to_pyarrow()["r"].to_pylist()


def problems(rule: str, parameters: dict | None = None) -> list[str]:
    return [str(p) for p in check_rule(rule, SCHEMA, parameters or {})]


# ---- precedence and structure --------------------------------------------------------------


def test_and_binds_tighter_than_or():
    tree = parse_rule("is_vip or is_new and a > 1")
    assert isinstance(tree, Binary) and tree.op == "or"
    assert tree.right.op == "and"


def test_not_binds_tighter_than_and_but_looser_than_comparison():
    tree = parse_rule("not a > 1 and is_new")
    assert tree.op == "and"
    assert isinstance(tree.left, Unary) and tree.left.op == "not"
    assert tree.left.operand.op == ">"


def test_multiplication_before_addition_before_comparison():
    tree = parse_rule("a + b * 2 >= 3 - 1")
    assert tree.op == ">="
    assert tree.left.op == "+" and tree.left.right.op == "*"
    assert tree.right.op == "-"


def test_parentheses_override_precedence():
    assert parse_rule("(is_vip or is_new) and a > 1").op == "and"
    # (1 + 2) * 3 = 9 vs 1 + 2 * 3 = 7: only a = 3 row has b=5... use constants on a column
    assert evaluate("a * (1 + 2) = 9") == [False, False, True, False]
    assert evaluate("a * 1 + 2 = 5") == [False, False, True, False]
    assert evaluate("a + 2 * 3 = 7") == [True, False, False, False]


def test_in_between_is_null_and_negations():
    assert isinstance(parse_rule("brand in ['a', 'b']"), InList)
    assert parse_rule("brand not in ['a']").negated
    assert isinstance(parse_rule("a between 1 and 2 and is_new"), Binary)  # 'and' after bounds
    assert isinstance(parse_rule("a between 1 and 2").__class__("x", 1, 1, 1, False), Between)
    assert isinstance(parse_rule("x is not null"), IsNull)


def test_keywords_are_case_insensitive_and_numbers_varied():
    assert [t.value for t in tokenize("A AND not B >= 1_000 or c < 2.5e3")][:3] == [
        "A",
        "and",
        "not",
    ]
    assert tokenize("1_000")[0].value == 1000
    assert tokenize(".5")[0].value == 0.5
    assert tokenize("2.5e3")[0].value == 2500.0


# ---- evaluation over a table (null counts as not a member) ---------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("a > 1", [False, True, True, False]),  # null a: not a member
        ("is_vip", [True, False, False, True]),
        ("not is_vip", [False, True, False, False]),  # not null is null: not a member
        ("is_vip or is_new", [True, True, True, True]),
        ("brand in ['gotone', 'easyown']", [True, False, True, False]),
        ("brand not in ['gotone']", [False, True, True, False]),
        ("a between 2 and 3", [False, True, True, False]),
        ("a not between 2 and 3", [True, False, False, False]),
        ("x is null", [False, True, False, False]),
        ("a is not null and x is not null", [True, False, True, False]),
        ("b / 2 >= a", [True, False, False, False]),
        ("b % 2 = 1", [False, False, True, True]),
        ("-a < -1", [False, True, True, False]),
        ("join_date >= '2024-01-01'", [False, True, False, True]),
        ("brand != 'mzone'", [True, False, True, False]),
        ("brand <> 'mzone'", [True, False, True, False]),
        ("n_complaints_3m >= $k", [False, True, True, False]),
        ("is_vip = true", [True, False, False, True]),
    ],
)
def test_rules_mark_the_hand_computed_rows(rule, expected):
    assert evaluate(rule, {"k": 2}) == expected


# ---- every error kind, with its position ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("", ["column 1: the rule is empty"]),
        ("a > 1 # 2", ["column 7: unexpected character '#'"]),
        ("brand = 'gotone", ["column 9: unterminated string: the quote ' is never closed"]),
        ("a > 12abc", ["column 5: malformed number '12a'"]),
        (
            "a >",
            [
                "column 4: expected a column, a number, a string, true, false, null or '(', found the end of the rule"
            ],
        ),
        (
            "(a > 1",
            [
                "column 7: expected ')' to close the '(' opened at column 1, found the end of the rule"
            ],
        ),
        (
            "a > 1 b",
            [
                "column 7: expected an operator ('and', 'or', a comparison, ...) or the end of the rule, found 'b'"
            ],
        ),
        ("brand in 'x'", ["column 10: expected '[' to open the list after 'in', found \"'x'\""]),
        ("brand in ['x' 'y']", ["column 15: expected ',' or ']' to close the list, found \"'y'\""]),
        (
            "brand in [a]",
            ["column 11: expected a number, a string, true or false in the list, found 'a'"],
        ),
        (
            "a between 1 or 2",
            ["column 13: expected 'and' between the two bounds of 'between', found 'or'"],
        ),
        ("x is 3", ["column 6: expected 'null' after 'is', found '3'"]),
        ("$ > 1", ["column 1: '$' must be followed by a parameter name"]),
        (
            "is_vip and n_complaint_3m > 2",
            ["column 12: unknown column 'n_complaint_3m' (did you mean 'n_complaints_3m'?)"],
        ),
        ("zzz > 1", ["column 1: unknown column 'zzz'"]),
        ("a > $kk", ["column 5: unknown parameter '$kk' (did you mean '$k'?); defined: $k"]),
        ("brand > 3", ["column 7: cannot compare a string with a number using '>'"]),
        ("is_vip < true", ["column 8: '<' does not order true/false; use '=' or '!='"]),
        ("brand + 1 > 2", ["column 1: arithmetic '+' needs numbers, found a string"]),
        ("a and is_vip", ["column 1: 'and' needs true/false on both sides, found a number"]),
        ("not a", ["column 1: 'not' needs a boolean, found a number"]),
        ("-brand = 1", ["column 1: '-' needs a number, found a string"]),
        ("brand in ['x', 2]", ["column 16: list item 2 is a number, the value is a string"]),
        ("a between 'x' and 3", ["column 11: 'between' bound is a string, the value is a number"]),
        ("a = null", ["column 3: '=' with null is never true; use 'is null' or 'is not null'"]),
        ("a + b", ["column 3: a rule must be true or false, this one gives a number"]),
    ],
)
def test_errors_say_what_and_where(rule, expected):
    assert problems(rule, {"k": 2}) == expected


def test_all_semantic_errors_of_a_rule_are_collected_in_order():
    assert problems("zz > 1 and brand > 2 or yy") == [
        "column 1: unknown column 'zz'",
        "column 18: cannot compare a string with a number using '>'",
        "column 25: unknown column 'yy'",
    ]


def test_syntax_error_raises_with_position():
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule("a >> 1")
    assert info.value.problem.column == 4


def test_parameter_values_must_be_scalars():
    assert problems("a > $p", {"p": [1, 2]}) == [
        "column 5: parameter '$p' must be a number, string or boolean"
    ]


def test_no_python_eval_reaches_the_rule():
    # Python syntax and dunder access are simply not part of the language.
    assert problems("__import__('os').system('x')") == ["column 17: unexpected character '.'"]
    assert problems("__import__('os')")[0].startswith("column 11: expected an operator")
    assert problems("a.__class__ > 1") == ["column 2: unexpected character '.'"]


# ---- any text gives problems or a rule, never a crash --------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from(
    ["a", "b", "x", "brand", "is_vip", "$k", "1", "2.5", "'s'", "true", "null", "and", "or",
     "not", "in", "[", "]", ",", "between", "is", "(", ")", "+", "-", "*", "/", "%", "=", "<",
     ">=", "!=", "<>", "zz", "'", "#", "."]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12).map(" ".join) | st.text(max_size=30))
def test_any_text_is_either_a_rule_or_a_list_of_positioned_problems(text):
    found = check_rule(text, SCHEMA, {"k": 2})
    for problem in found:
        assert 0 < problem.column <= len(text) + 1
        assert problem.message
    if not found:
        compile_rule(text, ibis.table(SCHEMA, name="t"), {"k": 2})  # compiles without error
