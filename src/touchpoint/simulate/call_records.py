"""Call detail records of the simulated hotline (optional: ``simulate(call_records=...)``).

The world's hotline calls are replayed through an agent queue of ``agents`` agents, first
come first served, with callers who hang up after an exponential patience of mean
``patience_seconds`` (M/M/n+M when arrivals are Poisson; here they follow the world's days
and hours): a caller enters the queue when the IVR transfers them, takes the first agent
free if that comes before their patience runs out, and is then served for the agent time the
world drew for the call. Calls that stay in the IVR get their IVR times and outcome. The
patience is the planted truth (``truth/call_records.json``) that
:func:`touchpoint.capacity.mean_patience` must recover from the ingested records.

The other files are not changed (the world's contacts keep their agent legs): the records
are a replay of the same calls through a queue, written beside them, and the same seed gives
the same files, with or without them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.chunk import Chunk
from touchpoint.simulate.hotline import OUTCOME_ABANDONED, OUTCOME_RESOLVED
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.tables import contract_table, id_numbers, ids

QUEUE = "hotline"


@dataclass(frozen=True)
class CallRecordSettings:
    """The queue the hotline's calls are replayed through."""

    agents: int = 2
    patience_seconds: float = 90.0

    def __post_init__(self) -> None:
        if self.agents < 1 or not self.patience_seconds > 0:
            raise ValueError(
                f"call records need at least one agent and a positive patience, got "
                f"agents={self.agents}, patience_seconds={self.patience_seconds}"
            )


def chunk_calls(chunk: Chunk) -> pa.Table:
    """What the replay needs of a chunk's hotline calls (kept until every chunk is done)."""
    calls = chunk.calls
    customers = chunk.population.index[calls.customer]
    return pa.table(
        {
            "number": id_numbers(customers, calls.month),
            "customer": customers,
            "start_us": calls.start_us,
            "ivr_end_us": calls.ivr_end_us,
            "transferred": calls.is_transferred,
            "handle_us": np.where(
                calls.is_transferred, calls.agent_end_us - calls.agent_start_us, 0
            ),
            "ivr_outcome": calls.ivr_outcome,
            "key": calls.key,
        }
    )


def _queue(
    arrive: np.ndarray, handle: np.ndarray, patience: np.ndarray, agents: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FCFS with abandonment: each call's answer time (-1 if it hung up) and agent (-1)."""
    free = [(0, a) for a in range(agents)]  # (free from, agent), earliest first
    answered = np.full(len(arrive), -1, dtype=np.int64)
    agent = np.full(len(arrive), -1, dtype=np.int64)
    for i in range(len(arrive)):
        start = max(int(arrive[i]), free[0][0])
        if start - arrive[i] > patience[i]:
            continue  # hangs up first: the agent stays free for the next caller
        _, who = heapq.heapreplace(free, (start + int(handle[i]), free[0][1]))
        answered[i], agent[i] = start, who
    return answered, agent, patience


def call_records_table(calls: pa.Table, settings: CallRecordSettings) -> tuple[pa.Table, dict]:
    """The contract's ``call_records`` rows of the hotline calls, and the planted truth."""
    calls = calls.sort_by([("ivr_end_us", "ascending"), ("number", "ascending")])
    c = {name: calls.column(name).to_numpy() for name in calls.column_names}
    n = len(c["number"])
    transferred = c["transferred"].astype(bool)
    patience = (
        kr.exponential(
            kr.fold(c["key"].astype(np.uint64), Site.PATIENCE), settings.patience_seconds
        )
        * 1e6
    ).astype(np.int64)
    t = np.flatnonzero(transferred)
    answered_t, agent_t, _ = _queue(
        c["ivr_end_us"][t], c["handle_us"][t], patience[t], settings.agents
    )
    answered = np.full(n, -1, dtype=np.int64)
    agent = np.full(n, -1, dtype=np.int64)
    answered[t], agent[t] = answered_t, agent_t
    served = answered >= 0
    hung_up = transferred & ~served
    queue_exit = np.where(served, answered, c["ivr_end_us"] + patience)

    def stamps(values: np.ndarray, present: np.ndarray) -> pa.Array:
        return pa.array(values.astype("datetime64[us]"), pa.timestamp("us"), mask=~present)

    outcome = np.where(
        served,
        "served",
        np.where(
            hung_up | (c["ivr_outcome"] == OUTCOME_ABANDONED),
            "abandoned",
            np.where(c["ivr_outcome"] == OUTCOME_RESOLVED, "self_service", "other"),
        ),
    ).astype(object)
    agent_ids = pa.array([f"Q{a:03d}" if a >= 0 else None for a in agent.tolist()], pa.string())
    customer_ids = pa.array([f"C{x:08d}" for x in c["customer"].tolist()], pa.string())
    table = contract_table(
        "call_records",
        {
            "call_id": ids("H", c["number"]),
            "arrived_at": stamps(c["start_us"], np.ones(n, bool)),
            "ivr_exit": stamps(c["ivr_end_us"], np.ones(n, bool)),
            "queue_start": stamps(c["ivr_end_us"], transferred),
            "queue_exit": stamps(queue_exit, transferred),
            "service_start": stamps(answered, served),
            "service_end": stamps(answered + c["handle_us"], served),
            "outcome": outcome,
            "agent_id": agent_ids,
            "queue": pa.array(np.full(n, QUEUE, dtype=object), pa.string()),
            "call_type": pa.nulls(n, pa.string()),
            "priority": pa.nulls(n, pa.int64()),
            "customer_id": customer_ids,
            "msisdn": pa.nulls(n, pa.string()),
        },
    )
    truth = {
        "agents": settings.agents,
        "patience_seconds": settings.patience_seconds,
        "queue": QUEUE,
        "n_calls": int(n),
        "n_queued": int(transferred.sum()),
        "n_served": int(served.sum()),
        "n_hung_up_waiting": int(hung_up.sum()),
    }
    return table, truth
