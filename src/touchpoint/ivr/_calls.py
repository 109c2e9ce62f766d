"""IVR calls: how each call went (path, ending, time to self service), whether it was
contained (plain and verified, docs/metrics.md), and the summaries built on that."""

from __future__ import annotations

import ibis

from touchpoint.channels import clean_contacts, last_ivr_events
from touchpoint.contract.columns import require_columns
from touchpoint.ivr._journeys import EVENT_COLUMNS, seconds_between
from touchpoint.ivr._nodes import exit_kind
from touchpoint.ivr._settings import IvrSettings


def call_endings(ivr_events: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """How each IVR call ended, straight from the events (no window: cheap).

    Parameters
    ----------
    ivr_events
        ``stg_ivr_events`` (or :func:`touchpoint.ivr.event_steps`).

    Returns
    -------
    ibis.Table
        One row per ``call_id``: ``first_event_at, last_event_at, last_event_type,
        last_node_id, n_events, exit_kind`` (see :func:`touchpoint.ivr.exit_kind`): the
        channel analytics' :func:`touchpoint.channels.last_ivr_events` under the IVR's
        names, so both capabilities agree on how a call ended.
    """
    require_columns(ivr_events, "ivr_events", EVENT_COLUMNS)
    ended = last_ivr_events(ivr_events)
    calls = ended.select(
        "call_id",
        first_event_at=ended.first_ivr_event_at,
        last_event_at=ended.last_ivr_event_at,
        last_event_type=ended.last_event_type,
        last_node_id=ended.last_node_id,
        n_events=ended.n_ivr_events,
    )
    return calls.mutate(exit_kind=exit_kind(calls.last_event_type, settings))


def call_journeys(steps: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """Each IVR call as a journey: its ending and the path it took.

    Parameters
    ----------
    steps
        :func:`touchpoint.ivr.event_steps`.

    Returns
    -------
    ibis.Table
        One row per ``call_id``: the columns of :func:`call_endings`, ``n_visits`` and
        ``path`` (the visited nodes in order, joined by ``settings.path_separator``).
    """
    s = steps
    calls = s.group_by("call_id").agg(
        first_event_at=s.event_at.min(),
        last_event_at=s.event_at.max(),
        last_event_type=s.event_type.max(where=s.is_last),
        last_node_id=s.node_id.max(where=s.is_last),
        n_events=s.count(),
        n_visits=s.is_visit_start.sum(),
        # The visited nodes in ``seq`` order: collected as (seq, node) pairs and sorted as a
        # list, which DuckDB runs twice as fast as an ordered ``group_concat`` aggregate.
        path=ibis.struct({"seq": s.seq, "node_id": s.node_id})
        .collect(where=s.is_visit_start)
        .sort()
        .map(lambda visit: visit.node_id)
        .join(settings.path_separator),
    )
    return calls.mutate(exit_kind=exit_kind(calls.last_event_type, settings))


#: The first visits of a call spelled in columns of their own when its path is written (the
#: visits ranked by a window, which DuckDB spills); the rest of a longer call's visits are
#: collected as a list, for those calls only. A list for every call is held in DuckDB's
#: memory, not spilled: the path cube of 1 M customers needed 1.5–2 GB that way, more than a
#: tenth of the cap a 10 M world gets (docs/scale.md). At 1 M, 99.9 % of calls have at most
#: 9 visits (20 the most).
PATH_COLUMNS = 12


def visit_journeys(
    visits: ibis.Table, settings: IvrSettings, *, path_columns: int = PATH_COLUMNS
) -> ibis.Table:
    """:func:`call_journeys` from the visits of :func:`touchpoint.ivr.visit_table` (one row per
    visit, not per event): the same rows and values.

    ``path_columns``: the visits spelled by rank (:data:`PATH_COLUMNS`); a call's later
    visits are collected as a list.

    Returns
    -------
    ibis.Table
        One row per ``call_id``: the columns of :func:`call_journeys`.
    """
    # A visit's last event orders the visits as their first events do.
    rank = ibis.row_number().over(group_by=visits.call_id, order_by=visits.seq)
    v = visits.mutate(_rank=rank)
    heads = {f"_node_{k}": v.node_id.max(where=v._rank == k) for k in range(path_columns)}
    calls = v.group_by("call_id").agg(
        first_event_at=v.call_started_at.min(),
        last_event_at=v.call_ended_at.max(),
        last_event_type=v.end_event_type.max(where=v.is_call_end),
        last_node_id=v.node_id.max(where=v.is_call_end),
        n_events=v.n_call_events.max(),
        n_visits=v.count(),
        **heads,
    )
    later = v.filter(v._rank >= path_columns)
    tails = later.group_by(call_id_t=later.call_id).agg(
        _tail=ibis.struct({"seq": later.seq, "node_id": later.node_id})
        .collect()
        .sort()
        .map(lambda visit: visit.node_id)
        .join(settings.path_separator)
    )
    j = calls.left_join(tails, calls.call_id == tails.call_id_t)
    separator = ibis.literal(settings.path_separator)
    head = separator.join([j[name] for name in heads])  # CONCAT_WS: the missing ranks skipped
    path = ibis.ifelse(j._tail.isnull(), head, head.concat(separator, j._tail))
    journeys = j.mutate(path=path).drop("call_id_t", "_tail", *heads)
    return journeys.mutate(exit_kind=exit_kind(journeys.last_event_type, settings))


def visit_endings(visits: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """:func:`call_endings` from the visits of :func:`touchpoint.ivr.visit_table`: the visit
    holding the call's highest ``seq`` carries the call's ending (no aggregation).

    Returns
    -------
    ibis.Table
        One row per ``call_id``: the columns of :func:`call_endings`.
    """
    v = visits.filter(visits.is_final)
    calls = v.select(
        "call_id",
        first_event_at=v.call_started_at,
        last_event_at=v.call_ended_at,
        last_event_type=v.end_event_type,
        last_node_id=v.node_id,
        n_events=v.n_call_events,
    )
    return calls.mutate(exit_kind=exit_kind(calls.last_event_type, settings))


def ivr_call_facts(contacts: ibis.Table, endings: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """Hotline calls with their IVR journey, containment and verification.

    A hotline call is an IVR ``contacts`` row (channel ``ivr_channel`` of the channel
    settings) whose ``call_id`` has IVR events; its business and region are those of the row.
    It is *contained* when its last IVR event is not the transfer event; *completed* when the
    last event is the self-service completion; *re-contacted* when completed and the same
    customer starts another contact about the same business, in any channel (rows sharing the
    call's ``call_id`` excluded), after the row's ``ended_at`` and at most
    ``settings.verified_window_hours`` later; *verified* when completed and not re-contacted
    (docs/metrics.md ``ivr_verified_containment_rate``). Its self-service time is the last
    event's time minus the first event's (completed calls only).

    Parameters
    ----------
    contacts
        ``stg_contacts``.
    endings
        :func:`call_endings` (or :func:`call_journeys`).

    Returns
    -------
    ibis.Table
        One row per hotline call with IVR events: ``contact_id, call_id, customer_id,
        started_at, ended_at, call_date, region, business, last_event_type, last_node_id,
        exit_kind, is_contained, is_completed, is_recontacted, is_verified,
        call_seconds, self_service_seconds``.
    """
    channel_settings = settings.channels
    clean = clean_contacts(contacts, channel_settings)
    ivr_rows = clean.filter(
        (clean.channel == channel_settings.ivr_channel) & clean.call_key.notnull()
    )
    # Which completed calls' rows are followed by a same-business contact within the window:
    # only those can be re-contacted. The endings are read twice (here and in the join
    # below), so they should be a table or a cheap filter of one (the visits' final rows, as
    # the pipeline passes): from the events they would be aggregated twice.
    done = endings.filter(endings.last_event_type == settings.complete_event_type)
    done = done.select(done_call_id="call_id")
    searched = ivr_rows.join(done, ivr_rows.call_key == done.done_call_id)
    window = ibis.interval(seconds=settings.verified_window_seconds)
    first = searched.select("contact_id", "customer_id", "business", "ended_at", "call_key")
    other = clean.select(
        o_customer_id="customer_id",
        o_business="business",
        o_started_at="started_at",
        o_call_key="call_key",
    )
    pairs = first.join(
        other,
        [
            first.customer_id == other.o_customer_id,
            first.business == other.o_business,
            other.o_started_at > first.ended_at,
            other.o_started_at <= first.ended_at + window,
        ],
    )
    pairs = pairs.filter((pairs.o_call_key != pairs.call_key).fill_null(True))
    followed = pairs.select(followed_contact_id=pairs.contact_id).distinct()
    rows = ivr_rows.left_join(followed, ivr_rows.contact_id == followed.followed_contact_id)
    rows = rows.select(*ivr_rows.columns, is_followed=rows.followed_contact_id.notnull())
    j = rows.join(endings, rows.call_key == endings.call_id)
    completed = j.last_event_type == settings.complete_event_type
    recontacted = completed & j.is_followed
    return j.select(
        "contact_id",
        "call_id",
        "customer_id",
        "started_at",
        "ended_at",
        "region",
        "business",
        "last_event_type",
        "last_node_id",
        "exit_kind",
        call_date=j.started_at.date(),
        is_contained=j.last_event_type != settings.transfer_event_type,
        is_completed=completed,
        call_seconds=seconds_between(j.last_event_at, j.first_event_at),
        self_service_seconds=ibis.ifelse(
            completed, seconds_between(j.last_event_at, j.first_event_at), ibis.null("float64")
        ),
        is_recontacted=recontacted,
        is_verified=completed & ~j.is_followed,
    )


#: Grouping columns of the daily IVR call cube (``mart_ivr_calls_daily``).
CALL_CUBE_KEYS = ("call_date", "region", "business", "last_node_id", "exit_kind")


def call_cube(facts: ibis.Table) -> ibis.Table:
    """``mart_ivr_calls_daily``: the additive call figures at the finest reported grain.

    Parameters
    ----------
    facts
        :func:`ivr_call_facts`.

    Returns
    -------
    ibis.Table
        One row per call date × region × business × last node × exit kind: ``n_calls,
        n_contained, n_completed, n_recontacted, n_verified, total_call_seconds,
        total_self_service_seconds``.
    """
    f = facts
    return f.group_by(list(CALL_CUBE_KEYS)).agg(
        n_calls=f.count(),
        n_contained=f.is_contained.sum(),
        n_completed=f.is_completed.sum(),
        n_recontacted=f.is_recontacted.sum(),
        n_verified=f.is_verified.sum(),
        total_call_seconds=f.call_seconds.sum(),
        total_self_service_seconds=f.self_service_seconds.sum(),
    )


def path_cube(journeys: ibis.Table) -> ibis.Table:
    """``mart_ivr_paths_all``: every distinct path with its endings.

    Returns
    -------
    ibis.Table
        One row per path × exit kind: ``path, exit_kind, n_visits, n_calls,
        total_call_seconds``.
    """
    j = journeys
    return j.group_by(["path", "exit_kind"]).agg(
        n_visits=j.n_visits.max(),
        n_calls=j.count(),
        total_call_seconds=seconds_between(j.last_event_at, j.first_event_at).sum(),
    )


def top_paths(paths: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """``mart_ivr_paths``: the most frequent paths with their outcomes.

    Parameters
    ----------
    paths
        :func:`path_cube`.

    Returns
    -------
    ibis.Table
        One row per path, the ``settings.top_paths`` most frequent: ``path_rank, path,
        n_visits, n_calls, call_share`` (of all calls), ``n_<kind>`` for each exit kind,
        ``completion_rate, mean_call_seconds``.
    """
    from touchpoint.ivr._nodes import EXIT_KINDS

    p = paths
    per_path = p.group_by("path").agg(
        n_visits=p.n_visits.max(),
        n_calls=p.n_calls.sum(),
        total_call_seconds=p.total_call_seconds.sum(),
        **{f"n_{k}": p.n_calls.sum(where=p.exit_kind == k).fill_null(0) for k in EXIT_KINDS},
    )
    total = per_path.n_calls.sum().over(ibis.window())
    ranked = per_path.mutate(
        path_rank=ibis.row_number().over(order_by=[ibis.desc("n_calls"), "path"]) + 1,
        call_share=per_path.n_calls / total,
        completion_rate=per_path.n_self_service_complete / per_path.n_calls,
        mean_call_seconds=per_path.total_call_seconds / per_path.n_calls,
    )
    ranked = ranked.filter(ranked.path_rank <= settings.top_paths)
    return ranked.select(
        "path_rank",
        "path",
        "n_visits",
        "n_calls",
        "call_share",
        *[f"n_{k}" for k in EXIT_KINDS],
        "completion_rate",
        "mean_call_seconds",
    ).order_by("path_rank")


def _rates(t: ibis.Table, settings: IvrSettings) -> ibis.Table:
    return t.mutate(
        ivr_containment_rate=ibis.ifelse(t.n_calls > 0, t.n_contained / t.n_calls, ibis.null()),
        ivr_verified_containment_rate=ibis.ifelse(
            t.n_calls > 0, t.n_verified / t.n_calls, ibis.null()
        ),
        mean_self_service_seconds=ibis.ifelse(
            t.n_completed > 0, t.total_self_service_seconds / t.n_completed, ibis.null()
        ),
        verified_window_hours=ibis.literal(float(settings.verified_window_hours)),
    ).drop("total_self_service_seconds")


def containment(cube: ibis.Table, by: str | None, settings: IvrSettings) -> ibis.Table:
    """Plain and verified containment (docs/metrics.md), overall or by one dimension.

    Parameters
    ----------
    cube
        :func:`call_cube` (``mart_ivr_calls_daily``).
    by
        ``None`` (one row), ``"business"``, ``"region"`` or another cube column.

    Returns
    -------
    ibis.Table
        One row per value of ``by``: ``dimension, dimension_value`` (``"all"`` for both when
        ``by`` is None), ``n_calls, n_contained, n_completed, n_recontacted, n_verified,
        ivr_containment_rate, ivr_verified_containment_rate, mean_self_service_seconds,
        verified_window_hours``.
    """
    c = cube
    sums = {
        name: c[name].sum().fill_null(0)
        for name in ("n_calls", "n_contained", "n_completed", "n_recontacted", "n_verified")
    }
    sums["total_self_service_seconds"] = c.total_self_service_seconds.sum()
    if by is None:
        t = c.aggregate(**sums).mutate(
            dimension=ibis.literal("all"), dimension_value=ibis.literal("all")
        )
    else:
        t = c.group_by(dimension_value=c[by].cast("string")).agg(**sums)
        t = t.mutate(dimension=ibis.literal(by))
    t = _rates(t, settings)
    return t.select(
        "dimension", "dimension_value", *[x for x in t.columns if not x.startswith("dimension")]
    )


def containment_all(cube: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """``mart_ivr_containment``: :func:`containment` overall, by business and by region.

    Returns
    -------
    ibis.Table
        One row per dimension (``all``, ``business``, ``region``) × value.
    """
    parts = [containment(cube, by, settings) for by in (None, "business", "region")]
    return ibis.union(*parts).order_by(["dimension", "dimension_value"])


def ivr_kpis(cube: ibis.Table, settings: IvrSettings) -> ibis.Table:
    """``mart_ivr_kpis``: the IVR headline figures, named as in docs/metrics.md.

    Returns
    -------
    ibis.Table
        One row: ``ivr_containment_rate, ivr_verified_containment_rate,
        mean_self_service_seconds, n_ivr_calls, n_ivr_contained, n_ivr_verified,
        verified_window_hours``.
    """
    t = containment(cube, None, settings)
    return t.select(
        "ivr_containment_rate",
        "ivr_verified_containment_rate",
        "mean_self_service_seconds",
        n_ivr_calls=t.n_calls,
        n_ivr_contained=t.n_contained,
        n_ivr_verified=t.n_verified,
        verified_window_hours=t.verified_window_hours,
    )
