"""The Typer application, its one error handler, and the options every command shares.

Every failure a person can cause (a missing warehouse, a bad option, an unknown language, a
bad configuration file, an unknown customer, ...) is printed as ONE line on stderr, ``error:
...``, with a non-zero exit code and no traceback, whatever the command. The handler lives in
:class:`TouchpointGroup`, the class of the root command, so it holds for ``touchpoint ...`` on
the shell and for Typer's in-process test runner alike.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from touchpoint.errors import TouchpointError
from touchpoint.labels import check_lang

#: Exit code of a user error (bad input, bad option, missing warehouse, ...).
USER_ERROR = 2

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """Print ``error: message`` as one line on stderr (never read as Rich markup)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


class TouchpointGroup(TyperGroup):
    """The root command: runs a command and turns every user error into one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # the caller handles errors itself
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:  # Typer's (vendored) click errors: bad options, ...
            sys.exit(_usage_error(exc))
        except typer.Abort:
            print_error("aborted")
            sys.exit(1)
        except TouchpointError as exc:
            print_error(str(exc))
            sys.exit(USER_ERROR)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # the reader of our output went away (`| head`)
                sys.exit(1)
            # A file named on the command line cannot be written or read (an --out in a
            # folder that is not writable, ...): say which and why, not a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            print_error(f"{where}{exc.strerror or exc}")
            sys.exit(USER_ERROR)
        sys.exit(code or 0)


def _usage_error(exc: typer.TyperException) -> int:
    """Print a bad command line as one line; return its exit code."""
    ctx = getattr(exc, "ctx", None)
    code = getattr(exc, "exit_code", USER_ERROR)
    if type(exc).__name__ == "NoArgsIsHelpError":
        # `touchpoint ivr` with nothing after it: Typer has printed the help, the answer.
        return code
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    print_error(f"{message}{hint}")
    return code


app = typer.Typer(
    name="touchpoint",
    help="Multi-channel customer-service analytics for mobile operators.",
    cls=TouchpointGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _lang_callback(value: str) -> str:
    # Checked while the options are parsed, before anything is opened: `--lang fr` is the same
    # one-line error in every command.
    return check_lang(value)


def _config_callback(value: Path | None) -> Path | None:
    # Every command that takes --config checks all of it while the options are parsed: a bad
    # or unknown section is the same one-line error in `tags list` as in `run`, before
    # anything is opened. (Importing the capabilities registers their sections.)
    from touchpoint.config import load_config
    from touchpoint.pipeline.registry import check_config

    check_config(load_config(value), str(value) if value else "configuration")
    return value


# Options shared by every command, declared once so their names, help and checks never drift.
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB warehouse file (default: $TOUCHPOINT_WAREHOUSE, else ./touchpoint.duckdb).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration YAML (default: $TOUCHPOINT_CONFIG, else the built-in defaults).",
        show_default=False,
        callback=_config_callback,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON for scripts.")]
CsvOption = Annotated[
    Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")
]
LangOption = Annotated[
    str, typer.Option("--lang", help="Language of labels: en or zh.", callback=_lang_callback)
]
TopOption = Annotated[int, typer.Option("--top", min=0, help="Only the first N rows (0: all).")]
