"""The tag rule language: a tokenizer, a recursive-descent parser and a compiler to Ibis.

A rule is a boolean expression over the columns of the customer 360::

    n_complaints_3m >= 2 and value_tier in ['gold', 'silver'] and not is_family_plan
    pref_level_payment_store >= $store_payment_min_level
    arpu_yuan between 50 and 200 or age_years is null

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum [ op sum | ["not"] "in" "[" literal ("," literal)* "]"
                   | ["not"] "between" sum "and" sum | "is" ["not"] "null" ]
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | true | false | null | COLUMN | "$" PARAMETER | "(" expr ")"

``op`` is one of ``= == != <> < <= > >=``; keywords are case-insensitive. Arithmetic is in
floating point; a division or remainder by zero, and a result beyond the largest number, is
null (so the comparison it is part of is false, never "infinitely large"). What a rule cannot
mean is refused with its position, before anything runs: a number beyond ±2**63, a division
by a constant zero, a NUL character in a string, a text compared with a date that is no date
(``join_date > '2024-13-01'``), or nesting deeper than :data:`MAX_RULE_DEPTH`. Nothing is ever
passed to Python's ``eval``: the parser builds a small tree that :func:`compile_rule` checks
against a table schema (unknown columns, with a suggestion; type mismatches) and turns into an
Ibis expression. Every problem carries the 1-based column of the rule where it starts.

>>> import ibis
>>> t = ibis.table({"n_complaints_3m": "int64", "brand": "string"}, name="c360")
>>> expr = compile_rule("n_complaints_3m >= 2 and brand = 'gotone'", t.schema(), {})
>>> expr.type().is_boolean()
True
"""

from __future__ import annotations

import datetime as dt_
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

Kind = Literal["number", "string", "boolean", "date", "null"]
KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
#: Deepest nesting of a rule (parentheses, operators in a row, ``not not ...``): far beyond
#: what a person writes, far below what Python, Ibis and DuckDB can walk.
MAX_RULE_DEPTH = 40
LARGEST_INTEGER = 2**63 - 1
COMPARISONS = {
    "=": "==",
    "==": "==",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}


@dataclass(frozen=True)
class RuleProblem:
    """One error in a rule: ``column`` is 1-based within the rule text (0 when unknown)."""

    column: int
    message: str

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


class RuleSyntaxError(Exception):
    """Raised inside the parser; carries one :class:`RuleProblem`."""

    def __init__(self, problem: RuleProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, param, op, keyword, end
    text: str
    value: Any
    column: int  # 1-based


_SINGLE = set("()[],+-*/%")


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens; a bad character or an unterminated string is an error."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and (text[j].isdigit() or text[j] in "._"):
                j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    j = k
                    while j < n and text[j].isdigit():
                        j += 1
            raw = text[i:j]
            if j < n and (text[j].isalpha() or text[j] == "_"):
                raise RuleSyntaxError(RuleProblem(col, f"malformed number {text[i : j + 1]!r}"))
            try:
                value: Any = (
                    int(raw.replace("_", ""))
                    if raw.replace("_", "").isdigit()
                    else float(raw.replace("_", ""))
                )
            except ValueError:
                raise RuleSyntaxError(RuleProblem(col, f"malformed number {raw!r}")) from None
            if not _representable(value):
                raise RuleSyntaxError(RuleProblem(col, _too_large(raw)))
            tokens.append(Token("number", raw, value, col))
            i = j
        elif ch in "'\"":
            j = i + 1
            chars = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\x00":
                    raise RuleSyntaxError(
                        RuleProblem(j + 1, "a string cannot hold the NUL character (\\x00)")
                    )
                chars.append(text[j])
                j += 1
            if j >= n:
                raise RuleSyntaxError(
                    RuleProblem(col, f"unterminated string: the quote {ch} is never closed")
                )
            tokens.append(Token("string", text[i : j + 1], "".join(chars), col))
            i = j + 1
        elif ch.isalpha() or ch == "_" or ch == "$":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if ch == "$":
                if len(word) == 1:
                    raise RuleSyntaxError(
                        RuleProblem(col, "'$' must be followed by a parameter name")
                    )
                tokens.append(Token("param", word, word[1:], col))
            elif word.lower() in KEYWORDS:
                tokens.append(Token("keyword", word, word.lower(), col))
            else:
                tokens.append(Token("name", word, word, col))
            i = j
        elif text.startswith(("<=", ">=", "!=", "<>", "=="), i):
            tokens.append(Token("op", text[i : i + 2], text[i : i + 2], col))
            i += 2
        elif ch in "<>=" or ch in _SINGLE:
            tokens.append(Token("op", ch, ch, col))
            i += 1
        else:
            raise RuleSyntaxError(RuleProblem(col, f"unexpected character {ch!r}"))
    tokens.append(Token("end", "", None, n + 1))
    return tokens


def _representable(value: Any) -> bool:
    """A number the engine holds exactly as written: a 64-bit integer or a finite float."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -LARGEST_INTEGER - 1 <= value <= LARGEST_INTEGER
    return math.isfinite(value)


def _too_large(raw: str) -> str:
    shown = raw if len(raw) <= 24 else f"{raw[:20]}... ({len(raw)} characters)"
    return f"the number {shown} is too large: numbers must lie within ±9223372036854775807"


# --------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class Node:
    column: int


@dataclass(frozen=True)
class Literal_(Node):
    value: Any  # int, float, str, bool or None


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Param(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "not" or "-"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # and or + - * / % == != < <= > >=
    left: Node
    right: Node
    text: str = ""  # the operator as written ('=' or '==', '!=' or '<>')


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Literal_, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


def _describe(token: Token) -> str:
    return "the end of the rule" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def _deeper(self) -> None:
        """One more level of recursion; refused past :data:`MAX_RULE_DEPTH` (no RecursionError)."""
        self.depth += 1
        if self.depth > MAX_RULE_DEPTH:
            raise RuleSyntaxError(RuleProblem(self.tok.column, _too_deep()))

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _is(self, kind: str, *values: str) -> bool:
        token = self.tok
        return token.kind == kind and (not values or token.value in values)

    def _error(self, expected: str) -> RuleSyntaxError:
        return RuleSyntaxError(
            RuleProblem(self.tok.column, f"expected {expected}, found {_describe(self.tok)}")
        )

    def _expect(self, kind: str, value: str, what: str) -> Token:
        if not self._is(kind, value):
            raise self._error(what)
        return self._advance()

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise RuleSyntaxError(RuleProblem(1, "the rule is empty"))
        node = self.expr()
        if self.tok.kind != "end":
            raise self._error("an operator ('and', 'or', a comparison, ...) or the end of the rule")
        return node

    def expr(self) -> Node:
        node = self.and_()
        while self._is("keyword", "or"):
            op = self._advance()
            node = Binary(op.column, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self._is("keyword", "and"):
            op = self._advance()
            node = Binary(op.column, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self._is("keyword", "not"):
            self._deeper()
            op = self._advance()
            node = Unary(op.column, "not", self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        if self.tok.kind == "op" and self.tok.value in COMPARISONS:
            op = self._advance()
            return Binary(op.column, COMPARISONS[op.value], left, self.sum_(), op.text)
        negated = False
        if self._is("keyword", "not") and self.tokens[self.i + 1].value in ("in", "between"):
            self._advance()
            negated = True
        if self._is("keyword", "in"):
            op = self._advance()
            self._expect("op", "[", "'[' to open the list after 'in'")
            items = [self.list_item()]
            while self._is("op", ","):
                self._advance()
                items.append(self.list_item())
            self._expect("op", "]", "',' or ']' to close the list")
            return InList(op.column, left, tuple(items), negated)
        if self._is("keyword", "between"):
            op = self._advance()
            low = self.sum_()
            self._expect("keyword", "and", "'and' between the two bounds of 'between'")
            return Between(op.column, left, low, self.sum_(), negated)
        if self._is("keyword", "is"):
            op = self._advance()
            is_not = False
            if self._is("keyword", "not"):
                self._advance()
                is_not = True
            self._expect("keyword", "null", "'null' after 'is'")
            return IsNull(op.column, left, is_not)
        return left

    def list_item(self) -> Literal_:
        sign = 1
        start = self.tok
        if self._is("op", "-"):
            self._advance()
            sign = -1
        token = self.tok
        if token.kind in ("number", "string") or (
            token.kind == "keyword" and token.value in ("true", "false")
        ):
            self._advance()
            if token.kind == "number":
                return Literal_(start.column, sign * token.value)
            if sign < 0:
                raise RuleSyntaxError(RuleProblem(start.column, "'-' before a non-number"))
            value = token.value if token.kind == "string" else token.value == "true"
            return Literal_(token.column, value)
        raise self._error("a number, a string, true or false in the list")

    def sum_(self) -> Node:
        node = self.product()
        while self._is("op", "+", "-"):
            op = self._advance()
            node = Binary(op.column, op.value, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self._is("op", "*", "/", "%"):
            op = self._advance()
            node = Binary(op.column, op.value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self._is("op", "-"):
            self._deeper()
            op = self._advance()
            node = Unary(op.column, "-", self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        token = self.tok
        if token.kind in ("number", "string"):
            self._advance()
            return Literal_(token.column, token.value)
        if token.kind == "keyword" and token.value in ("true", "false", "null"):
            self._advance()
            return Literal_(token.column, {"true": True, "false": False, "null": None}[token.value])
        if token.kind == "name":
            self._advance()
            return Column(token.column, token.value)
        if token.kind == "param":
            self._advance()
            return Param(token.column, token.value)
        if self._is("op", "("):
            self._deeper()
            self._advance()
            node = self.expr()
            self._expect("op", ")", "')' to close the '(' opened at column " + str(token.column))
            self.depth -= 1
            return node
        raise self._error("a column, a number, a string, true, false, null or '('")


def parse_rule(text: str) -> Node:
    """The syntax tree of ``text``; raises :class:`RuleSyntaxError` at the first syntax error.

    >>> parse_rule("a + b * 2 > 3").op
    '>'
    """
    tree = _Parser(tokenize(text)).parse()
    too_deep = _first_too_deep(tree)
    if too_deep is not None:  # a long chain of operators nests as deep as parentheses
        raise RuleSyntaxError(RuleProblem(too_deep.column, _too_deep()))
    return tree


def _too_deep() -> str:
    return (
        f"the rule nests deeper than {MAX_RULE_DEPTH} levels (parentheses, 'not' or operators "
        "in a row); split it into simpler conditions or use 'in [...]'"
    )


def _children(node: Node) -> list[Node]:
    found: list[Node] = []
    for value in vars(node).values():
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, Node):
                found.append(child)
    return found


def _first_too_deep(tree: Node) -> Node | None:
    """The first node (in rule order) deeper than :data:`MAX_RULE_DEPTH`; walked without recursion."""
    stack = [(tree, 1)]
    deepest: list[Node] = []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_RULE_DEPTH:
            deepest.append(node)
            continue
        stack.extend((child, depth + 1) for child in _children(node))
    return min(deepest, key=lambda n: n.column) if deepest else None


def _names_of(node: Node, kind: type[Column] | type[Param]) -> set[str]:
    if isinstance(node, kind):
        return {node.name}
    found: set[str] = set()
    for child in _children(node):
        found |= _names_of(child, kind)
    return found


def columns_of(node: Node) -> set[str]:
    """The column names a tree refers to."""
    return _names_of(node, Column)


def parameters_of(node: Node) -> set[str]:
    """The ``$parameter`` names a tree refers to."""
    return _names_of(node, Param)


# --------------------------------------------------------------------------------------------
# Type checking and compilation


def kind_of(dtype: dt.DataType) -> Kind:
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "string"
    if dtype.is_temporal():
        return "date"
    if dtype.is_null():
        return "null"
    return "string"  # other types compare as their text would


def _literal_kind(value: Any) -> Kind:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


_ARITHMETIC = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


def _as_float(value: Any) -> Any:
    """Arithmetic in floating point: no integer overflow error on any row's values."""
    return value if value.type().is_floating() else value.cast("float64")


def _finite(value: Any) -> Any:
    """``value``, or null where it is infinite or not a number (an overflow, 0 * inf, x / 0).

    ``value`` is named once, inside a one-item list: a test like ``isinf(v) | isnan(v)``, or
    NULLIF (which DuckDB expands to a CASE), names it two or three times, so a rule with
    arithmetic nested 25 deep became 3**25 nodes of SQL, a hang and then the OOM killer.
    """
    return ibis.array([value]).filter(lambda v: ~(v.isinf() | v.isnan()))[0]


def _is_iso_date(text: Any) -> bool:
    if not isinstance(text, str) or len(text) != 10:
        return False
    try:
        dt_.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass
class _Compiler:
    schema: Mapping[str, dt.DataType]
    parameters: Mapping[str, Any]
    table: ir.Table | None
    problems: list[RuleProblem] = field(default_factory=list)

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(RuleProblem(node.column, message))

    def compatible(self, a: Kind, b: Kind) -> bool:
        return a == b or "null" in (a, b) or {a, b} == {"date", "string"}

    def visit(self, node: Node) -> tuple[Kind | None, Any]:
        """The node's kind (None after an error) and, when compiling, its Ibis value."""
        method = getattr(self, "_" + type(node).__name__.lower().rstrip("_"))
        return method(node)

    def _value(self, kind: Kind, value: Any) -> Any:
        if self.table is None:
            return None
        if value is None:
            return ibis.null()
        return ibis.literal(value)

    def _literal(self, node: Literal_) -> tuple[Kind, Any]:
        kind = _literal_kind(node.value)
        if kind == "number" and not _representable(node.value):  # e.g. -(2**63) - 1 in a list
            self.problem(node, _too_large(str(node.value)))
            return kind, None
        return kind, self._value(kind, node.value)

    def _column(self, node: Column) -> tuple[Kind | None, Any]:
        if node.name not in self.schema:
            close = difflib.get_close_matches(node.name, list(self.schema), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(node, f"unknown column {node.name!r}{hint}")
            return None, None
        kind = kind_of(self.schema[node.name])
        return kind, (self.table[node.name] if self.table is not None else None)

    def _param(self, node: Param) -> tuple[Kind | None, Any]:
        if node.name not in self.parameters:
            close = difflib.get_close_matches(node.name, list(self.parameters), n=1, cutoff=0.6)
            hint = f" (did you mean '${close[0]}'?)" if close else ""
            known = ", ".join(f"${p}" for p in sorted(self.parameters)) or "none"
            self.problem(node, f"unknown parameter '${node.name}'{hint}; defined: {known}")
            return None, None
        value = self.parameters[node.name]
        if isinstance(value, list | tuple | dict):
            self.problem(node, f"parameter '${node.name}' must be a number, string or boolean")
            return None, None
        kind = _literal_kind(value)
        if kind == "number" and not _representable(value):
            self.problem(node, f"parameter '${node.name}': " + _too_large(str(value)))
            return None, None
        if kind == "string" and "\x00" in value:
            self.problem(node, f"parameter '${node.name}' cannot hold the NUL character (\\x00)")
            return None, None
        return kind, self._value(kind, value)

    def _constant(self, node: Node) -> float | None:
        """The value of a numeric expression without columns, or None (not constant, unknown)."""
        if isinstance(node, Literal_):
            value = node.value
        elif isinstance(node, Param):
            value = self.parameters.get(node.name)
        elif isinstance(node, Unary) and node.op == "-":
            inner = self._constant(node.operand)
            return None if inner is None else -inner
        elif isinstance(node, Binary) and node.op in ("+", "-", "*", "/", "%"):
            left, right = self._constant(node.left), self._constant(node.right)
            if left is None or right is None or (node.op in "/%" and right == 0):
                return None
            try:
                return float(_ARITHMETIC[node.op](left, right))
            except (OverflowError, ZeroDivisionError):
                return None
        else:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def _unary(self, node: Unary) -> tuple[Kind | None, Any]:
        kind, value = self.visit(node.operand)
        want: Kind = "boolean" if node.op == "not" else "number"
        if kind is None:
            return want, None
        if kind not in (want, "null"):
            self.problem(node, f"'{node.op}' needs a {want}, found a {kind}")
            return want, None
        if value is None:
            return want, None
        if value.type().is_null():  # 'not null', '- null': null of the operator's type
            return want, ibis.null("boolean" if node.op == "not" else "float64")
        return want, (~value if node.op == "not" else -_as_float(value))

    def _binary(self, node: Binary) -> tuple[Kind | None, Any]:
        lk, lv = self.visit(node.left)
        rk, rv = self.visit(node.right)
        op = node.op
        if op in ("and", "or"):
            for kind, side in ((lk, node.left), (rk, node.right)):
                if kind not in (None, "boolean", "null"):
                    self.problem(side, f"'{op}' needs true/false on both sides, found a {kind}")
            if lv is None or rv is None:
                return "boolean", None
            return "boolean", (lv & rv) if op == "and" else (lv | rv)
        if op in ("+", "-", "*", "/", "%"):
            for kind, side in ((lk, node.left), (rk, node.right)):
                if kind not in (None, "number", "null"):
                    self.problem(side, f"arithmetic '{op}' needs numbers, found a {kind}")
            if op in ("/", "%") and self._constant(node.right) == 0:
                what = "division" if op == "/" else "remainder"
                self.problem(node, f"{what} by zero: the right side of '{op}' is always 0")
                return "number", None
            if lv is None or rv is None:
                return "number", None
            # By zero: inf or NaN, which _finite makes null, never a value that compares true.
            return "number", _finite(_ARITHMETIC[op](_as_float(lv), _as_float(rv)))
        # comparison
        op = node.text or op
        if "null" in (lk, rk):
            self.problem(node, f"'{op}' with null is never true; use 'is null' or 'is not null'")
            return "boolean", None
        if lk is not None and rk is not None and not self.compatible(lk, rk):
            self.problem(node, f"cannot compare a {lk} with a {rk} using '{op}'")
            return "boolean", None
        if (
            lk is not None
            and rk is not None
            and node.op not in ("==", "!=")
            and "boolean" in (lk, rk)
        ):
            self.problem(node, f"'{op}' does not order true/false; use '=' or '!='")
            return "boolean", None
        self._check_date_text(lk, node.right, rk)
        self._check_date_text(rk, node.left, lk)
        if lv is None or rv is None:
            return "boolean", None
        lv, rv = self._align_dates(lk, lv, rk, rv)
        return "boolean", {
            "==": lambda: lv == rv,
            "!=": lambda: lv != rv,
            "<": lambda: lv < rv,
            "<=": lambda: lv <= rv,
            ">": lambda: lv > rv,
            ">=": lambda: lv >= rv,
        }[node.op]()

    def _align_dates(self, lk: Kind | None, lv: Any, rk: Kind | None, rv: Any) -> tuple[Any, Any]:
        # A date column compared with '2024-03-01': the string is read as a date (a text
        # column's value that is no date reads as null; a literal one is refused by check).
        if lk == "date" and rk == "string":
            rv = rv.try_cast("date")
        elif rk == "date" and lk == "string":
            lv = lv.try_cast("date")
        return lv, rv

    def _check_date_text(self, kind: Kind | None, other: Node, other_kind: Kind | None) -> None:
        """A literal (or parameter) text compared with a date must be a date, YYYY-MM-DD."""
        if kind != "date" or other_kind != "string":
            return
        if isinstance(other, Literal_):
            text = other.value
        elif isinstance(other, Param):
            text = self.parameters.get(other.name)
        else:
            return
        if not _is_iso_date(text):
            self.problem(other, f"{text!r} is compared with a date but is no date (YYYY-MM-DD)")

    def _inlist(self, node: InList) -> tuple[Kind | None, Any]:
        kind, value = self.visit(node.operand)
        kinds = {_literal_kind(item.value) for item in node.items}
        for item in node.items:
            item_kind = _literal_kind(item.value)
            if kind is not None and not self.compatible(kind, item_kind):
                self.problem(
                    item, f"list item {item.value!r} is a {item_kind}, the value is a {kind}"
                )
        if len(kinds) > 1 and kind is None:
            self.problem(node, f"the list mixes {' and '.join(sorted(kinds))} values")
        for item in node.items:
            self._check_date_text(kind, item, _literal_kind(item.value))
            if _literal_kind(item.value) == "number" and not _representable(item.value):
                self.problem(item, _too_large(str(item.value)))
        if value is None or self.problems:
            return "boolean", None
        values = [item.value for item in node.items]
        if kind == "date":
            values = [ibis.literal(v).cast("date") for v in values]
        result = value.isin(values)
        return "boolean", (~result if node.negated else result)

    def _between(self, node: Between) -> tuple[Kind | None, Any]:
        kind, value = self.visit(node.operand)
        low_kind, low = self.visit(node.low)
        high_kind, high = self.visit(node.high)
        for bound_kind, bound in ((low_kind, node.low), (high_kind, node.high)):
            if (
                kind is not None
                and bound_kind is not None
                and not self.compatible(kind, bound_kind)
            ):
                self.problem(bound, f"'between' bound is a {bound_kind}, the value is a {kind}")
        if kind == "boolean":
            self.problem(node, "'between' does not order true/false")
        parts = (
            (kind, node.operand, value),
            (low_kind, node.low, low),
            (high_kind, node.high, high),
        )
        is_dated = any(k == "date" for k, _, _ in parts)
        if is_dated:  # every text among the three is read as a date
            for part_kind, part, _ in parts:
                self._check_date_text("date", part, part_kind)
        if value is None or low is None or high is None:
            return "boolean", None
        if is_dated:
            value, low, high = (v.try_cast("date") if k == "string" else v for k, _, v in parts)
        result = value.between(low, high)
        return "boolean", (~result if node.negated else result)

    def _isnull(self, node: IsNull) -> tuple[Kind | None, Any]:
        _, value = self.visit(node.operand)
        if value is None:
            return "boolean", None
        return "boolean", (value.notnull() if node.negated else value.isnull())


def check_tree(
    node: Node, schema: Mapping[str, dt.DataType], parameters: Mapping[str, Any]
) -> list[RuleProblem]:
    """Every semantic problem of a parsed rule (unknown names, type mismatches), by position."""
    compiler = _Compiler(schema, parameters, None)
    kind, _ = compiler.visit(node)
    if kind not in (None, "boolean", "null") and not compiler.problems:
        compiler.problems.append(
            RuleProblem(node.column, f"a rule must be true or false, this one gives a {kind}")
        )
    return sorted(compiler.problems, key=lambda p: p.column)


def check_rule(
    text: str, schema: Mapping[str, dt.DataType], parameters: Mapping[str, Any]
) -> list[RuleProblem]:
    """Every problem of rule ``text`` against ``schema``: a syntax error, or all semantic ones.

    >>> import ibis
    >>> s = ibis.schema({"n_complaints_3m": "int64"})
    >>> [str(p) for p in check_rule("n_complaint_3m > 2", s, {})]
    ["column 1: unknown column 'n_complaint_3m' (did you mean 'n_complaints_3m'?)"]
    """
    try:
        tree = parse_rule(text)
    except RuleSyntaxError as exc:
        return [exc.problem]
    return check_tree(tree, schema, parameters)


def compile_tree(node: Node, table: ir.Table, parameters: Mapping[str, Any]) -> ir.BooleanValue:
    """The Ibis boolean of a checked tree over ``table`` (a null result counts as false)."""
    compiler = _Compiler(table.schema(), parameters, table)
    _, value = compiler.visit(node)
    if compiler.problems or value is None:
        raise ValueError("; ".join(str(p) for p in compiler.problems) or "rule did not compile")
    if value.type().is_null():
        return ibis.literal(False)
    return value.cast("boolean").fill_null(False)


def compile_rule(text: str, schema_or_table: Any, parameters: Mapping[str, Any]) -> ir.BooleanValue:
    """Check and compile ``text``; with a schema, over an unbound table of that schema."""
    table = (
        schema_or_table
        if isinstance(schema_or_table, ir.Table)
        else ibis.table(schema_or_table, name="customer_360")
    )
    problems = check_rule(text, table.schema(), parameters)
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    return compile_tree(parse_rule(text), table, parameters)
