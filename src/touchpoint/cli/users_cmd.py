"""``touchpoint users``: who may log in to the API and the console, and with which role.

The users live in ``<warehouse>.users.sqlite`` beside the warehouse (see
:mod:`touchpoint.platform`); every change is written to the audit trail.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
)
from touchpoint.cli.common import print_json
from touchpoint.labels import text
from touchpoint.platform import ROLES, UserError, UserStore, store_path
from touchpoint.warehouse import resolve_warehouse_path

users_app = typer.Typer(
    help="Users of the API and web console: add, list, disable, set-role.", no_args_is_help=True
)
app.add_typer(users_app, name="users")

RoleArgument = Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")]


def open_store(warehouse) -> UserStore:
    """The user store of the warehouse (``:memory:`` has none: one clear error)."""
    resolved = resolve_warehouse_path(warehouse)
    if resolved == ":memory:":
        raise UserError("an in-memory warehouse has no user store; give a warehouse file")
    return UserStore(store_path(resolved))


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, else asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: RoleArgument,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
    ] = False,
    warehouse: WarehouseOption = None,
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Add a user with a role; the password is asked for (or read with --password-stdin)."""
    store = open_store(warehouse)
    store.add_user(username, read_password(password_stdin), role, by=_who())
    console.print(text("commands.users_added", lang, user=username, role=role))


@users_app.command("list")
def list_users(
    as_json: JsonOption = False,
    warehouse: WarehouseOption = None,
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """List the users, their roles and whether they are disabled."""
    users = open_store(warehouse).users()
    if as_json:
        print_json([u.to_dict() for u in users])
        return
    table = Table("user", "role", "disabled", "created")
    for u in users:
        table.add_row(u.username, u.role, "yes" if u.is_disabled else "", u.created_at)
    console.print(table)


@users_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="Login name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again.")] = False,
    warehouse: WarehouseOption = None,
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Disable a user: their sessions end and their API tokens stop working at once."""
    open_store(warehouse).set_disabled(username, not enable, by=_who())
    done = "commands.users_enabled" if enable else "commands.users_disabled"
    console.print(text(done, lang, user=username))


@users_app.command("set-role")
def set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: RoleArgument,
    warehouse: WarehouseOption = None,
    config_file: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Give a user another role (effective on their next request)."""
    open_store(warehouse).set_role(username, role, by=_who())
    console.print(text("commands.users_role_set", lang, user=username, role=role))
