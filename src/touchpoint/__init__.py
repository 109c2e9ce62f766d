"""Touchpoint: multi-channel customer-service analytics for mobile operators.

Capabilities live in sub-packages (``ingest``, ``warehouse``, ``simulate``, ``channels``,
``ivr``, ``customers``, ``tags``, ...); each re-exports its public functions in its
``__init__``. Data flows one way: source files -> ``ingest`` -> warehouse tables ->
analytics (pure Ibis functions) -> marts -> CLI, report.
"""

__version__ = "0.1.0"
