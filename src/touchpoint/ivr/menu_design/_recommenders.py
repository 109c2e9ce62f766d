"""The four kinds of proposal (promote, merge, drop, fix), each priced from the node measures
in one shape of columns, so :func:`touchpoint.ivr.menu_recommendations` can rank them together."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from touchpoint.ivr.menu_design._tree import _under

KINDS = ("promote", "merge", "drop", "fix")


def _empty_evidence() -> dict[str, ir.Value]:
    return {
        "error_rate": ibis.null("float64"),
        "median_error_rate": ibis.null("float64"),
        "n_excess_errors_per_month": ibis.null("float64"),
    }


_COLUMNS = {
    "kind": "string",
    "node_id": "string",
    "parent_node_id": "string",
    "proposed_key": "string",
    "depth": "int64",
    "new_depth": "int64",
    "n_calls": "float64",
    "gross_seconds": "float64",
    "added_seconds": "float64",
    "transfers_avoided": "float64",
    "error_rate": "float64",
    "median_error_rate": "float64",
    "n_excess_errors_per_month": "float64",
    "main_error_kind": "string",
}


def _shape(table: ir.Table, **values: Any) -> ir.Table:
    """The common columns of every kind of proposal, in one order and type."""
    defaults = _empty_evidence()
    cols = {}
    for name, dtype in _COLUMNS.items():
        value = values.get(name, defaults.get(name))
        value = ibis.literal(value) if isinstance(value, str) else value
        cols[name] = (ibis.null(dtype) if value is None else value).cast(dtype)
    return table.select(**cols)


def _skipped_zero_outs(
    rows: ir.Table, nodes: ir.Table, arrivals_known: ir.Table, key: str
) -> ir.Table:
    """Zero-outs at skipped nodes attributed to a proposal by its share of the arrivals there.

    ``rows`` holds one row per proposal ``key`` × skipped node (``skip_node_id``) with
    ``arrivals_mine`` (arrivals there by the proposal's callers).
    """
    z = nodes.view()
    z = z.select(z_node_id=z.node_id, z_zero=z.n_zero_outs)
    j = rows.join(z, rows.skip_node_id == z.z_node_id).join(
        arrivals_known, rows.skip_node_id == arrivals_known.ak_node_id
    )
    share = j.arrivals_mine.cast("float64") / j.n_arrivals_known.nullif(0)
    return j.group_by(zo_key=j[key]).agg(zero_outs=(j.z_zero * share.fill_null(0.0)).sum())


def _promotions(nodes, ancestors, time_at, arrivals_known, parent_info, s, opt) -> ir.Table:
    """Promote P (depth >= promote_min_depth, in demand) to a key of its ancestor Q at level
    ``promote_to_depth - 1``; the caller skips every node of the branch B (P's ancestor at
    ``promote_to_depth``) outside P's subtree."""
    a = ancestors
    cand = nodes.filter(
        (nodes.depth >= s.promote_min_depth) & (nodes.share_under >= s.promote_min_share)
    )
    b = a.filter(a.ancestor_depth == s.promote_to_depth).select(
        b_node_id=a.node_id, branch_id=a.ancestor_id
    )
    q = a.filter(a.ancestor_depth == s.promote_to_depth - 1).select(
        q_node_id=a.node_id, new_parent_id=a.ancestor_id
    )
    cand = cand.join(b, cand.node_id == b.b_node_id).join(q, cand.node_id == q.q_node_id)
    cand = cand.join(parent_info, cand.new_parent_id == parent_info.pi_node_id)
    cand = cand.filter(cand.pi_free > 0)
    # Time at skipped nodes X (in B's subtree, not in P's) by callers whose target is under P.
    targets_under = _under(a, "tu_target", "tu_node")
    in_branch = _under(a, "ib_node", "ib_branch")
    in_self = _under(a, "is_node", "is_promoted")
    rows = cand.select(p_id=cand.node_id, p_branch=cand.branch_id)
    rows = rows.join(targets_under, rows.p_id == targets_under.tu_node)
    rows = rows.join(time_at, rows.tu_target == time_at.target_node_id)
    rows = rows.join(
        in_branch, (rows.node_id == in_branch.ib_node) & (rows.p_branch == in_branch.ib_branch)
    )
    rows = rows.anti_join(
        in_self, (rows.node_id == in_self.is_node) & (rows.p_id == in_self.is_promoted)
    )
    per_skip = rows.group_by(["p_id", rows.node_id.name("skip_node_id")]).agg(
        seconds=rows.seconds_at.sum(), arrivals_mine=rows.n_arrivals.sum()
    )
    saved = per_skip.group_by(sv_key=per_skip.p_id).agg(gross=per_skip.seconds.sum())
    zero = _skipped_zero_outs(per_skip, nodes, arrivals_known, "p_id")
    j = cand.left_join(saved, cand.node_id == saved.sv_key).left_join(
        zero, cand.node_id == zero.zo_key
    )
    return _shape(
        j,
        kind="promote",
        node_id=j.node_id,
        parent_node_id=j.new_parent_id,
        proposed_key=j.pi_first_free,
        depth=j.depth,
        new_depth=ibis.literal(s.promote_to_depth),
        n_calls=j.n_calls_under,
        gross_seconds=j.gross.fill_null(0.0),
        added_seconds=j.pi_prompts * opt,
        transfers_avoided=j.zero_outs.fill_null(0.0) * (1 - j.transfer_share_under.fill_null(0.0)),
    )


def _merges(nodes, time_at, arrivals_known, parent_info, ancestors, s, opt) -> ir.Table:
    """Fold an inner node X few use into its parent: X's options move up, X's own step goes."""
    cand = nodes.filter(
        ~nodes.is_leaf & nodes.parent_node_id.notnull() & (nodes.share_under <= s.merge_max_share)
    )
    cand = cand.join(parent_info, cand.parent_node_id == parent_info.pi_node_id)
    cand = cand.filter(cand.pi_free >= cand.n_children - 1)
    targets_under = _under(ancestors, "tu_target", "tu_node")
    rows = cand.select(m_id=cand.node_id)
    rows = rows.join(targets_under, rows.m_id == targets_under.tu_node)
    rows = rows.join(
        time_at, (rows.tu_target == time_at.target_node_id) & (time_at.node_id == rows.m_id)
    )
    per_skip = rows.group_by(["m_id", rows.node_id.name("skip_node_id")]).agg(
        seconds=rows.seconds_at.sum(), arrivals_mine=rows.n_arrivals.sum()
    )
    saved = per_skip.group_by(sv_key=per_skip.m_id).agg(gross=per_skip.seconds.sum())
    zero = _skipped_zero_outs(per_skip, nodes, arrivals_known, "m_id")
    j = cand.left_join(saved, cand.node_id == saved.sv_key).left_join(
        zero, cand.node_id == zero.zo_key
    )
    return _shape(
        j,
        kind="merge",
        node_id=j.node_id,
        parent_node_id=j.parent_node_id,
        depth=j.depth,
        new_depth=j.depth - 1,
        n_calls=j.n_calls_under,
        gross_seconds=j.gross.fill_null(0.0),
        added_seconds=j.pi_prompts * opt * (j.n_children - 1),
        transfers_avoided=j.zero_outs.fill_null(0.0) * (1 - j.transfer_share_under.fill_null(0.0)),
    )


def _drops(nodes, parent_info, s, opt) -> ir.Table:
    """Remove a leaf few use: its parent's prompt loses an option; its callers go to an agent."""
    cand = nodes.filter(nodes.is_leaf & (nodes.share_under <= s.drop_max_share))
    cand = cand.join(parent_info, cand.parent_node_id == parent_info.pi_node_id)
    return _shape(
        cand,
        kind="drop",
        node_id=cand.node_id,
        parent_node_id=cand.parent_node_id,
        depth=cand.depth,
        n_calls=cand.n_calls_under,
        gross_seconds=cand.pi_prompts * opt,
        added_seconds=ibis.literal(0.0),
        transfers_avoided=-(cand.n_calls_under - cand.n_transfer_calls_under),
    )


_ERRORS = ("timeouts", "invalid", "wrong_turns", "zero_outs", "hang_ups")


def _fixes(nodes, s) -> ir.Table:
    """Fix a menu node where callers go wrong: its excess error rate falls to the menu median."""
    menu = nodes.filter(~nodes.is_leaf)
    rates = menu.mutate(
        **{f"r_{k}": menu[f"n_{k}"].cast("float64") / menu.n_actions.nullif(0) for k in _ERRORS}
    )
    eligible = rates.filter(rates.n_actions >= s.fix_min_actions)
    deliberate = list(s.deliberate_zero_out_nodes)
    medians = eligible.aggregate(
        m_timeouts=eligible.r_timeouts.median(),
        m_invalid=eligible.r_invalid.median(),
        # A wrong turn needs two options or more; a deliberate zero-out is no error.
        m_wrong_turns=ibis.ifelse(eligible.n_children >= 2, eligible.r_wrong_turns, None).median(),
        m_zero_outs=ibis.ifelse(
            eligible.node_id.isin(deliberate), None, eligible.r_zero_outs
        ).median(),
        m_hang_ups=eligible.r_hang_ups.median(),
    )
    j = eligible.cross_join(medians)
    m = {k: j[f"m_{k}"].fill_null(0.0) for k in _ERRORS}
    excess = {k: ibis.greatest(j[f"n_{k}"] - m[k] * j.n_actions, 0.0) for k in _ERRORS}
    n_errors = sum(j[f"n_{k}"] for k in _ERRORS)
    median_total = sum(m.values())
    expected = median_total * j.n_actions
    spread = (j.n_actions * median_total * (1 - median_total)).sqrt()
    error_rate = n_errors.cast("float64") / j.n_actions
    # Seconds each error costs at this node, measured there.
    cost_timeout = j.timeout_turn_seconds / j.n_timeouts.nullif(0)
    cost_invalid = j.invalid_turn_seconds / j.n_invalid.nullif(0)
    cost_wrong = j.key_turn_seconds / j.n_keys.nullif(
        0
    ) + j.wrong_back_seconds / j.n_wrong_turns.nullif(0)
    gross = (
        excess["timeouts"] * cost_timeout.fill_null(0.0)
        + excess["invalid"] * cost_invalid.fill_null(0.0)
        + excess["wrong_turns"] * cost_wrong.fill_null(0.0)
    )
    biggest = ibis.greatest(*excess.values())
    j = j.mutate(
        fx_main=ibis.cases(*[(excess[k] == biggest, k) for k in _ERRORS]),
        fx_error_rate=error_rate,
        fx_median=median_total,
        fx_excess=sum(excess.values()),
        fx_gross=gross,
        fx_transfers=excess["zero_outs"] * (1 - j.transfer_share_under.fill_null(0.0)),
        # No spread (a median of 0): any error above it is significant.
        fx_z=ibis.ifelse(
            spread > 0,
            (n_errors - expected) / spread,
            ibis.ifelse(n_errors > expected, float("inf"), 0.0),
        ),
    )
    j = j.filter(
        (j.fx_error_rate >= s.fix_min_ratio * j.fx_median) & (j.fx_z.fill_null(0.0) >= s.fix_min_z)
    )
    return _shape(
        j,
        kind="fix",
        node_id=j.node_id,
        parent_node_id=j.parent_node_id,
        depth=j.depth,
        new_depth=j.depth,
        n_calls=j.n_calls_under,
        gross_seconds=j.fx_gross,
        added_seconds=ibis.literal(0.0),
        transfers_avoided=j.fx_transfers,
        error_rate=j.fx_error_rate,
        median_error_rate=j.fx_median,
        n_excess_errors_per_month=j.fx_excess,
        main_error_kind=j.fx_main,
    )
