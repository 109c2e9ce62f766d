"""The pipeline's steps, in the order they run: a step comes after those whose tables it reads.

Each capability adds its steps here; ``touchpoint run`` runs those whose inputs exist.
"""

from __future__ import annotations

from touchpoint import channels
from touchpoint.pipeline.registry import Step

STEPS: list[Step] = [
    Step(
        "channels_cubes",
        inputs=channels.CUBES_INPUTS[0],
        optional_inputs=channels.CUBES_INPUTS[1],
        build=channels.build_cubes,
        description="daily contact volume and hotline-call cubes: repeats, escalation, cost",
    ),
    Step(
        "channels",
        inputs=channels.MARTS_INPUTS[0],
        optional_inputs=channels.MARTS_INPUTS[1],
        build=channels.build_marts,
        description="channel KPIs by period and dimension, repeats, escalation, headline KPIs",
    ),
]

from touchpoint import ivr  # noqa: E402

STEPS += [
    Step(
        "ivr_cubes",
        inputs=ivr.CUBES_INPUTS[0],
        optional_inputs=ivr.CUBES_INPUTS[1],
        build=ivr.build_cubes,
        description="IVR node statistics, moves between nodes, daily call cube and path cube",
    ),
    Step(
        "ivr",
        inputs=ivr.MARTS_INPUTS[0],
        optional_inputs=ivr.MARTS_INPUTS[1],
        build=ivr.build_marts,
        description="IVR menu tree, node table, lost points, graph, paths, containment, KPIs",
    ),
]
