"""The ``touchpoint`` command line: a thin adapter over the library.

Each command lives in its own module and registers itself on :data:`app` when imported.
A :class:`~touchpoint.errors.TouchpointError` is printed as one line, exit code 2, no traceback.
"""

from __future__ import annotations

import sys

# Command modules: importing one registers its commands on `app`.
# from touchpoint.cli import <name>_cmd  # noqa: E402,F401  (one line per command module)
from touchpoint.cli import channels_cmd  # noqa: E402,F401
from touchpoint.cli.app import app, err_console
from touchpoint.errors import TouchpointError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``touchpoint`` script."""
    try:
        app(args=argv, standalone_mode=True)
    except TouchpointError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
