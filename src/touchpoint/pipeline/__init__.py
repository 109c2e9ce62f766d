"""The analytics pipeline: order every registered step from what it reads and writes, run
those whose inputs exist, and write their tables to the warehouse.

How a new capability registers
A capability is one package, ``src/touchpoint/<name>/`` (say ``churn``); nothing outside it changes.

1. In ``src/touchpoint/churn/__init__.py``, declare its steps as a tuple named ``STEPS``::

       from touchpoint.capability import Step

       STEPS = (
           Step(
               "churn_scores",                              # unique over all capabilities
               inputs=("mart_customer_360",),               # needed: skipped when one is missing
               optional=("stg_campaign_responses",),        # passed when they exist
               outputs=("mart_churn_scores",),              # exactly what build returns
               build=build_scores,                          # (tables, config) -> {name: expr}
               description="one line for `touchpoint run` and docs/marts.md",
           ),
       )

   ``build`` is a pure Ibis function: ``tables`` maps each input name (and each optional one
   that exists) to its table; it returns one unevaluated expression per declared output, all
   of them, every time (a table that exists only sometimes belongs to a step of its own, with
   the table it depends on as a required input). The order of ``STEPS`` does not matter: the
   pipeline runs a step after every step that writes one of its inputs or optional inputs.
2. Describe every table the steps write in ``src/touchpoint/churn/marts.yaml``: its grain,
   key columns, each column with its type and a one-line meaning, and its invariants
   (``not_null``, ``accepted_values``, ``expressions`` in the tag-rule language); see
   ``channels/marts.yaml`` and :mod:`touchpoint.capability`. The common test
   ``tests/pipeline/test_marts_common.py`` then runs the new steps on the shared simulated
   world, checks each table against its contract and compiles the steps for Spark, with no
   test to write for it (the ``marts.yaml`` is also what makes the package a capability: the
   registry finds it, no list to edit); regenerate ``docs/marts.md`` with
   ``python -m touchpoint.pipeline.doc --write``.
3. Settings, if any: a model deriving from :class:`~touchpoint.config.SectionSettings` (types
   and limits, no default values; class variables ``SECTION = "churn"`` and
   ``DEFAULTS_PATH = Path(__file__).parent / "defaults.yaml"``) with the defaults in
   ``churn/defaults.yaml`` under ``churn:``, and one
   ``SettingsSection(ChurnSettings, "churn", DEFAULTS_PATH)`` (see ``tags/_settings.py``).
   A user's configuration file then takes a top-level ``churn:`` section with no change to
   ``config/``; :func:`check_config` (run by :func:`run_pipeline`) refuses a section no
   capability declares. The hotline's IVR and agent channel ids come from the configuration
   (:meth:`~touchpoint.config.Config.hotline_channel`, or derive the model from
   :class:`~touchpoint.config.HotlineSettings`), not from a setting of one's own.

The package imports the capabilities it reads from, ``touchpoint.capability``,
``touchpoint.config`` and ``touchpoint.errors``; never ``touchpoint.pipeline``, the warehouse,
DuckDB or the adapters (``make lint`` refuses it, with no line to add to ``pyproject.toml``).

A table two steps write, a table a step reads that no step writes and no source provides, and
a cycle are refused in one line (:class:`~touchpoint.errors.PipelineError`) when the steps are
ordered; a build that returns other tables than its step declares is refused before anything
of that step is written.

>>> from touchpoint.pipeline import pipeline_steps
>>> names = [step.name for step in pipeline_steps()]
>>> names.index("channels_cubes") < names.index("channels")
True
"""

from touchpoint.capability import Step
from touchpoint.pipeline._spark_settings import SparkSettings, spark_settings_from_config
from touchpoint.pipeline.registry import (
    CAPABILITIES,
    StepResult,
    check_config,
    order_steps,
    pipeline_steps,
    select_steps,
)
from touchpoint.pipeline.runner import RUNS_TABLE, run_pipeline

__all__ = [
    "CAPABILITIES",
    "RUNS_TABLE",
    "SparkSettings",
    "spark_settings_from_config",
    "STEPS",
    "Step",
    "StepResult",
    "check_config",
    "order_steps",
    "pipeline_steps",
    "run_pipeline",
    "select_steps",
]


def __getattr__(name: str) -> object:
    # STEPS is computed when first read (see touchpoint.pipeline.steps).
    if name == "STEPS":
        return list(pipeline_steps())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
