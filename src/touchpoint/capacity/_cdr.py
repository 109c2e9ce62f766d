"""Queue figures from call detail records (one row per call), and the callers' patience.

A call detail record (the contract's ``call_records``, ``stg_call_records``) has
``queue_start`` / ``queue_exit`` (entered and left the agent queue; null when the call never
queued), ``service_start`` / ``service_end`` (null when no agent answered) and ``outcome``
(the ``call_outcome`` vocabulary): ``served`` (an agent answered), ``abandoned`` (hung up
before an agent answered: while waiting when ``queue_start`` is given, else in the IVR),
``self_service``, ``other``. A call an agent answered without a queue entry (some exports
leave ``queue_start`` blank when nobody waited) entered the queue when it was answered.

Patience: a caller who was served waited ``w`` seconds *and would have waited longer*, so their
patience is censored at ``w``; one who hung up while waiting showed it (an event at ``w``).
:func:`patience_curve` is the Kaplan-Meier estimate of P(patience > t) (lifelines);
:func:`mean_patience` is the exponential maximum-likelihood estimate that Erlang A assumes,
``(sum of all waits) / (number who hung up)`` (Mandelbaum & Zeltyn: abandonments / waiting
time, the hazard of an exponential patience).
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

SERVED = "served"
ABANDONED = "abandoned"


def queued_calls(cdr: ibis.Table) -> ibis.Table:
    """Calls that reached the agent queue, with ``wait_s``, ``handle_s``, ``abandoned``.

    ``queue_start`` is the queue entry, or the answer when the record has no queue entry.
    """
    entered = ibis.coalesce(
        cdr.queue_start, ibis.ifelse(cdr.outcome == SERVED, cdr.service_start, ibis.null())
    )
    queued = cdr.mutate(queue_start=entered).filter(_.queue_start.notnull())
    wait_end = ibis.coalesce(queued.service_start, queued.queue_exit)
    return queued.mutate(
        wait_s=(wait_end.epoch_seconds() - queued.queue_start.epoch_seconds()).cast("float64"),
        handle_s=(queued.service_end.epoch_seconds() - queued.service_start.epoch_seconds()).cast(
            "float64"
        ),
        abandoned=queued.outcome == ABANDONED,
        served=queued.outcome == SERVED,
    ).filter(_.wait_s.notnull() & (_.wait_s >= 0))


def cdr_intervals(
    cdr: ibis.Table,
    *,
    interval_minutes: int = 30,
    within_seconds: float = 20.0,
    by: tuple[str, ...] = (),
) -> ibis.Table:
    """One row per interval (of queue entry): arrivals, served, abandoned, waits, handle time,
    service level (served within ``within_seconds`` / arrivals) and abandonment share.

    Occupancy is the handle time of the interval's calls over the agent time of the agents
    seen serving in it (``agents x interval``): without login records, agents who took no
    call are not seen, so it is an upper bound. ``by``: further grouping columns (``queue``).
    """
    q = queued_calls(cdr)
    q = q.mutate(interval_start=q.queue_start.bucket(minutes=interval_minutes))
    return (
        q.group_by([*by, "interval_start"])
        .aggregate(
            arrivals=_.count(),
            served=_.served.sum().cast("int64"),
            abandoned=_.abandoned.sum().cast("int64"),
            served_in_time=(_.served & (_.wait_s <= within_seconds)).sum().cast("int64"),
            mean_wait_served_s=_.wait_s.mean(where=_.served),
            mean_handle_s=_.handle_s.mean(where=_.served),
            handle_total_s=_.handle_s.sum(where=_.served),
            agents_seen=_.agent_id.nunique(where=_.served),
        )
        .mutate(
            service_level=_.served_in_time / _.arrivals,
            abandon_share=_.abandoned / _.arrivals,
            occupancy=_.handle_total_s
            / (_.agents_seen.cast("float64") * (interval_minutes * 60.0)).nullif(0),
        )
        .order_by([*by, "interval_start"])
    )


def mean_patience(cdr: ibis.Table) -> float | None:
    """Exponential MLE of the mean patience in seconds (None if nobody hung up).

    Every queued call's wait counts as exposure; each hang-up while waiting is an event.
    """
    q = queued_calls(cdr)
    row = q.aggregate(exposure=q.wait_s.sum(), events=q.abandoned.sum()).to_pandas().iloc[0]
    if not row.events:
        return None
    return float(row.exposure) / float(row.events)


def patience_curve(cdr: ibis.Table) -> pd.DataFrame:
    """Kaplan-Meier P(patience > t) with 95 % interval; served callers are censored.

    Columns ``seconds, survival, lower_95, upper_95, at_risk, hung_up``.
    """
    from lifelines import KaplanMeierFitter

    q = queued_calls(cdr).select("wait_s", "abandoned").to_pandas()
    km = KaplanMeierFitter().fit(q.wait_s, event_observed=q.abandoned.astype(bool))
    ci = km.confidence_interval_survival_function_
    table = km.event_table
    return pd.DataFrame(
        {
            "seconds": km.survival_function_.index.to_numpy(float),
            "survival": km.survival_function_.iloc[:, 0].to_numpy(),
            "lower_95": ci.iloc[:, 0].to_numpy(),
            "upper_95": ci.iloc[:, 1].to_numpy(),
            "at_risk": table["at_risk"].to_numpy(),
            "hung_up": table["observed"].to_numpy(),
        }
    )
