"""``touchpoint serve``: the REST API and the web console over one warehouse (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint.cli.app import ConfigOption, WarehouseOption, app, console
from touchpoint.config import load_config
from touchpoint.errors import WarehouseError
from touchpoint.warehouse import resolve_warehouse_path


@app.command("serve")
def serve(
    warehouse: WarehouseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (serve behind HTTPS).")
    ] = False,
    config_file: ConfigOption = None,
) -> None:
    """Serve the API (/api/v1) and the web console; users come from `touchpoint users`."""
    import uvicorn

    from touchpoint.platform import create_app

    config = load_config(config_file)
    resolved = resolve_warehouse_path(warehouse)
    if resolved == ":memory:":
        raise WarehouseError("serve needs a warehouse file, not :memory:")
    if not resolved.exists():
        raise WarehouseError(
            f"{resolved}: no warehouse here; build one with `touchpoint demo` or "
            "`touchpoint ingest` and `touchpoint run`"
        )
    web = create_app(resolved, config=config, secure_cookies=secure_cookies)
    console.print(f"serving {resolved} on http://{host}:{port}/ (API: /api/v1, Ctrl-C stops)")
    uvicorn.run(web, host=host, port=port, log_level="warning", timeout_keep_alive=5)
