"""Menu nodes: the tree reconstructed from key presses, per-node statistics, the
directly-follows graph and the lost-points ranking."""

from __future__ import annotations

import ibis

from touchpoint.ivr._journeys import back_key
from touchpoint.ivr._settings import IvrSettings

#: How a call can end at a node, as ``n_exits_<kind>`` columns (see :func:`exit_kind`).
EXIT_KINDS: tuple[str, ...] = (
    "self_service_complete",
    "hang_up",
    "transfer_agent",
    "timeout",
    "invalid",
    "other",
)


def _exit_types(settings: IvrSettings) -> dict[str, str]:
    """Exit kind -> the event type that makes it (all kinds but ``other``)."""
    return {
        "self_service_complete": settings.complete_event_type,
        "hang_up": settings.hang_up_event_type,
        "transfer_agent": settings.transfer_event_type,
        "timeout": settings.timeout_event_type,
        "invalid": settings.invalid_event_type,
    }


def exit_kind(event_type: ibis.Value, settings: IvrSettings) -> ibis.Value:
    """The kind of ending of a call whose last event has ``event_type``.

    One of :data:`EXIT_KINDS`: a self-service completion, a hang-up, a transfer to an agent
    (zero-out or failed service), a timeout or an invalid key (the log stops there), or
    ``other`` (the log stops after a prompt, a key or the call start: the caller left
    without an explicit ending).
    """
    return ibis.cases(
        *[(event_type == t, kind) for kind, t in _exit_types(settings).items()], else_="other"
    )


def node_event_counts(steps: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """Events at each node that signal trouble, and the calls that ended there, by kind.

    Parameters
    ----------
    steps
        :func:`touchpoint.ivr.event_steps`.

    Returns
    -------
    ibis.Table
        One row per node with events: ``node_id, n_events, n_timeouts, n_invalid_keys,
        n_backtracks`` (back key pressed here), ``n_repeated_prompts`` and ``n_exits_<kind>``
        for each of :data:`EXIT_KINDS` (calls whose last event is at this node).
    """
    # Each exit column compares the event type directly: evaluating exit_kind's CASE once per
    # column and event doubles the cost of this pass.
    types = _exit_types(settings)
    last_type = ibis.ifelse(steps.is_last, steps.event_type, ibis.null("string"))
    exits = {f"n_exits_{k}": (last_type == t).fill_null(False).sum() for k, t in types.items()}
    exits["n_exits_other"] = (steps.is_last & ~steps.event_type.isin(tuple(types.values()))).sum()
    return steps.group_by("node_id").agg(
        n_events=steps.count(),
        n_timeouts=(steps.event_type == settings.timeout_event_type).sum(),
        n_invalid_keys=(steps.event_type == settings.invalid_event_type).sum(),
        n_backtracks=back_key(steps.event_type, steps.key, settings).sum(),
        n_repeated_prompts=steps.is_repeated_prompt.sum(),
        **exits,
    )


def visit_counts(visits: ibis.Table) -> ibis.Table:
    """Visits, callers and dwell per node.

    Parameters
    ----------
    visits
        :func:`touchpoint.ivr.node_visits`.

    Returns
    -------
    ibis.Table
        One row per visited node: ``node_id, n_visits, n_calls`` (calls that visited it),
        ``n_callers`` (distinct customers), ``n_loops`` (visits after a call's first one to
        the node), ``n_backtrack_entries``, ``n_wrong_turns`` (see :func:`wrong_turns`),
        ``mean_dwell_seconds, median_dwell_seconds``.
    """
    counts = visits.group_by("node_id").agg(
        n_visits=visits.count(),
        n_calls=visits.call_id.nunique(),
        n_callers=visits.customer_id.nunique(),
        n_backtrack_entries=visits.is_backtrack_entry.sum(),
        n_wrong_turns=visits.leads_to_wrong_turn.sum(),
        mean_dwell_seconds=visits.dwell_seconds.mean(),
        median_dwell_seconds=visits.dwell_seconds.median(),
    )
    return counts.mutate(n_loops=counts.n_visits - counts.n_calls)


def wrong_turns(visits: ibis.Table) -> ibis.Table:
    """Wrong turns, attributed to the node where the wrong key was pressed.

    The same figure as ``n_wrong_turns`` of :func:`visit_counts` (which counts it in the same
    pass as the other visit figures), from the child's side.

    Returns
    -------
    ibis.Table
        One row per node with wrong turns: ``node_id, n_wrong_turns`` (moves from this node
        to a child that the caller left at once with the back key).
    """
    wrong = visits.filter(visits.is_wrong_turn)
    return wrong.group_by(node_id=wrong.prev_visit_node_id).agg(n_wrong_turns=wrong.count())


def replay_node_counts(replay: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """:func:`node_event_counts` summed from the replay cube (``int_ivr_menu_replay``, whose
    window pass over the events counted the back keys and repeated prompts with the IVR's
    ``settings``): the same rows and values, without another pass over the events.

    A call's last event is a cube row without a next node (``next_node_id`` is the next
    event's node, as ``is_last`` of :func:`touchpoint.ivr.event_steps` is).

    Returns
    -------
    ibis.Table
        One row per node with events: the columns of :func:`node_event_counts`.
    """
    r = replay
    types = _exit_types(settings)
    is_last = r.next_node_id.isnull()

    def total(where: ibis.Value) -> ibis.Value:
        return r.n_events.sum(where=where).fill_null(0).cast("int64")

    exits = {f"n_exits_{k}": total(is_last & (r.event_type == t)) for k, t in types.items()}
    exits["n_exits_other"] = total(is_last & ~r.event_type.isin(tuple(types.values())))
    return r.group_by("node_id").agg(
        n_events=r.n_events.sum().cast("int64"),
        n_timeouts=total(r.event_type == settings.timeout_event_type),
        n_invalid_keys=total(r.event_type == settings.invalid_event_type),
        n_backtracks=r.n_back_keys.sum().cast("int64"),
        n_repeated_prompts=r.n_repeated_prompts.sum().cast("int64"),
        **exits,
    )


def node_stats(steps: ibis.Table, visits: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """``mart_ivr_node_stats``: the additive and distinct counts of every node.

    Returns
    -------
    ibis.Table
        One row per node seen in the events: the columns of :func:`visit_counts` and
        :func:`node_event_counts` (zero where a node has none).
    """
    return node_stats_from_counts(node_event_counts(steps, settings), visits)


def node_stats_from_counts(event_counts: ibis.Table, visits: ibis.Table) -> ibis.Table:
    """:func:`node_stats` from the per-node event counts (:func:`node_event_counts` or
    :func:`replay_node_counts`) and the visits."""
    counts = visit_counts(visits)
    events = event_counts.rename(event_node_id="node_id")
    joined = counts.outer_join(events, counts.node_id == events.event_node_id)
    out = joined.select(
        node_id=ibis.coalesce(joined.node_id, joined.event_node_id),
        **{c: joined[c] for c in counts.columns if c != "node_id"},
        **{c: joined[c] for c in events.columns if c != "event_node_id"},
    )
    zero_filled = [c for c in out.columns if c.startswith("n_")]
    return out.mutate(**{c: out[c].fill_null(0) for c in zero_filled})


def menu_moves(visits: ibis.Table) -> ibis.Table:
    """``mart_ivr_moves``: how callers leave each node (key and next node), with time spent.

    Returns
    -------
    ibis.Table
        One row per node × key that left it (null when the call ended there or moved without
        a key) × next node (null when the call ended there): ``from_node_id, key,
        to_node_id, n_moves, total_seconds`` (dwell at the from node).
    """
    return visits.group_by(
        from_node_id=visits.node_id, key=visits.exit_key, to_node_id=visits.next_visit_node_id
    ).agg(n_moves=visits.count(), total_seconds=visits.dwell_seconds.sum())


def directly_follows(moves: ibis.Table) -> ibis.Table:
    """The directly-follows graph of nodes.

    Parameters
    ----------
    moves
        :func:`menu_moves`.

    Returns
    -------
    ibis.Table
        One row per pair of nodes visited one right after the other in some call:
        ``from_node_id, to_node_id, n_transitions, mean_seconds`` (mean dwell at the from node
        before moving on).
    """
    m = moves.filter(moves.to_node_id.notnull())
    graph = m.group_by(["from_node_id", "to_node_id"]).agg(
        n_transitions=m.n_moves.sum(), total_seconds=m.total_seconds.sum()
    )
    return graph.select(
        "from_node_id",
        "to_node_id",
        "n_transitions",
        mean_seconds=graph.total_seconds / graph.n_transitions,
    )


def menu_tree(moves: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """The menu tree reconstructed from the key presses.

    A key pressed at node P followed by the caller being at node C is a forward move
    P --key--> C unless the key is the back key; :func:`tree_from_edges` makes the tree of
    them (parent = the node most often entered from, depth up to a root, at most
    ``settings.max_menu_depth`` levels).

    Parameters
    ----------
    moves
        :func:`menu_moves` (small: read it from ``mart_ivr_moves``, the tree walks it once
        per level).

    Returns
    -------
    ibis.Table
        One row per node: ``node_id, parent_node_id, key`` (pressed at the parent),
        ``depth, n_entries`` (forward moves into the node from its parent), ``n_children``,
        ``is_leaf``.
    """
    forward = moves.filter(
        moves.to_node_id.notnull()
        & moves.key.notnull()
        & (moves.key != settings.back_key)
        & (moves.to_node_id != moves.from_node_id)
    )
    edges = forward.group_by(
        node_id=forward.to_node_id, parent_node_id=forward.from_node_id, key=forward.key
    ).agg(n_entries=forward.n_moves.sum())
    nodes = moves.select(node_id=moves.from_node_id.cast("string")).union(
        moves.filter(moves.to_node_id.notnull()).select(node_id=moves.to_node_id.cast("string"))
    )
    tree = tree_from_edges(nodes, edges, settings.max_menu_depth)
    return tree.drop("root_node_id")


def tree_from_edges(nodes: ibis.Table, edges: ibis.Table, max_depth: int) -> ibis.Table:
    """A menu tree from counted forward moves: the one reconstruction the IVR marts and the
    menu design share.

    Each node's parent is the node (and key) it is most often entered from (ties: the smaller
    parent id, then key): noise in a log cannot give a node two parents. A node never
    entered is a root, at depth 0. Depth counts parents up to the node's root; past
    ``max_depth`` levels, or in a cycle of parents (only inconsistent logs make one), depth
    and root are null.

    Parameters
    ----------
    nodes
        ``node_id``: every node seen (duplicates allowed).
    edges
        One row per forward move kind: ``node_id`` (entered), ``parent_node_id`` (left),
        ``key`` (pressed there), ``n_entries`` (how often).

    Returns
    -------
    ibis.Table
        One row per node: ``node_id, parent_node_id, key, depth, root_node_id, n_entries``
        (entries from the chosen parent), ``n_children, is_leaf``.
    """
    best = ibis.window(
        group_by="node_id", order_by=[ibis.desc("n_entries"), "parent_node_id", "key"]
    )
    edges = edges.filter(ibis.row_number().over(best) == 0).view()
    nodes = nodes.select(node_id=nodes.node_id.cast("string")).distinct()
    tree = nodes.left_join(edges, nodes.node_id == edges.node_id).select(
        nodes.node_id,
        parent_node_id=edges.parent_node_id.cast("string"),
        key=edges.key.cast("string"),
        n_entries=edges.n_entries.fill_null(0),
    )
    parents = tree.select(p_node_id="node_id", p_parent_node_id="parent_node_id").view()
    # Walk up one level per round: `ancestor` is the node `depth + 1` levels up, `top` the
    # highest node reached so far.
    walk = tree.mutate(ancestor=tree.parent_node_id, top=tree.node_id, depth=ibis.literal(0))
    for _ in range(max_depth):
        j = walk.left_join(parents, walk.ancestor == parents.p_node_id)
        climbed = j.ancestor.notnull()
        walk = j.select(
            *[c for c in walk.columns if c not in ("ancestor", "top", "depth")],
            ancestor=j.p_parent_node_id,
            top=ibis.ifelse(climbed, j.ancestor, j.top),
            depth=ibis.ifelse(climbed, j.depth + 1, j.depth),
        ).view()
    children = tree.filter(tree.parent_node_id.notnull())
    n_children = (
        children.group_by(c_node_id=children.parent_node_id).agg(n_children=children.count()).view()
    )
    j = walk.left_join(n_children, walk.node_id == n_children.c_node_id)
    n = j.n_children.fill_null(0)
    done = j.ancestor.isnull()
    return j.select(
        "node_id",
        "parent_node_id",
        "key",
        depth=ibis.ifelse(done, j.depth, ibis.null("int64")),
        root_node_id=ibis.ifelse(done, j.top, ibis.null("string")),
        n_entries=j.n_entries,
        n_children=n,
        is_leaf=n == 0,
    )


def node_table(
    stats: ibis.Table, tree: ibis.Table, endings: ibis.Table, settings: IvrSettings
) -> ibis.Table:
    """``mart_ivr_nodes``: every node with its place in the tree, traffic, exits, failures
    and lost score.

    Failures are attributed to the node where the call's last IVR event happened: a
    *zero-out* (transfer to an agent), an *abandon* (hang-up, or the log stops after a
    timeout, an invalid key or a prompt) and a *re-contact* (a self-service completion
    followed within the verified window by a contact about the same business).

    The *lost score* of a node is ``(n_timeouts + n_invalid_keys + n_wrong_turns) /
    n_visits``: signs of confusion per visit, each counted where the caller hesitated or
    chose wrong. Back-tracks, loops and repeated prompts are shown but not added: a back-track
    undoes a wrong turn (counted at the parent, where the wrong key was pressed), the loop is
    the return to that parent, and a repeated prompt follows a timeout or an invalid key.
    Zero-outs stay out of the score because callers who want a human press 0 at the main
    menu at once. ``lost_rank`` ranks nodes with at least ``settings.lost_min_visits``
    visits (1 = most lost); others have a null rank.

    Parameters
    ----------
    stats
        :func:`node_stats` (``mart_ivr_node_stats``).
    tree
        :func:`menu_tree`.
    endings
        The call cube (:func:`touchpoint.ivr.call_cube`, ``mart_ivr_calls_daily``).

    Returns
    -------
    ibis.Table
        One row per node: ``node_id, parent_node_id, key, depth, is_leaf``, the columns of
        :func:`node_stats`, ``n_calls_ended, n_zero_outs, n_abandons, n_recontacts,
        n_failures, failure_share, n_completed, mean_self_service_seconds, lost_score,
        lost_rank``.
    """
    e = endings
    ended = (
        e.group_by(end_node_id=e.last_node_id)
        .agg(
            n_calls_ended=e.n_calls.sum(),
            n_zero_outs=e.n_calls.sum(where=e.exit_kind == "transfer_agent"),
            n_abandons=e.n_calls.sum(
                where=e.exit_kind.isin(("hang_up", "timeout", "invalid", "other"))
            ),
            n_recontacts=e.n_recontacted.sum(),
            n_completed=e.n_calls.sum(where=e.exit_kind == "self_service_complete"),
            total_self_service_seconds=e.total_self_service_seconds.sum(),
        )
        .view()
    )
    t = (
        tree.select("node_id", "parent_node_id", "key", "depth", "is_leaf")
        .rename(tree_node_id="node_id")
        .view()
    )
    j = stats.left_join(t, stats.node_id == t.tree_node_id)
    j = j.select(
        "node_id",
        "parent_node_id",
        "key",
        "depth",
        "is_leaf",
        *[c for c in stats.columns if c != "node_id"],
    )
    j = j.left_join(ended, j.node_id == ended.end_node_id)
    fill = ("n_calls_ended", "n_zero_outs", "n_abandons", "n_recontacts", "n_completed")
    j = j.select(
        *[c for c in j.columns if c not in (*fill, "end_node_id", "total_self_service_seconds")],
        **{c: j[c].fill_null(0) for c in fill},
        total_self_service_seconds=j.total_self_service_seconds,
    )
    j = j.mutate(n_failures=j.n_zero_outs + j.n_abandons + j.n_recontacts)
    total_failures = j.n_failures.sum().over(ibis.window())
    lost = (j.n_timeouts + j.n_invalid_keys + j.n_wrong_turns).cast("float64")
    j = j.mutate(
        failure_share=ibis.ifelse(total_failures > 0, j.n_failures / total_failures, ibis.null()),
        mean_self_service_seconds=ibis.ifelse(
            j.n_completed > 0, j.total_self_service_seconds / j.n_completed, ibis.null()
        ),
        lost_score=ibis.ifelse(j.n_visits > 0, lost / j.n_visits, ibis.null()),
    ).drop("total_self_service_seconds")
    rankable = j.n_visits >= settings.lost_min_visits
    ranked = ibis.window(group_by=rankable, order_by=[ibis.desc(j.lost_score), j.node_id])
    return j.mutate(
        lost_rank=ibis.ifelse(rankable, ibis.row_number().over(ranked) + 1, ibis.null("int64"))
    )


#: Columns of the lost-points ranking (``mart_ivr_lost``).
LOST_COLUMNS = (
    "lost_rank",
    "node_id",
    "parent_node_id",
    "depth",
    "n_visits",
    "lost_score",
    "n_timeouts",
    "n_invalid_keys",
    "n_wrong_turns",
    "n_backtracks",
    "n_loops",
    "n_repeated_prompts",
    "n_zero_outs",
    "n_abandons",
)


def lost_points(nodes: ibis.Table) -> ibis.Table:
    """``mart_ivr_lost``: the ranked lost points, most lost first.

    Returns
    -------
    ibis.Table
        One row per ranked node (see :func:`node_table`): :data:`LOST_COLUMNS`.
    """
    return nodes.filter(nodes.lost_rank.notnull()).select(*LOST_COLUMNS).order_by("lost_rank")
