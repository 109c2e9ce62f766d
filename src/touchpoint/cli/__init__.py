"""The ``touchpoint`` command line: a thin adapter over the library.

Each command lives in its own module and registers itself on :data:`app` when imported.
A :class:`~touchpoint.errors.TouchpointError` is printed as one line, exit code 2, no traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from touchpoint.cli.app import app, err_console
from touchpoint.errors import TouchpointError

# Every module `touchpoint/cli/<name>_cmd.py` registers its commands on `app` when imported;
# discovering them keeps this file free of a list that every new command would have to edit.
for _module in pkgutil.iter_modules(__path__):
    if _module.name.endswith("_cmd"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``touchpoint`` script."""
    try:
        app(args=argv, standalone_mode=True)
    except TouchpointError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
