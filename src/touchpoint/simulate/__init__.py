"""A synthetic operator: realistic multi-channel source files with planted ground truth.

>>> from touchpoint.simulate import simulate
>>> result = simulate("/tmp/tp-doctest-world", customers=500, months=1)  # doctest: +SKIP
>>> sorted(result.files)[:3]  # doctest: +SKIP
['bills', 'campaign_responses', 'complaints']
"""

from touchpoint.simulate.params import SimParams, load_params
from touchpoint.simulate.world import SimulationResult, continue_world, read_work_orders, simulate

__all__ = [
    "SimParams",
    "SimulationResult",
    "continue_world",
    "load_params",
    "read_work_orders",
    "simulate",
]
