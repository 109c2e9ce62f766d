"""Service quality: survey strategies, satisfaction measured honestly, peak–end (issue 16).

- **Survey strategies** (seed 004): :func:`load_strategy` reads a YAML strategy (dimensions
  intersected, rules inside a dimension unioned, exclusions, a daily quota, SMS or IVR);
  :func:`select_surveys` gives the day's survey list (``touchpoint survey select``).

docs/quality.md describes the methods and the measured figures.
"""

from touchpoint.quality._strategy import (
    Dimensions,
    Exclusions,
    Strategy,
    StrategyError,
    TimeWindow,
    eligible_contacts,
    load_strategy,
    select_surveys,
    strategy_from_text,
)

__all__ = [
    "Dimensions",
    "Exclusions",
    "Strategy",
    "StrategyError",
    "TimeWindow",
    "eligible_contacts",
    "load_strategy",
    "select_surveys",
    "strategy_from_text",
]
