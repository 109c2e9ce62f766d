"""The contracts of every table the registered steps write, and the check of a table against one.

Each capability keeps its contracts in ``marts.yaml`` beside its ``__init__.py``
(:mod:`touchpoint.capability` describes the format). ``tests/pipeline/test_marts_common.py``
checks every registered step's tables on the shared simulated world with
:func:`contract_problems`, and ``docs/marts.md`` is generated from the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ibis
import ibis.expr.types as ir

from touchpoint.capability import MARTS_FILE, MartContract, Step, load_mart_contracts
from touchpoint.config import Config
from touchpoint.errors import PipelineError
from touchpoint.pipeline.registry import (
    CAPABILITIES,
    capability_module,
    capability_steps,
    pipeline_steps,
)
from touchpoint.tags import compile_rule, parse_rule
from touchpoint.tags._rules import IsNull, Node, columns_of


@dataclass(frozen=True)
class RegisteredMart:
    """A table a registered step writes, with its contract and where both come from."""

    capability: str
    step: Step
    contract: MartContract
    source: Path


def capability_marts_file(capability: str) -> Path:
    """The ``marts.yaml`` of ``capability`` (a package name of :data:`CAPABILITIES`)."""
    return Path(capability_module(capability).__file__ or "").parent / MARTS_FILE


@cache
def registered_marts() -> dict[str, RegisteredMart]:
    """Every table the registered steps write, in the order the steps run, with its contract.

    Raises
    ------
    PipelineError
        When a step's output has no contract in its capability's ``marts.yaml``, or the file
        describes a table none of the capability's steps writes.
    """
    owner = {step.name: name for name in CAPABILITIES for step in capability_steps(name)}
    contracts: dict[str, dict[str, MartContract]] = {}
    for name in CAPABILITIES:
        path = capability_marts_file(name)
        contracts[name] = load_mart_contracts(path) if path.exists() else {}
        written = {table for step in capability_steps(name) for table in step.outputs}
        stray = sorted(set(contracts[name]) - written)
        if stray:
            raise PipelineError(f"{path}: describes {stray}, which no step of {name} writes")
    marts: dict[str, RegisteredMart] = {}
    for step in pipeline_steps():
        capability = owner[step.name]
        for table in step.outputs:
            contract = contracts[capability].get(table)
            if contract is None:
                raise PipelineError(
                    f"step {step.name!r} writes {table!r}, which has no contract in "
                    f"{capability_marts_file(capability)}; describe its grain, key and columns there"
                )
            marts[table] = RegisteredMart(
                capability, step, contract, capability_marts_file(capability)
            )
    return marts


def schema_problems(table: ir.Table, contract: MartContract, config: Config) -> list[str]:
    """Columns missing, undeclared or of another type than declared, one line each."""
    declared = contract.expanded_columns(config)
    actual = table.schema()
    problems = [f"{contract.name}.{n}: declared but absent" for n in declared if n not in actual]
    problems += [
        f"{contract.name}.{n}: present ({actual[n]}) but not declared in the contract"
        for n in actual
        if n not in declared
    ]
    for name, column in declared.items():
        if name in actual:
            want = ibis.dtype(column.type).copy(nullable=True)
            if not _same_type(actual[name], want):
                problems.append(
                    f"{contract.name}.{name}: type {actual[name].copy(nullable=True)}, "
                    f"declared {want}"
                )
    return problems


def _judged_columns(text: str) -> set[str]:
    """Columns whose null leaves a row unjudged: those the expression reads, except those it
    tests with ``is null`` / ``is not null`` itself."""
    tree = parse_rule(text)
    tested: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, IsNull):
            tested.update(columns_of(node))
        for value in vars(node).values():
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, Node):
                    walk(child)

    walk(tree)
    return columns_of(tree) - tested


def _same_type(actual: ibis.DataType, declared: ibis.DataType) -> bool:
    actual = actual.copy(nullable=True)
    if declared.is_timestamp() and actual.is_timestamp() and declared.scale is None:
        return actual.timezone == declared.timezone  # "timestamp": any precision
    return actual == declared


def contract_problems(table: ir.Table, contract: MartContract, config: Config) -> list[str]:
    """Every way ``table`` breaks ``contract``: schema, key uniqueness, row count, not-null,
    accepted values and expression invariants, one line each (empty when it keeps it).

    The value checks run in one aggregate over the table (plus one for the key), so a check of
    the customer 360 costs two scans.
    """
    problems = schema_problems(table, contract, config)
    if problems:
        return problems  # the value checks would only repeat the schema's problems
    name = contract.name
    checks: dict[str, tuple[str, ir.BooleanValue]] = {}
    for column in contract.not_null:
        checks[f"c{len(checks)}"] = (f"{name}.{column}: null", table[column].isnull())
    for column in contract.accepted_values:
        values = contract.accepted(column, config)
        bad = table[column].notnull() & ~table[column].isin(values)
        checks[f"c{len(checks)}"] = (f"{name}.{column}: a value not in {list(values)}", bad)
    for text in contract.expressions:
        # As a SQL CHECK: a row with a null in a column the expression reads is not judged.
        judged = ibis.and_(*(table[c].notnull() for c in sorted(_judged_columns(text))))
        holds = compile_rule(text, table, {})
        checks[f"c{len(checks)}"] = (f"{name}: expression `{text}` false", judged & ~holds)
    counts = (
        table.aggregate(
            n_rows=table.count(), **{k: cond.cast("int64").sum() for k, (_, cond) in checks.items()}
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    for key, (what, _) in checks.items():
        if counts[key]:
            problems.append(f"{what} on {counts[key]:,} of {counts['n_rows']:,} rows")
    if contract.rows is not None and counts["n_rows"] != contract.rows:
        problems.append(f"{name}: {counts['n_rows']:,} rows, the contract says {contract.rows}")
    if contract.key:
        groups = table.group_by(list(contract.key)).aggregate(n=table.count())
        doubled = groups.filter(groups.n > 1).count().to_pyarrow().as_py()
        if doubled:
            problems.append(f"{name}: {doubled:,} values of the key {list(contract.key)} repeat")
    return problems
