"""The pipeline's steps, in the order they run: a step comes after those whose tables it reads.

Each capability adds its steps here; ``touchpoint run`` runs those whose inputs exist.
"""

from __future__ import annotations

from touchpoint import channels
from touchpoint.pipeline.registry import Step

STEPS: list[Step] = [
    Step(
        "channels_contacts",
        inputs=("stg_contacts",),
        optional_inputs=("stg_customers",),
        build=channels.build_contact_facts,
        description="one fact row per contact: repeats, cost, customer dimensions",
    ),
    Step(
        "channels_calls",
        inputs=(channels.CONTACTS_FACT, "stg_ivr_events"),
        build=channels.build_call_facts,
        description="one fact row per hotline call: containment and IVR -> agent escalation",
    ),
    Step(
        "channels",
        inputs=(channels.CONTACTS_FACT,),
        optional_inputs=(channels.CALLS_FACT,),
        build=channels.build_marts,
        description="channel KPIs, repeats, escalation",
    ),
]
