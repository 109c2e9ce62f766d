"""Steps of the analytics pipeline and the order they run in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis

from touchpoint.config import Config

BuildFunction = Callable[[dict[str, ibis.Table], Config], dict[str, ibis.Table]]


@dataclass(frozen=True)
class Step:
    """One analytics step.

    ``build`` is pure: given its input tables by name (warehouse ``stg_*`` tables or marts made
    by earlier steps) it returns ``{table_name: expression}``; the pipeline writes each one.
    The step runs when every name in ``inputs`` exists; ``optional_inputs`` are passed when
    they exist. Steps run in the order of :data:`touchpoint.pipeline.steps.STEPS`, so a step
    is listed after the steps whose tables it reads.
    """

    name: str
    inputs: tuple[str, ...]
    build: BuildFunction
    optional_inputs: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class StepResult:
    """What one step did: the tables it wrote with their row counts, or why it was skipped."""

    step: str
    tables: dict[str, int]
    seconds: float
    skipped_reason: str | None = None

    @property
    def ran(self) -> bool:
        return self.skipped_reason is None
