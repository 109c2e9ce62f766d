"""``touchpoint serve``: the REST API and the web console over one warehouse (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint.cli.app import ConfigOption, LangOption, WarehouseOption, app, console
from touchpoint.config import load_config
from touchpoint.errors import WarehouseError
from touchpoint.labels import text
from touchpoint.warehouse import resolve_warehouse_path


@app.command("serve")
def serve(
    warehouse: WarehouseOption = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default: the platform settings)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default: the platform settings)."),
    ] = None,
    secure_cookies: Annotated[
        bool | None,
        typer.Option("--secure-cookies", help="Mark cookies Secure (serve behind HTTPS)."),
    ] = None,
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Serve the API (/api/v1) and the web console; users come from `touchpoint users`.

    Host, port, limits and session lifetime come from the `platform:` section of --config
    (defaults: src/touchpoint/platform/defaults.yaml). The server reads the snapshot that
    `touchpoint run` publishes, so a run is never blocked by it.
    """
    import uvicorn

    from touchpoint.platform import create_app, platform_settings_from_config

    config = load_config(config_file)
    settings = platform_settings_from_config(config)
    host = host or settings.host
    port = port or settings.port
    resolved = resolve_warehouse_path(warehouse)
    if resolved == ":memory:":
        raise WarehouseError("serve needs a warehouse file, not :memory:")
    if not resolved.exists():
        raise WarehouseError(
            f"{resolved}: no warehouse here; build one with `touchpoint demo` or "
            "`touchpoint ingest` and `touchpoint run`"
        )
    web = create_app(resolved, config=config, settings=settings, secure_cookies=secure_cookies)
    url = f"http://{host}:{port}/console/"
    console.print(
        text("commands.serve_serving", lang, warehouse=resolved, url=url), highlight=False
    )
    uvicorn.run(web, host=host, port=port, log_level="warning", timeout_keep_alive=5)
