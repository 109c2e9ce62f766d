"""How large a step's query becomes once its shared sub-queries are expanded.

Ibis compiles a table used twice into one common table expression (CTE) referenced twice.
DuckDB plans the CTE once; Spark's analyser (and many others) inlines every reference, so a
chain of CTEs each used several times multiplies: the menu design once expanded to about
409,000 scans of one 2,000-row table and Spark's driver ran out of memory analysing it before
reading a row (issue 17). :func:`expanded_scans` counts the table scans of the compiled SQL
with every CTE reference replaced by its body, without any engine, so a plan that would
choke a cluster's analyser is refused in ``make test`` (tests/pipeline/test_plan_size.py).

>>> import ibis
>>> t = ibis.table({"x": "int64"}, name="t")
>>> a = t.filter(t.x > 0)
>>> b = a.union(a)          # a is one CTE read twice
>>> expanded_scans(b.union(b))
4
"""

from __future__ import annotations

from functools import cache

import ibis
import ibis.expr.types as ir
import sqlglot
import sqlglot.expressions as sge

#: Most scans one step's query may expand to. After issue 17 the largest is the menu design
#: (a few hundred, see tests/pipeline/test_plan_size.py); it was about 250,000 before.
MAX_EXPANDED_SCANS = 1_000


def expanded_scans(expr: ir.Table, dialect: str = "duckdb") -> int:
    """The number of table scans in ``expr``'s SQL once every CTE reference is inlined.

    Parameters
    ----------
    expr
        An unevaluated Ibis table expression.
    dialect
        The SQL dialect to compile to (the CTE structure is Ibis's, the same for every
        dialect).

    Returns
    -------
    int
        Scans of base tables (and in-memory tables) the fully expanded query holds.
    """
    sql = ibis.to_sql(expr, dialect=dialect)
    tree = sqlglot.parse_one(sql, read=dialect)
    bodies: dict[str, sge.Expression] = {}
    for with_ in list(tree.find_all(sge.With)):
        for cte in with_.expressions:
            bodies[cte.alias_or_name] = cte.this
        with_.pop()

    @cache
    def scans_of(name: str) -> int:
        return _count(bodies[name])

    def _count(node: sge.Expression) -> int:
        total = 0
        for table in node.find_all(sge.Table):
            name = table.name
            if not table.db and name in bodies:
                total += scans_of(name)
            else:
                total += 1
        return total

    return _count(tree)
