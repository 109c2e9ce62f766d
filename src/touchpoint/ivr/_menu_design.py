"""A better IVR menu: recommendations estimated by replaying the observed journeys.

Two stages, each a pure Ibis function (no I/O), so the expensive one runs once:

1. :func:`menu_replay_cube` reads ``stg_ivr_events`` once (one window pass per call) and
   aggregates every step by the call's ending (terminal node and event type), the node where
   the step happens, its event type, the key and the next node. The result is tiny (a few
   thousand rows for a menu of dozens of nodes, whatever the number of calls).
2. :func:`menu_recommendations` reconstructs the menu tree from the cube, measures each node
   (time spent, caller actions, errors) and re-times the observed journeys under each
   proposed change (promote, merge, drop, fix), giving per month the caller-seconds saved,
   the agent transfers avoided and the money saved. docs/menu-design.md gives the method and
   states every assumption.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, model_validator

from touchpoint.config import Config, SettingsSection
from touchpoint.contract.columns import require_columns
from touchpoint.errors import ConfigError
from touchpoint.ivr._nodes import tree_from_edges

DEFAULTS_PATH = Path(__file__).parent / "menu_design.yaml"
SECTION = "ivr_menu_design"
REPLAY_TABLE = "int_ivr_menu_replay"
RECOMMENDATIONS_MART = "mart_ivr_menu_recommendations"
#: Inputs of the two pipeline steps: (required, optional).
REPLAY_INPUTS: tuple[tuple[str, ...], tuple[str, ...]] = (("stg_ivr_events",), ())
DESIGN_INPUTS: tuple[tuple[str, ...], tuple[str, ...]] = ((REPLAY_TABLE,), ())
KINDS = ("promote", "merge", "drop", "fix")
EVENT_COLUMNS = ("call_id", "seq", "event_at", "node_id", "event_type", "key")


class MenuDesignSettings(BaseModel):
    """Settings of the menu recommendations (``menu_design.yaml`` documents each one).

    Examples
    --------
    >>> MenuDesignSettings().promote_to_depth
    1
    >>> MenuDesignSettings(promote_min_depth=1)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for MenuDesignSettings
    ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    root_node_id: str = Field(default="root", min_length=1)
    menu_keys: str = Field(default="123456789", min_length=1)
    back_keys: tuple[str, ...] = ("*",)
    non_action_event_types: tuple[str, ...] = ("call_start", "prompt")
    prompt_event_type: str = "prompt"
    timeout_event_type: str = "timeout"
    invalid_event_type: str = "invalid"
    key_event_type: str = "key"
    transfer_event_type: str = "transfer_agent"
    hang_up_event_type: str = "hang_up"
    deliberate_zero_out_nodes: tuple[str, ...] = ("root",)
    ivr_channel: str = "ivr"
    agent_channel: str = "agent"
    ivr_cost_per_second_yuan: float | None = Field(default=None, ge=0)
    seconds_per_added_option: float = Field(default=1.0, ge=0)
    days_per_month: float = Field(default=30.4375, gt=0)
    max_depth: int = Field(default=8, ge=1, le=30)
    promote_min_depth: int = Field(default=2, ge=2)
    promote_to_depth: int = Field(default=1, ge=1)
    promote_min_share: float = Field(default=0.05, ge=0, le=1)
    merge_max_share: float = Field(default=0.05, ge=0, le=1)
    drop_max_share: float = Field(default=0.01, ge=0, le=1)
    fix_min_actions: int = Field(default=30, ge=1)
    fix_min_ratio: float = Field(default=1.5, ge=1)
    fix_min_z: float = Field(default=2.0, ge=0)
    min_cost_saved_yuan_per_month: float = 0.0

    @model_validator(mode="after")
    def _depths(self) -> MenuDesignSettings:
        if self.promote_min_depth <= self.promote_to_depth:
            raise ValueError(
                f"promote_min_depth={self.promote_min_depth} should be > "
                f"promote_to_depth={self.promote_to_depth} (a promotion moves a node up)"
            )
        if self.promote_min_depth > self.max_depth:
            raise ValueError(
                f"promote_min_depth={self.promote_min_depth} should be <= max_depth={self.max_depth}"
            )
        return self

    def check_against(self, config: Config) -> MenuDesignSettings:
        """Refuse channel and event-type ids the main configuration does not know."""
        problems = []
        checks = [
            ("ivr_channel", self.ivr_channel, "channel"),
            ("agent_channel", self.agent_channel, "channel"),
            ("transfer_event_type", self.transfer_event_type, "ivr_event_type"),
            ("timeout_event_type", self.timeout_event_type, "ivr_event_type"),
            ("invalid_event_type", self.invalid_event_type, "ivr_event_type"),
            ("key_event_type", self.key_event_type, "ivr_event_type"),
            ("hang_up_event_type", self.hang_up_event_type, "ivr_event_type"),
            ("prompt_event_type", self.prompt_event_type, "ivr_event_type"),
        ]
        for field, value, vocabulary in checks:
            try:
                allowed = config.ids(vocabulary)
            except KeyError:
                problems.append(f"{SECTION}.{field}: the configuration has no {vocabulary!r}")
                continue
            if value not in allowed:
                problems.append(
                    f"{SECTION}.{field}: {value!r} is not a configured {vocabulary} "
                    f"(expected one of {', '.join(allowed)})"
                )
        if problems:
            raise ConfigError("; ".join(problems) + f"; fix the {SECTION} section")
        return self


_SETTINGS = SettingsSection(MenuDesignSettings, SECTION, DEFAULTS_PATH)


def load_menu_design_settings(
    path: str | os.PathLike[str] | None = None, *, config: Config | None = None
) -> MenuDesignSettings:
    """The defaults of ``menu_design.yaml``, overridden by the ``ivr_menu_design`` section of ``path``.

    Raises
    ------
    ConfigError
        With the file and the key of every value that is not allowed.
    """
    settings = _SETTINGS.load(path)
    return settings.check_against(config) if config is not None else settings


def menu_design_settings_from_config(config: Config) -> MenuDesignSettings:
    """The ``ivr_menu_design`` section of ``config``, else the defaults; checked against it."""
    return _SETTINGS.from_config(config).check_against(config)


# --------------------------------------------------------------------------------------------
# Stage 1: the replay cube
# --------------------------------------------------------------------------------------------


def menu_replay_cube(ivr_events: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """``int_ivr_menu_replay``: every IVR step, aggregated by the call's ending and the move.

    One window pass over each call (ordered by ``seq``) gives every step its next node, the
    time to the next step, the time since the previous step and the call's last node and
    event type; the steps are then counted and their times summed.

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events``: one row per step of an IVR call.

    Returns
    -------
    ibis.Table
        One row per terminal node × terminal event type × node × event type × key × next
        node: ``n_events``, ``seconds_to_next`` (sum of the time until the call's next step:
        the time the caller spent at the node after the step), ``turn_seconds`` (sum of the
        time from the previous step to the next one: what one action at the node costs),
        ``first_event_at``, ``last_event_at``. ``key`` is kept only for steps that move to
        another node; ``next_node_id`` is null for a call's last step.
    """
    require_columns(ivr_events, "ivr_events", EVENT_COLUMNS)
    e = ivr_events
    # One frame for every window function, so the engine sorts each call once.
    w = ibis.window(group_by="call_id", order_by="seq", rows=(None, None))
    next_at = e.event_at.lead().over(w)
    prev_at = e.event_at.lag().over(w)
    next_node = e.node_id.lead().over(w)
    steps = e.select(
        "node_id",
        "event_type",
        "event_at",
        terminal_node_id=e.node_id.last().over(w),
        terminal_event_type=e.event_type.last().over(w),
        # Nullable casts: a lead is null on a call's last step, whatever the source's schema.
        next_node_id=next_node.cast("string"),
        key_pressed=e.key.cast("string"),
        ms_to_next=next_at.delta(e.event_at, unit="millisecond").cast("int64"),
        ms_turn=next_at.delta(prev_at, unit="millisecond").cast("int64"),
    )
    moves = steps.next_node_id.notnull() & (steps.next_node_id != steps.node_id)
    steps = steps.mutate(key=ibis.ifelse(moves, steps.key_pressed, ibis.null("string")))
    return steps.group_by(
        [
            "terminal_node_id",
            "terminal_event_type",
            "node_id",
            "event_type",
            "key",
            "next_node_id",
        ]
    ).agg(
        n_events=steps.count(),
        seconds_to_next=(steps.ms_to_next.sum() / 1000.0).fill_null(0.0),
        turn_seconds=(steps.ms_turn.sum() / 1000.0).fill_null(0.0),
        first_event_at=steps.event_at.min(),
        last_event_at=steps.event_at.max(),
    )


# --------------------------------------------------------------------------------------------
# Stage 2: tree, node measures, proposals
# --------------------------------------------------------------------------------------------


def replay_tree(cube: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """The menu tree reconstructed from the moves in the replay cube.

    A key press (not a back key) at node X whose next step is at node Y is an edge X -key-> Y;
    the tree is :func:`touchpoint.ivr.tree_from_edges` of them (the reconstruction the IVR
    marts use: each node's parent is the node it is most often entered from), cut to the
    nodes whose root is ``root_node_id`` (at most ``max_depth`` levels down). Moves back into
    the main menu are no edges, so it stays the root.

    Returns
    -------
    ibis.Table
        One row per node: ``node_id, parent_node_id, key, depth, n_children, is_leaf,
        n_free_keys, first_free_key`` (free keys: ``menu_keys`` not used by a child).
    """
    s = settings
    c = cube
    moving = c.filter(
        (c.event_type == s.key_event_type)
        & c.next_node_id.notnull()
        & (c.next_node_id != c.node_id)
        & (c.next_node_id != s.root_node_id)
        & c.key.notnull()
        & ~c.key.isin(list(s.back_keys))
    )
    edges = moving.group_by(
        node_id=moving.next_node_id, parent_node_id=moving.node_id, key=moving.key
    ).agg(n_entries=moving.n_events.sum())
    nodes = c.select(node_id=c.node_id.cast("string")).union(
        c.filter(c.next_node_id.notnull()).select(node_id=c.next_node_id.cast("string"))
    )
    whole = tree_from_edges(nodes, edges, s.max_depth)
    # A node's children reach the root through it, so the cut keeps its child count.
    tree = whole.filter(whole.root_node_id == s.root_node_id).select(
        "node_id",
        "parent_node_id",
        "key",
        depth=whole.depth.cast("int64"),
        n_children=whole.n_children.cast("int64"),
    )
    used = tree.view().filter(ibis._.parent_node_id.notnull())
    used = used.select(used_parent=used.parent_node_id, used_key=used.key)
    keys = ibis.memtable({"menu_key": list(s.menu_keys)}, schema={"menu_key": "string"})
    free = tree.view().select(free_parent=ibis._.node_id).cross_join(keys)
    free = free.anti_join(
        used, (free.free_parent == used.used_parent) & (free.menu_key == used.used_key)
    )
    free = free.group_by("free_parent").agg(
        n_free_keys=free.count(), first_free_key=free.menu_key.min()
    )
    out = tree.left_join(free, tree.node_id == free.free_parent)
    return out.select(
        "node_id",
        "parent_node_id",
        "key",
        "depth",
        "n_children",
        is_leaf=(out.n_children == 0) & (out.node_id != s.root_node_id),
        n_free_keys=out.n_free_keys.fill_null(0).cast("int64"),
        first_free_key=out.first_free_key,
    )


def _chain(nodes: ir.Table, parents: ir.Table, max_depth: int) -> ir.Table:
    """Each node with its ancestors ``a0`` (itself), ``a1`` (parent), ... ``a<max_depth>``.

    One left join per level, so the expression grows linearly with the depth.
    """
    chain = nodes.select(node_id=nodes.node_id.cast("string"), a0=nodes.node_id.cast("string"))
    for k in range(1, max_depth + 1):
        step = parents.view().select(
            **{f"c{k}": ibis._.child.cast("string"), f"p{k}": ibis._.parent.cast("string")}
        )
        j = chain.left_join(step, chain[f"a{k - 1}"] == step[f"c{k}"])
        chain = j.select(*chain.columns, **{f"a{k}": j[f"p{k}"]})
    return chain


def menu_ancestors(tree: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """Every (node, ancestor-or-self) pair of the tree.

    Returns
    -------
    ibis.Table
        One row per node × ancestor (the node itself included): ``node_id, ancestor_id,
        ancestor_depth``.
    """
    parents = tree.filter(tree.parent_node_id.notnull()).select(
        child=tree.node_id, parent=tree.parent_node_id
    )
    chain = _chain(tree.view().select("node_id"), parents, settings.max_depth)
    pairs = ibis.union(
        *[
            chain.filter(chain[f"a{k}"].notnull()).select("node_id", ancestor_id=chain[f"a{k}"])
            for k in range(settings.max_depth + 1)
        ],
        distinct=True,
    )
    depths = tree.select(depth_node_id=tree.node_id, ancestor_depth=tree.depth)
    j = pairs.join(depths, pairs.ancestor_id == depths.depth_node_id)
    return j.select("node_id", "ancestor_id", "ancestor_depth")


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


def _under(ancestors: ir.Table, node: str, anc: str) -> ir.Table:
    """The ancestor pairs renamed: ``node`` lies in the subtree of ``anc``."""
    ancestors = ancestors.view()
    return ancestors.select(**{node: ancestors.node_id, anc: ancestors.ancestor_id})


def _subtree_calls(ancestors: ir.Table, calls: ir.Table) -> ir.Table:
    """Per node: calls whose target leaf lies under it, and the transfers among them."""
    u = _under(ancestors, "u_target", "u_node")
    j = calls.join(u, calls.target_node_id == u.u_target)
    return j.group_by(sub_node_id=j.u_node).agg(
        n_calls_under=j.n_calls.sum(), n_transfer_calls_under=j.n_transfer_calls.sum()
    )


def _empty_evidence() -> dict[str, ir.Value]:
    return {
        "error_rate": ibis.null("float64"),
        "median_error_rate": ibis.null("float64"),
        "n_excess_errors_per_month": ibis.null("float64"),
    }


def menu_recommendations(
    cube: ir.Table,
    config: Config,
    settings: MenuDesignSettings,
    tree: ir.Table | None = None,
    ancestors: ir.Table | None = None,
) -> ir.Table:
    """``mart_ivr_menu_recommendations``: proposed menu changes ranked by estimated benefit.

    Parameters
    ----------
    cube
        The replay cube (:func:`menu_replay_cube`).
    config
        Prices an avoided transfer (``agent_channel``'s cost per contact) and, unless
        ``ivr_cost_per_second_yuan`` is set, a second in the IVR (``ivr_channel``'s cost per
        contact / observed mean call seconds).
    tree, ancestors
        :func:`replay_tree` and :func:`menu_ancestors` of ``cube`` when already computed
        (computed here otherwise).

    Returns
    -------
    ibis.Table
        One row per recommendation: ``rank`` (1 = largest ``est_cost_saved_yuan_per_month``),
        ``kind`` (promote, merge, drop, fix), ``node_id``, ``proposal_key`` (report text key
        ``menu.proposal_<kind>``), ``parent_node_id`` (the new parent for promote, the current
        one otherwise), ``proposed_key``, ``depth``, ``new_depth``, ``n_calls_per_month``
        (calls the change touches), ``gross_seconds_saved_per_month``,
        ``prompt_seconds_added_per_month``, ``error_rate``, ``median_error_rate``,
        ``n_excess_errors_per_month``, ``main_error_kind`` (fix only: the error kind with the
        largest excess, one of timeouts, invalid, wrong_turns, zero_outs, hang_ups), ``est_caller_seconds_saved_per_month``,
        ``est_transfers_avoided_per_month``, ``est_cost_saved_yuan_per_month``,
        ``months_observed``. Only rows above ``min_cost_saved_yuan_per_month`` are kept.
    """
    s = settings
    months = _months(cube, s)
    tree = replay_tree(cube, s) if tree is None else tree
    ancestors = menu_ancestors(tree, s) if ancestors is None else ancestors
    targeted = _with_targets(cube, tree)
    calls = _target_calls(targeted, s)
    time_at = _target_node_time(targeted)
    nodes = node_measures(cube, tree, s)
    sub = _subtree_calls(ancestors, calls)
    nodes = nodes.left_join(sub, nodes.node_id == sub.sub_node_id)
    nodes = nodes.select(*[n for n in nodes.columns if n not in ("sub_node_id",)]).mutate(
        n_calls_under=ibis._.n_calls_under.fill_null(0),
        n_transfer_calls_under=ibis._.n_transfer_calls_under.fill_null(0),
    )
    total_known = calls.n_calls.sum().as_scalar()
    n_calls_all = cube.filter(cube.next_node_id.isnull()).n_events.sum().as_scalar()
    call_seconds = cube.seconds_to_next.sum().as_scalar()
    agent_cost = config.channel(s.agent_channel).cost_per_contact_yuan
    if s.ivr_cost_per_second_yuan is not None:
        per_second = ibis.literal(float(s.ivr_cost_per_second_yuan))
    else:
        ivr_cost = config.channel(s.ivr_channel).cost_per_contact_yuan
        per_second = ibis.literal(float(ivr_cost)) / (call_seconds / n_calls_all).nullif(0.0)
    nodes = nodes.mutate(
        share_under=nodes.n_calls_under.cast("float64") / total_known.nullif(0),
        transfer_share_under=nodes.n_transfer_calls_under.cast("float64")
        / nodes.n_calls_under.nullif(0),
    )
    parent_info = nodes.view()
    parent_info = parent_info.select(
        pi_node_id=parent_info.node_id,
        pi_prompts=parent_info.n_prompts,
        pi_free=parent_info.n_free_keys,
        pi_first_free=parent_info.first_free_key,
        pi_depth=parent_info.depth,
    )
    opt = s.seconds_per_added_option
    # Zero-outs per node and the known-target arrivals there (to share them out by target).
    arrivals_known = time_at.group_by(ak_node_id=time_at.node_id).agg(
        n_arrivals_known=time_at.n_arrivals.sum()
    )

    parts = [
        _promotions(nodes, ancestors, time_at, arrivals_known, parent_info, s, opt),
        _merges(nodes, time_at, arrivals_known, parent_info, ancestors, s, opt),
        _drops(nodes, parent_info, s, opt),
        _fixes(nodes, s),
    ]
    recs = ibis.union(*parts)
    recs = recs.mutate(
        n_calls_per_month=recs.n_calls / months,
        gross_seconds_saved_per_month=recs.gross_seconds / months,
        prompt_seconds_added_per_month=recs.added_seconds / months,
        est_caller_seconds_saved_per_month=(recs.gross_seconds - recs.added_seconds) / months,
        est_transfers_avoided_per_month=recs.transfers_avoided / months,
        n_excess_errors_per_month=recs.n_excess_errors_per_month / months,
        months_observed=months,
    )
    recs = recs.mutate(
        est_cost_saved_yuan_per_month=recs.est_caller_seconds_saved_per_month
        * per_second.fill_null(0.0)
        + recs.est_transfers_avoided_per_month * float(agent_cost)
    )
    recs = recs.filter(recs.est_cost_saved_yuan_per_month > s.min_cost_saved_yuan_per_month)
    ranked = recs.mutate(
        rank=ibis.row_number().over(
            ibis.window(
                order_by=[
                    ibis.desc(recs.est_cost_saved_yuan_per_month),
                    ibis.desc(recs.est_caller_seconds_saved_per_month),
                    recs.kind,
                    recs.node_id,
                ]
            )
        )
        + 1
    )
    return ranked.select(
        ranked["rank"].cast("int64"),
        "kind",
        "node_id",
        proposal_key=ibis.literal("menu.proposal_") + ranked.kind,
        parent_node_id=ranked.parent_node_id,
        proposed_key=ranked.proposed_key,
        depth=ranked.depth.cast("int64"),
        new_depth=ranked.new_depth.cast("int64"),
        n_calls_per_month=ranked.n_calls_per_month,
        gross_seconds_saved_per_month=ranked.gross_seconds_saved_per_month,
        prompt_seconds_added_per_month=ranked.prompt_seconds_added_per_month,
        error_rate=ranked.error_rate,
        median_error_rate=ranked.median_error_rate,
        n_excess_errors_per_month=ranked.n_excess_errors_per_month,
        main_error_kind=ranked.main_error_kind,
        est_caller_seconds_saved_per_month=ranked.est_caller_seconds_saved_per_month,
        est_transfers_avoided_per_month=ranked.est_transfers_avoided_per_month,
        est_cost_saved_yuan_per_month=ranked.est_cost_saved_yuan_per_month,
        months_observed=ranked.months_observed,
    ).order_by("rank")


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


# --------------------------------------------------------------------------------------------
# Pipeline steps
# --------------------------------------------------------------------------------------------


def build_menu_replay(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_replay``: the replay cube from ``stg_ivr_events``.

    Returns
    -------
    dict
        ``int_ivr_menu_replay`` (see :func:`menu_replay_cube` for its grain).
    """
    settings = menu_design_settings_from_config(config)
    return {REPLAY_TABLE: menu_replay_cube(tables["stg_ivr_events"], settings)}


def build_menu_design(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_design``: the ranked recommendations.

    Parameters
    ----------
    tables
        ``int_ivr_menu_replay`` (as the pipeline's ``ivr_menu_replay`` step writes it) or, when
        it is absent, ``stg_ivr_events`` (the cube is then built inline and returned too).

    Returns
    -------
    dict
        ``mart_ivr_menu_recommendations`` (one row per recommendation, see
        :func:`menu_recommendations`), plus ``int_ivr_menu_replay`` when built here.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> from touchpoint.config import load_config
    >>> t0 = dt.datetime(2024, 3, 1, 9)
    >>> events = ibis.memtable({"call_id": ["c1"] * 3, "seq": [1, 2, 3],
    ...     "event_at": [t0, t0 + dt.timedelta(seconds=5), t0 + dt.timedelta(seconds=9)],
    ...     "node_id": ["root", "root", "n1"], "event_type": ["call_start", "key", "hang_up"],
    ...     "key": [None, "1", None]})
    >>> marts = build_menu_design({"stg_ivr_events": events}, load_config())
    >>> sorted(marts)
    ['int_ivr_menu_replay', 'mart_ivr_menu_recommendations']
    """
    settings = menu_design_settings_from_config(config)
    out: dict[str, ir.Table] = {}
    cube = tables.get(REPLAY_TABLE)
    if cube is None:
        cube = out[REPLAY_TABLE] = menu_replay_cube(tables["stg_ivr_events"], settings)
    out[RECOMMENDATIONS_MART] = menu_recommendations(cube, config, settings)
    return out
