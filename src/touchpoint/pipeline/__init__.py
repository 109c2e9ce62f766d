"""The analytics pipeline: run every step whose inputs exist and write its marts.

>>> from touchpoint.pipeline import STEPS
>>> STEPS[0].name
'channels_cubes'
"""

from touchpoint.pipeline.registry import Step, StepResult
from touchpoint.pipeline.runner import RUNS_TABLE, run_pipeline
from touchpoint.pipeline.steps import STEPS

__all__ = [
    "RUNS_TABLE",
    "STEPS",
    "Step",
    "StepResult",
    "run_pipeline",
]
