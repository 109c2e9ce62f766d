"""Stage 2: the proposals of every kind, priced per month and ranked."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from touchpoint.config import Config
from touchpoint.ivr.menu_design._measures import (
    _months,
    _subtree_calls,
    _target_calls,
    _target_node_time,
    _with_targets,
    node_measures,
)
from touchpoint.ivr.menu_design._recommenders import _drops, _fixes, _merges, _promotions
from touchpoint.ivr.menu_design._settings import MenuDesignSettings
from touchpoint.ivr.menu_design._tree import menu_ancestors, replay_tree


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
    nodes = _nodes_with_calls_under(node_measures(cube, tree, s), ancestors, calls)
    parent_info = _parent_info(nodes)
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
    recs = _priced_per_month(
        ibis.union(*parts), months, _per_second_yuan(cube, config, s), config, s
    )
    return _ranked(
        recs.filter(recs.est_cost_saved_yuan_per_month > s.min_cost_saved_yuan_per_month)
    )


def _nodes_with_calls_under(nodes: ir.Table, ancestors: ir.Table, calls: ir.Table) -> ir.Table:
    """``nodes`` with the known-target calls under each node and their shares."""
    sub = _subtree_calls(ancestors, calls)
    nodes = nodes.left_join(sub, nodes.node_id == sub.sub_node_id)
    nodes = nodes.select(*[n for n in nodes.columns if n not in ("sub_node_id",)]).mutate(
        n_calls_under=ibis._.n_calls_under.fill_null(0),
        n_transfer_calls_under=ibis._.n_transfer_calls_under.fill_null(0),
    )
    total_known = calls.n_calls.sum().as_scalar()
    return nodes.mutate(
        share_under=nodes.n_calls_under.cast("float64") / total_known.nullif(0),
        transfer_share_under=nodes.n_transfer_calls_under.cast("float64")
        / nodes.n_calls_under.nullif(0),
    )


def _parent_info(nodes: ir.Table) -> ir.Table:
    """The columns of a node that its children's proposals read, prefixed ``pi_``."""
    parent_info = nodes.view()
    return parent_info.select(
        pi_node_id=parent_info.node_id,
        pi_prompts=parent_info.n_prompts,
        pi_free=parent_info.n_free_keys,
        pi_first_free=parent_info.first_free_key,
        pi_depth=parent_info.depth,
    )


def _per_second_yuan(cube: ir.Table, config: Config, s: MenuDesignSettings) -> ir.Value:
    """What a second in the IVR costs: the setting, or the IVR channel's cost per contact
    over the observed mean call seconds."""
    if s.ivr_cost_per_second_yuan is not None:
        return ibis.literal(float(s.ivr_cost_per_second_yuan))
    n_calls_all = cube.filter(cube.next_node_id.isnull()).n_events.sum().as_scalar()
    call_seconds = cube.seconds_to_next.sum().as_scalar()
    ivr_cost = config.channel(s.ivr_channel).cost_per_contact_yuan
    return ibis.literal(float(ivr_cost)) / (call_seconds / n_calls_all).nullif(0.0)


def _priced_per_month(
    recs: ir.Table, months, per_second: ir.Value, config: Config, s: MenuDesignSettings
) -> ir.Table:
    """The proposals' figures per month, and what they save: caller seconds at
    ``per_second`` plus transfers avoided at the agent channel's cost per contact."""
    agent_cost = config.channel(s.agent_channel).cost_per_contact_yuan
    recs = recs.mutate(
        n_calls_per_month=recs.n_calls / months,
        gross_seconds_saved_per_month=recs.gross_seconds / months,
        prompt_seconds_added_per_month=recs.added_seconds / months,
        est_caller_seconds_saved_per_month=(recs.gross_seconds - recs.added_seconds) / months,
        est_transfers_avoided_per_month=recs.transfers_avoided / months,
        n_excess_errors_per_month=recs.n_excess_errors_per_month / months,
        months_observed=months,
    )
    return recs.mutate(
        est_cost_saved_yuan_per_month=recs.est_caller_seconds_saved_per_month
        * per_second.fill_null(0.0)
        + recs.est_transfers_avoided_per_month * float(agent_cost)
    )


def _ranked(recs: ir.Table) -> ir.Table:
    """Rank 1 = the largest saving (ties: caller seconds, kind, node), in the mart's columns."""
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
