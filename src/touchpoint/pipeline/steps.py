"""The pipeline's steps, in the order they run: a step comes after those whose tables it reads.

Each capability adds its steps here; ``touchpoint run`` runs those whose inputs exist.
"""

from __future__ import annotations

from touchpoint import channels, ivr
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
    Step(
        "ivr_menu_replay",
        inputs=ivr.REPLAY_INPUTS[0],
        optional_inputs=ivr.REPLAY_INPUTS[1],
        build=ivr.build_menu_replay,
        description="IVR steps aggregated by the call's ending and the move (one pass over the events)",
    ),
    Step(
        "ivr_menu_design",
        inputs=ivr.DESIGN_INPUTS[0],
        optional_inputs=ivr.DESIGN_INPUTS[1],
        build=ivr.build_menu_design,
        description="menu recommendations (promote, merge, drop, fix) by replaying the journeys",
    ),
]
