"""One progress bar style for every long command (on stderr, so --json output stays clean)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from touchpoint.cli.app import err_console

ProgressCallback = Callable[[str, int, int], None]


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """Yield an ``on_progress(description, completed, total)`` callback that drives a Rich bar."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    # Off when stderr is no terminal (a log file, CI): a bar there only leaves blank lines.
    with Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(description, total=None)

        def on_progress(text: str, completed: int, total: int) -> None:
            progress.update(task, description=text, completed=completed, total=total)

        yield on_progress
