"""Customer behaviour: segments and lifecycle stages (brief §7, issue 14 items 1 and 2).

- **Segments**: :func:`segment_features` (pure Ibis, from the customer 360) gives seven
  behaviour features per customer-month; :class:`CustomerSegmenter` (scikit-learn API:
  standardised features + k-means, k chosen by silhouette or set) groups them. The step
  ``segments`` fits one model on every customer-month and writes ``mart_customer_segments``
  (segment per customer-month), ``mart_segment_profiles`` (size, en/zh name and description
  from the distinguishing features), ``mart_segment_migration`` (month -> month matrix) and
  ``mart_segment_stability`` (share keeping their segment, adjusted Rand index of refits).
- **Lifecycle**: :func:`lifecycle_stages` (pure Ibis; rules from ``defaults.yaml``, section
  ``lifecycle``) gives each customer-month one of new / growing / mature / declining /
  at_risk / churned; the step ``lifecycle`` writes ``mart_customer_lifecycle`` and
  ``mart_lifecycle_transitions``.

docs/segments.md describes the method and the measured figures.
"""

from touchpoint.capability import Step
from touchpoint.segments._build import (
    INPUTS,
    MEMBERS_MART,
    MIGRATION_MART,
    OUTPUTS,
    PROFILES_MART,
    STABILITY_MART,
    assign_segments,
    build,
    make_segmenter,
    segment_tables,
)
from touchpoint.segments._features import segment_features
from touchpoint.segments._lifecycle import (
    LIFECYCLE_INPUTS,
    LIFECYCLE_MART,
    LIFECYCLE_OUTPUTS,
    TRANSITIONS_MART,
    build_lifecycle,
    lifecycle_stages,
    lifecycle_transitions,
    stage_counts,
)
from touchpoint.segments._model import CustomerSegmenter
from touchpoint.segments._profiles import describe, name_segments
from touchpoint.segments._queries import (
    customer_behaviour,
    lifecycle_counts,
    lifecycle_summary,
    lifecycle_transitions_latest,
    segment_migration,
    segment_profiles,
    segment_stability,
)
from touchpoint.segments._settings import (
    STAGES,
    LifecycleSettings,
    SegmentSettings,
    lifecycle_settings_from_config,
    load_lifecycle_settings,
    load_segment_settings,
    segment_settings_from_config,
)

__all__ = [
    "INPUTS",
    "LIFECYCLE_INPUTS",
    "LIFECYCLE_MART",
    "LIFECYCLE_OUTPUTS",
    "MEMBERS_MART",
    "MIGRATION_MART",
    "OUTPUTS",
    "PROFILES_MART",
    "STABILITY_MART",
    "STAGES",
    "STEPS",
    "TRANSITIONS_MART",
    "CustomerSegmenter",
    "LifecycleSettings",
    "SegmentSettings",
    "assign_segments",
    "build",
    "build_lifecycle",
    "customer_behaviour",
    "lifecycle_counts",
    "lifecycle_summary",
    "lifecycle_transitions_latest",
    "segment_migration",
    "segment_profiles",
    "segment_stability",
    "describe",
    "lifecycle_settings_from_config",
    "lifecycle_stages",
    "lifecycle_transitions",
    "load_lifecycle_settings",
    "load_segment_settings",
    "make_segmenter",
    "name_segments",
    "segment_features",
    "segment_settings_from_config",
    "segment_tables",
    "stage_counts",
]

#: The pipeline steps of segments and lifecycle stages.
STEPS = (
    Step(
        "segments",
        inputs=INPUTS[0],
        optional=INPUTS[1],
        outputs=OUTPUTS,
        build=build,
        description="behavioural segments per customer-month, profiles, migration, stability",
        in_memory=True,
    ),
    Step(
        "lifecycle",
        inputs=LIFECYCLE_INPUTS[0],
        optional=LIFECYCLE_INPUTS[1],
        outputs=LIFECYCLE_OUTPUTS,
        build=build_lifecycle,
        description="lifecycle stage per customer-month from configured rules; transitions",
    ),
)
