"""Evaluating a catalogue on the customer 360: who carries which tag each month, and the flow.

Pure Ibis: the 360 goes in, tables come out; nothing is executed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis.common.exceptions import IbisError

from touchpoint.errors import RuleError
from touchpoint.tags._catalogue import Catalogue
from touchpoint.tags._rules import Node, compile_tree

MEMBER_PREFIX = "is_member__"
SCOPE_PREFIX = "in_scope__"


def tag_flags(c360: ir.Table, catalogue: Catalogue, keep: Sequence[str] = ()) -> ir.Table:
    """One row per customer × month of the 360: ``customer_id``, ``month`` and, per tag,
    ``is_member__<tag_id>`` (in scope and rule true) and ``in_scope__<tag_id>`` (booleans,
    never null: a rule that is null for a row, e.g. on a missing ARPU, does not mark it).

    Columns named in ``keep`` are carried along. ``catalogue`` must have passed
    :func:`~touchpoint.tags.check_catalogue` on ``c360``'s schema.
    """
    flags = {}
    for tag in catalogue.tags:
        rule, scope = catalogue.trees[tag.id]
        member = _compiled(tag.id, "rule", rule, c360, catalogue)
        if scope is not None:
            in_scope = _compiled(tag.id, "applies_to", scope, c360, catalogue)
            member = member & in_scope
        else:
            in_scope = ibis.literal(True)
        flags[MEMBER_PREFIX + tag.id] = member
        flags[SCOPE_PREFIX + tag.id] = in_scope
    return c360.select("customer_id", "month", *keep, **flags)


def _compiled(tag_id: str, what: str, tree: Node, c360: ir.Table, catalogue: Catalogue) -> ir.Value:
    """The rule's Ibis value; a rule that cannot be compiled is one clear error, no traceback."""
    try:
        return compile_tree(tree, c360, catalogue.parameters)
    except (ValueError, TypeError, RecursionError, IbisError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RuleError(
            f"tag {tag_id}: the {what} cannot be evaluated ({first}); check it with "
            "`touchpoint tags check`"
        ) from None


def _versions(catalogue: Catalogue) -> ir.Table:
    return ibis.memtable(
        {
            "tag_id": [tag.id for tag in catalogue.tags],
            "version": [tag.version for tag in catalogue.tags],
        },
        schema={"tag_id": "string", "version": "int64"},
    )


def tag_membership(c360: ir.Table, catalogue: Catalogue) -> ir.Table:
    """Who carries each tag each month: one row per customer × tag × month of membership.

    Columns: ``customer_id``, ``tag_id``, ``version`` (of the tag's rule that decided it),
    ``month`` and ``since``, the first month of the customer's current uninterrupted run of
    membership (months in a row, as far back as the 360 goes).

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> from touchpoint.tags import catalogue_from_data
    >>> cat = catalogue_from_data({"version": "t", "tags": [{
    ...     "id": "big", "name": {"en": "Big", "zh": "大"}, "definition": {"en": "d", "zh": "d"},
    ...     "rule": "arpu_yuan > 100", "owner": "me", "hint": {"channel": "sms",
    ...     "script": {"en": "s", "zh": "s"}, "timing": {"en": "t", "zh": "t"}}}]})
    >>> months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    >>> c360 = ibis.memtable({"customer_id": ["a"] * 3, "month": months,
    ...                       "arpu_yuan": [150.0, 120.0, 90.0]})
    >>> tag_membership(c360, cat).order_by("month").to_pandas()["since"].astype(str).tolist()
    ['2024-01-01', '2024-01-01']
    """
    flags = tag_flags(c360, catalogue)
    marked = ibis.array(
        [
            ibis.ifelse(flags[MEMBER_PREFIX + tag.id], ibis.literal(tag.id), ibis.null("string"))
            for tag in catalogue.tags
        ]
    )
    long = flags.select("customer_id", "month", tag_id=marked.unnest())
    long = long.filter(long.tag_id.notnull())
    # Gaps and islands: within a run of consecutive months, month index − row number is constant.
    month_index = long.month.year().cast("int64") * 12 + long.month.month().cast("int64")
    position = ibis.row_number().over(group_by=[long.customer_id, long.tag_id], order_by=long.month)
    long = long.mutate(_run=month_index - position)
    long = long.mutate(
        since=long.month.min().over(group_by=[long.customer_id, long.tag_id, long._run])
    )
    versions = _versions(catalogue)
    joined = long.join(versions, "tag_id")
    return joined.select("customer_id", "tag_id", "version", "month", "since")


def tag_changes(membership: ir.Table, c360: ir.Table, tags: Catalogue | ir.Table) -> ir.Table:
    """Members, entries and exits: one row per tag × month of the 360 (zeros included).

    ``n_members`` carry the tag that month; ``n_entered`` carry it but did not the month before
    (their ``since`` is this month); ``n_left`` carried it the month before but not this month
    (including customers who left the network), so
    ``n_members = previous n_members + n_entered − n_left``. Both are null in the first month
    of the 360, which has no month before.

    ``tags`` names the tags and versions to report: the catalogue, or a table with ``tag_id``
    and ``version`` (e.g. the current rows of ``mart_tag_definitions``).
    """
    months = c360.select("month").distinct()
    versions = _versions(tags) if isinstance(tags, Catalogue) else tags.select("tag_id", "version")
    frame = months.cross_join(versions)
    counted = membership.group_by(["tag_id", "month"]).aggregate(
        n_members=membership.count(),
        n_entered=(membership.since == membership.month).sum().cast("int64"),
    )
    dense = frame.left_join(counted, ["tag_id", "month"]).select(
        frame.tag_id,
        frame.version,
        frame.month,
        n_members=counted.n_members.fill_null(0),
        n_entered=counted.n_entered.fill_null(0),
    )
    window = ibis.window(group_by=dense.tag_id, order_by=dense.month)
    previous = dense.n_members.lag().over(window)
    return dense.select(
        "tag_id",
        "version",
        "month",
        "n_members",
        n_entered=ibis.ifelse(previous.isnull(), ibis.null("int64"), dense.n_entered),
        n_left=(previous - dense.n_members + dense.n_entered).cast("int64"),
    ).order_by(["tag_id", "month"])
