"""A synthetic operator: realistic multi-channel source files with planted ground truth.

>>> import tempfile
>>> from touchpoint.simulate import simulate
>>> with tempfile.TemporaryDirectory() as out:
...     result = simulate(out, customers=200, months=1, seed=1)
>>> sorted(result.files)[:3]
['bills', 'campaign_responses', 'complaints']
>>> result.n_rows["customers"]
200

Where things are: :mod:`.world` writes the files chunk by chunk; :mod:`.chunk` carries a
chunk's state and runs its months, one process a module (:mod:`.churn`, :mod:`.habits`,
:mod:`.work_orders`, :mod:`.contacts` with :mod:`.hotline` and :mod:`.ivr_walk`,
:mod:`.billing`, :mod:`.customer_events`, :mod:`.surveys`); :mod:`.tables` turns a chunk into
the contract's tables; :mod:`.truth` keeps what was planted.
"""

from touchpoint.simulate.call_records import CallRecordSettings
from touchpoint.simulate.params import SimParams, load_params
from touchpoint.simulate.tables import SIMULATED_ENTITIES
from touchpoint.simulate.world import (
    SimulationResult,
    continue_world,
    parse_shard,
    read_work_orders,
    simulate,
)

__all__ = [
    "SIMULATED_ENTITIES",
    "CallRecordSettings",
    "SimParams",
    "SimulationResult",
    "continue_world",
    "load_params",
    "parse_shard",
    "read_work_orders",
    "simulate",
]
