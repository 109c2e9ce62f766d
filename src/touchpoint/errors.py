"""The exception hierarchy.

Every error Touchpoint raises on purpose derives from :class:`TouchpointError`, and also from
the builtin that best describes it, so callers can catch either. A message says what went
wrong, where (file, row, column), the value seen, the value expected and how to fix it; the
CLI prints it as one line without a traceback.
"""

from __future__ import annotations


class TouchpointError(Exception):
    """Base class of every error Touchpoint raises on purpose."""


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``exc``'s message, else its type's name: a foreign error
    (a Java stack trace, DuckDB's advice after its message) said in one line.

    >>> first_line(RuntimeError("java.lang.OutOfMemoryError: Java heap space\\n\\tat x"))
    'java.lang.OutOfMemoryError: Java heap space'
    >>> first_line(OSError())
    'OSError'
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ConfigError(TouchpointError, ValueError):
    """A configuration file is missing, unreadable or holds a value that is not allowed."""


class SchemaError(TouchpointError, ValueError):
    """Input does not follow the data contract (a whole file, not a single bad row)."""


class InputFileError(TouchpointError, OSError):
    """A source file cannot be found, opened or decoded."""


class WarehouseError(TouchpointError, RuntimeError):
    """The warehouse cannot be opened, or a table it needs is missing."""


class RuleError(TouchpointError, ValueError):
    """A rule (tag, survey strategy, ...) cannot be parsed; the message gives the position."""


class PipelineError(TouchpointError, ValueError):
    """The analytics steps cannot be ordered (a cycle, a table nobody writes) or a step broke
    its declaration (a build returned other tables than it declares)."""
