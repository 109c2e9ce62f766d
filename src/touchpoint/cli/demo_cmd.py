"""``touchpoint demo``: the whole job on the built-in synthetic operator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from touchpoint.cli.app import ConfigOption, LangOption, app, console
from touchpoint.cli.common import open_warehouse
from touchpoint.cli.progress import progress_bar
from touchpoint.config import load_config
from touchpoint.ingest import ingest
from touchpoint.labels import text
from touchpoint.pipeline import run_pipeline
from touchpoint.report import LANGUAGES, write_report
from touchpoint.simulate import simulate


@app.command("demo")
def demo_command(
    customers: Annotated[
        int, typer.Option("--customers", min=100, help="Customers to simulate.")
    ] = 50_000,
    months: Annotated[int, typer.Option("--months", min=1, max=24, help="Months to simulate.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the synthetic operator.")] = 7,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for data, warehouse and reports.")
    ] = Path("demo"),
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Simulate an operator, ingest its files, run every analytics step and write both reports."""
    config = load_config(config_file)
    data_dir, warehouse = out / "data", out / "touchpoint.duckdb"
    with progress_bar(text("commands.simulating", lang)) as on_progress:
        world = simulate(
            data_dir, customers=customers, months=months, seed=seed, on_progress=on_progress
        )
    console.print(
        text("commands.demo_simulated", lang, customers=customers, months=months, folder=data_dir),
        highlight=False,
    )
    # A fresh warehouse each time, so the demo never mixes two worlds.
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)
    with open_warehouse(warehouse, write=True) as con:
        _ingest_run_and_report(con, world, config, warehouse, out, lang)
        from touchpoint.platform import publish_snapshot

        publish_snapshot(con)  # what `touchpoint serve` reads
    _demo_administrator(warehouse, lang)


def _demo_administrator(warehouse: Path, lang: str = "en") -> None:
    """A demo administrator for the console, and how to log in (a new password each demo)."""
    import secrets

    from touchpoint.platform import UserStore, store_path

    store = UserStore(store_path(warehouse))
    password = secrets.token_urlsafe(12)
    if store.user("demo-admin") is None:
        store.add_user("demo-admin", password, "admin", by="demo")
    else:
        store.set_password("demo-admin", password, by="demo")
    url = "http://127.0.0.1:8000/console/login"
    message = text("commands.demo_console", lang, warehouse=warehouse, url=url, user="demo-admin",
                   password=password)  # fmt: skip
    console.print(message, highlight=False, soft_wrap=True)


def _ingest_run_and_report(con, world, config, warehouse: Path, out: Path, lang: str) -> None:
    with progress_bar(text("commands.ingesting", lang)) as on_progress:
        # The source files only: the ground truth in data/truth/ is for tests, never for analytics.
        summaries = ingest(con, list(world.files.values()), config=config, on_progress=on_progress)
    n_loaded = sum(s.n_loaded for s in summaries)
    n_quarantined = sum(s.n_quarantined for s in summaries)
    console.print(
        text(
            "commands.demo_ingested",
            lang,
            files=len(summaries),
            loaded=n_loaded,
            quarantined=n_quarantined,
        )
    )
    with progress_bar(text("commands.demo_running", lang)) as on_progress:
        results = run_pipeline(con, config, on_progress=on_progress)
    n_tables = sum(len(r.tables) for r in results)
    steps = sum(r.ran for r in results)
    console.print(
        text("commands.demo_ran", lang, steps=steps, tables=n_tables, warehouse=warehouse),
        highlight=False,
    )
    for report_lang in LANGUAGES:
        path = write_report(con, config, out / f"report.{report_lang}.html", lang=report_lang)
        console.print(
            text("commands.demo_report", lang, language=report_lang, path=path.resolve()),
            highlight=False,
        )
