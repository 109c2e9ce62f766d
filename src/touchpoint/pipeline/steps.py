"""``STEPS``: every registered step in the order it runs (kept for callers of the old list).

The steps themselves are declared by each capability (its ``STEPS`` in its ``__init__.py``) and
ordered by :func:`touchpoint.pipeline.registry.pipeline_steps`.
"""

from __future__ import annotations

from typing import Any

from touchpoint.pipeline.registry import pipeline_steps


def __getattr__(name: str) -> Any:
    # Computed when first read, so that importing the pipeline never fails on a bad
    # registration: `touchpoint run` reports it as one line instead.
    if name == "STEPS":
        return list(pipeline_steps())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
