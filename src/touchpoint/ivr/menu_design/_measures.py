"""What each menu node costs callers, and where the calls that reach each leaf spend time."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from touchpoint.ivr.menu_design._settings import MenuDesignSettings
from touchpoint.ivr.menu_design._tree import _under


def _with_targets(cube: ir.Table, tree: ir.Table) -> ir.Table:
    """The cube with ``target_node_id``: the call's terminal node when it is a leaf, else null."""
    leaves = tree.filter(tree.is_leaf).select(leaf_id=tree.node_id)
    j = cube.left_join(leaves, cube.terminal_node_id == leaves.leaf_id)
    return j.select(*cube.columns, target_node_id=j.leaf_id)


def _months(cube: ir.Table, settings: MenuDesignSettings) -> ir.Scalar:
    first = cube.first_event_at.min().date()
    last = cube.last_event_at.max().date()
    return (last.delta(first, unit="day") + 1).cast("float64") / settings.days_per_month


def node_measures(cube: ir.Table, tree: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """Actions, errors and their time cost per menu node, over the whole observed period.

    A wrong turn at X is a back key pressed at one of X's children (the caller chose the
    wrong option at X and came back); a zero-out is a transfer to an agent at a menu node
    (at a leaf it is a failed service, not a menu error), except at the nodes of
    ``deliberate_zero_out_nodes``.

    Returns
    -------
    ibis.Table
        One row per tree node: ``n_actions, n_prompts, n_timeouts, n_invalid, n_wrong_turns,
        n_zero_outs, n_hang_ups, timeout_turn_seconds, invalid_turn_seconds,
        key_turn_seconds, n_keys, back_turn_seconds`` (sums), joined to the tree columns.
    """
    s = settings
    c = cube
    is_key = c.event_type == s.key_event_type
    is_back = is_key & c.key.isin(list(s.back_keys))

    def count(cond: ir.BooleanValue) -> ir.IntegerValue:
        return ibis.ifelse(cond, c.n_events, 0).sum()

    def seconds(cond: ir.BooleanValue) -> ir.FloatingValue:
        return ibis.ifelse(cond, c.turn_seconds, 0.0).sum()

    terminal = c.next_node_id.isnull()
    per_node = c.group_by(measured_id=c.node_id).agg(
        n_actions=count(~c.event_type.isin(list(s.non_action_event_types))),
        n_prompts=count(c.event_type == s.prompt_event_type),
        n_timeouts=count(c.event_type == s.timeout_event_type),
        n_invalid=count(c.event_type == s.invalid_event_type),
        n_transfers=count((c.event_type == s.transfer_event_type) & terminal),
        n_hang_ups_at=count((c.event_type == s.hang_up_event_type) & terminal),
        n_backs=count(is_back & c.key.notnull()),
        timeout_turn_seconds=seconds(c.event_type == s.timeout_event_type),
        invalid_turn_seconds=seconds(c.event_type == s.invalid_event_type),
        key_turn_seconds=seconds(is_key & ~is_back & c.key.notnull()),
        n_keys=count(is_key & ~is_back & c.key.notnull()),
        back_turn_seconds=seconds(is_back & c.key.notnull()),
    )
    j = tree.left_join(per_node, tree.node_id == per_node.measured_id)
    nodes = j.select(
        *tree.columns,
        **{name: j[name].fill_null(0) for name in per_node.columns if name != "measured_id"},
    )
    # Back keys at a child count as wrong turns at its parent.
    backs = nodes.view().filter(ibis._.parent_node_id.notnull())
    backs = backs.group_by(back_parent=backs.parent_node_id).agg(
        n_wrong_turns=backs.n_backs.sum(), wrong_back_seconds=backs.back_turn_seconds.sum()
    )
    j = nodes.left_join(backs, nodes.node_id == backs.back_parent)
    menu = ~j.is_leaf
    deliberate = j.node_id.isin(list(s.deliberate_zero_out_nodes))
    return j.select(
        *[name for name in nodes.columns if name not in ("n_transfers", "n_hang_ups_at")],
        n_wrong_turns=j.n_wrong_turns.fill_null(0),
        wrong_back_seconds=j.wrong_back_seconds.fill_null(0.0),
        n_zero_outs=ibis.ifelse(menu & ~deliberate, j.n_transfers, 0),
        n_menu_transfers=ibis.ifelse(menu, j.n_transfers, 0),
        n_hang_ups=ibis.ifelse(menu, j.n_hang_ups_at, 0),
    )


def _target_calls(targeted: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """One row per target leaf: ``n_calls`` reaching it and ``n_transfer_calls`` among them."""
    last = targeted.filter(targeted.next_node_id.isnull() & targeted.target_node_id.notnull())
    return last.group_by("target_node_id").agg(
        n_calls=last.n_events.sum(),
        n_transfer_calls=ibis.ifelse(
            last.terminal_event_type == settings.transfer_event_type, last.n_events, 0
        ).sum(),
    )


def _target_node_time(targeted: ir.Table) -> ir.Table:
    """One row per target leaf × node: caller-seconds at the node and arrivals into it."""
    t = targeted.filter(targeted.target_node_id.notnull())
    seconds = t.group_by(["target_node_id", "node_id"]).agg(seconds_at=t.seconds_to_next.sum())
    moved = t.filter(t.next_node_id.notnull() & (t.next_node_id != t.node_id))
    arrivals = moved.group_by(
        arrival_target_id=moved.target_node_id, arrival_node_id=moved.next_node_id
    ).agg(n_arrivals=moved.n_events.sum())
    j = seconds.outer_join(
        arrivals,
        (seconds.target_node_id == arrivals.arrival_target_id)
        & (seconds.node_id == arrivals.arrival_node_id),
    )
    return j.select(
        target_node_id=ibis.coalesce(j.target_node_id, j.arrival_target_id),
        node_id=ibis.coalesce(j.node_id, j.arrival_node_id),
        seconds_at=j.seconds_at.fill_null(0.0),
        n_arrivals=j.n_arrivals.fill_null(0),
    )


def _subtree_calls(ancestors: ir.Table, calls: ir.Table) -> ir.Table:
    """Per node: calls whose target leaf lies under it, and the transfers among them."""
    u = _under(ancestors, "u_target", "u_node")
    j = calls.join(u, calls.target_node_id == u.u_target)
    return j.group_by(sub_node_id=j.u_node).agg(
        n_calls_under=j.n_calls.sum(), n_transfer_calls_under=j.n_transfer_calls.sum()
    )
