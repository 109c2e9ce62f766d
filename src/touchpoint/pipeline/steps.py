"""The pipeline's steps, in the order they run: a step comes after those whose tables it reads.

Each capability adds its steps here; ``touchpoint run`` runs those whose inputs exist.
"""

from __future__ import annotations

from touchpoint import channels, customers, ivr, tags
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

# IVR journeys (touchpoint.ivr): small cubes read from the events once, then the marts.
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

# Customer analytics (touchpoint.customers): contacts per customer and month, channel
# preference levels, then the customer 360 that reads both.
STEPS += [
    Step(
        "customer_contacts",
        inputs=customers.CONTACTS_INPUTS[0],
        optional_inputs=customers.CONTACTS_INPUTS[1],
        build=customers.build_contacts,
        description="contacts and payments per customer, month, business and channel; cost",
    ),
    Step(
        "channel_preference",
        inputs=customers.PREFERENCE_INPUTS[0],
        optional_inputs=customers.PREFERENCE_INPUTS[1],
        build=customers.build_preference,
        description="channel preference levels per customer, business and channel",
    ),
    Step(
        "customers",
        inputs=customers.C360_INPUTS[0],
        optional_inputs=customers.C360_INPUTS[1],
        build=customers.build_360,
        description="customer 360: profile, value, contacts, cost, satisfaction, levels, tiers",
    ),
]

# Tags (touchpoint.tags) read the customer 360, so they come after it.
STEPS.append(
    Step(
        "tags",
        inputs=tags.INPUTS[0],
        optional_inputs=tags.INPUTS[1],
        build=tags.build,
        description="tag catalogue on the customer 360: monthly membership, lift validation",
    )
)
STEPS.append(
    Step(
        "tags_changes",
        inputs=tags.CHANGES_INPUTS[0],
        optional_inputs=tags.CHANGES_INPUTS[1],
        build=tags.build_changes,
        description="members, entries and exits per tag and month",
    )
)
