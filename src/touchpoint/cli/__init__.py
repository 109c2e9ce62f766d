"""The ``touchpoint`` command line: a thin adapter over the library.

Each command lives in its own module and registers itself on :data:`app` when imported.
Every user error (a :class:`~touchpoint.errors.TouchpointError`, a bad option, an unknown
language) is printed as one line, non-zero exit code, no traceback: see
:class:`~touchpoint.cli.app.TouchpointGroup`.
"""

from __future__ import annotations

import importlib
import pkgutil

from touchpoint.cli.app import app

# Every module `touchpoint/cli/<name>_cmd.py` registers its commands on `app` when imported;
# discovering them keeps this file free of a list that every new command would have to edit.
for _module in pkgutil.iter_modules(__path__):
    if _module.name.endswith("_cmd"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``touchpoint`` script."""
    app(args=argv, standalone_mode=True)
