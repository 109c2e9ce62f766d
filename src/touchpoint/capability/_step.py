"""A pipeline step as a capability declares it: what it reads, what it writes, how it builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

import ibis

from touchpoint.config import Config
from touchpoint.errors import PipelineError

BuildFunction = Callable[[dict[str, ibis.Table], Config], dict[str, ibis.Table]]


@dataclass(frozen=True)
class Step:
    """One analytics step: the tables it reads and writes, and the pure function that builds them.

    Parameters
    ----------
    name
        The step's name, unique over every capability (``touchpoint run`` shows it).
    inputs
        Tables the step needs (warehouse ``stg_*`` tables or tables other steps write); the
        step is skipped when one is missing.
    outputs
        Tables ``build`` returns, every one of them, every time (the runner checks it).
    build
        ``build(tables, config) -> {table_name: expression}``, pure: given its input tables by
        name it returns unevaluated Ibis expressions; the pipeline writes them.
    optional
        Tables passed when they exist. One of the step's own outputs may be listed here: the
        step then reads the table its previous run wrote (a history it extends).
    description
        One line for ``touchpoint run`` and ``docs/marts.md``.
    in_memory
        The step fits a model or curves in memory (LightGBM, lifelines, scikit-learn), so its
        build is no single query: the house-wide Spark-compile and query-size checks leave it
        to the capability's own test of its Ibis part.

    The pipeline orders the steps from these declarations: a step runs after every step that
    writes one of its inputs or optional inputs.

    Examples
    --------
    >>> step = Step("totals", inputs=("stg_contacts",), outputs=("mart_totals",),
    ...             build=lambda tables, config: {"mart_totals": tables["stg_contacts"].count().as_table()})
    >>> step.reads
    ('stg_contacts',)
    >>> Step("bad", inputs=("mart_x",), outputs=("mart_x",), build=step.build)
    Traceback (most recent call last):
    ...
    touchpoint.errors.PipelineError: step 'bad' requires 'mart_x', which it writes itself; list it under optional= to read the previous run's table
    """

    name: str
    _: KW_ONLY
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    build: BuildFunction
    optional: tuple[str, ...] = ()
    description: str = ""
    in_memory: bool = False

    def __post_init__(self) -> None:
        for field in ("inputs", "outputs", "optional"):
            value = getattr(self, field)
            if isinstance(value, str):
                raise PipelineError(
                    f"step {self.name!r}: {field} must be a tuple of table names, got the "
                    f"string {value!r}; write ({value!r},)"
                )
            object.__setattr__(self, field, tuple(value))
        if not self.name:
            raise PipelineError("a step needs a name")
        if not self.outputs:
            raise PipelineError(f"step {self.name!r} declares no outputs")
        for field in ("inputs", "outputs", "optional"):
            names = getattr(self, field)
            doubled = sorted({n for n in names if names.count(n) > 1})
            if doubled:
                raise PipelineError(f"step {self.name!r} lists {doubled} twice in {field}")
        both = sorted(set(self.inputs) & set(self.optional))
        if both:
            raise PipelineError(f"step {self.name!r} lists {both} as both required and optional")
        own = [n for n in self.inputs if n in self.outputs]
        if own:
            raise PipelineError(
                f"step {self.name!r} requires {own[0]!r}, which it writes itself; list it under "
                "optional= to read the previous run's table"
            )

    @property
    def reads(self) -> tuple[str, ...]:
        """Every table the step may read: its inputs, then its optional inputs."""
        return (*self.inputs, *self.optional)

    def check_outputs(self, built: dict[str, object]) -> None:
        """Refuse a build result that is not exactly the declared outputs.

        Raises
        ------
        PipelineError
            ``step 'x' returned [...] but declares outputs [...]``.
        """
        if set(built) != set(self.outputs):
            extra = sorted(set(built) - set(self.outputs))
            lacking = sorted(set(self.outputs) - set(built))
            raise PipelineError(
                f"step {self.name!r} returned {sorted(built)} but declares outputs "
                f"{sorted(self.outputs)} (undeclared: {extra}, not returned: {lacking}); "
                "make build return exactly its declared outputs"
            )
