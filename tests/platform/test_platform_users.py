"""Users, roles and the audit trail: the SQLite store, the role matrix file and the CLI."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.errors import ConfigError
from touchpoint.platform import UserError, UserStore, load_role_matrix, store_path

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path):
    return UserStore(tmp_path / "w.duckdb.users.sqlite")


def test_passwords_are_argon2_hashes_and_verify(store):
    store.add_user("ana", PASSWORD, "analyst")
    with sqlite3.connect(store.path) as db:
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert store.authenticate("ana", PASSWORD).role == "analyst"
    assert store.authenticate("ana", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "password", "role", "fragment"),
    [
        ("ana", PASSWORD, "wizard", "role 'wizard'"),
        ("ana", "short", "viewer", "5 characters"),
        ("a b", PASSWORD, "viewer", "user name 'a b'"),
        ("x' OR 1=1 --", PASSWORD, "viewer", "user name"),
    ],
)
def test_bad_users_are_refused_with_the_reason(store, name, password, role, fragment):
    with pytest.raises(UserError, match=fragment):
        store.add_user(name, password, role)
    assert store.users() == []


def test_a_duplicate_user_is_refused(store):
    store.add_user("ana", PASSWORD, "analyst")
    with pytest.raises(UserError, match="exists already"):
        store.add_user("ana", PASSWORD, "admin")
    assert [(u.username, u.role) for u in store.users()] == [("ana", "analyst")]


def test_disabling_ends_sessions_and_kills_tokens(store):
    store.add_user("ana", PASSWORD, "analyst")
    token = store.create_token("ana")
    session_id, _ = store.create_session("ana")
    assert store.token_user(token).username == "ana"
    assert store.session(session_id).user.username == "ana"
    store.set_disabled("ana")
    assert store.token_user(token) is None
    assert store.session(session_id) is None
    assert store.authenticate("ana", PASSWORD) is None
    store.set_disabled("ana", False)
    assert store.token_user(token).username == "ana"
    assert store.session(session_id) is None  # ended, not suspended


def test_tokens_and_sessions_are_stored_only_as_hashes(store):
    store.add_user("ana", PASSWORD, "analyst")
    token = store.create_token("ana")
    session_id, _ = store.create_session("ana")
    raw = store.path.read_bytes()
    assert token.encode() not in raw and session_id.encode() not in raw


def test_the_audit_trail_is_append_only(store):
    store.add_user("ana", PASSWORD, "analyst", by="root")
    store.set_role("ana", "viewer", by="root")
    store.audit("ana", "export", target="channels", n_rows=42, client="127.0.0.1")
    rows, total = store.audit_rows()
    assert total == 3
    assert [(r["action"], r["username"], r["n_rows"]) for r in rows] == [
        ("export", "ana", 42),
        ("user.set_role", "root", None),
        ("user.add", "root", None),
    ]
    with sqlite3.connect(store.path) as db:
        for sql in ("UPDATE audit SET username = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
    assert store.audit_rows()[1] == 3


def test_the_role_matrix_refuses_unknown_roles_and_versions(tmp_path):
    matrix = load_role_matrix()
    assert matrix.allows("customer_card", "agent") and not matrix.allows("export", "agent")
    assert matrix.allows("login", None) and not matrix.allows("headline", None)
    assert not matrix.allows("no_such_endpoint", "admin")
    bad = tmp_path / "roles.yaml"
    text = load_role_matrix.__globals__["DEFAULT_MATRIX_PATH"].read_text(encoding="utf-8")
    bad.write_text(text.replace("audit: [admin]", "audit: [admin, wizard]"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"roles\.yaml: role matrix.*'audit'.*\['wizard'\]"):
        load_role_matrix(bad)
    bad.write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(ConfigError, match="version 2, expected 1"):
        load_role_matrix(bad)


def test_the_users_cli_adds_lists_disables_and_sets_roles(tmp_path):
    runner = CliRunner()
    warehouse = tmp_path / "w.duckdb"
    w = ["-w", str(warehouse)]
    added = runner.invoke(app, ["users", "add", "ana", "agent", "--password-stdin", *w],
                          input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added ana as agent" in added.output
    assert runner.invoke(app, ["users", "set-role", "ana", "analyst", *w]).exit_code == 0
    assert runner.invoke(app, ["users", "disable", "ana", *w]).exit_code == 0
    listed = runner.invoke(app, ["users", "list", "--json", *w])
    assert '"role": "analyst"' in listed.output and '"is_disabled": true' in listed.output
    assert not warehouse.exists()  # the users live beside the warehouse, not in it
    store = UserStore(store_path(warehouse))
    actions = [r["action"] for r in store.audit_rows()[0]]
    assert actions == ["user.disable", "user.set_role", "user.add"]
    bad = runner.invoke(app, ["users", "set-role", "bob", "viewer", *w])
    assert bad.exit_code == 2 and "no user 'bob'" in bad.output


def test_the_demo_creates_an_administrator_and_says_how_to_log_in(tmp_path, capsys):
    import re

    from touchpoint.cli.demo_cmd import _demo_administrator

    warehouse = tmp_path / "demo" / "touchpoint.duckdb"
    passwords = []
    for _ in range(2):  # a second demo gives the same user a new password
        _demo_administrator(warehouse)
        out = capsys.readouterr().out
        assert f"touchpoint serve -w {warehouse}" in out and "/console/login" in out
        passwords.append(re.search(r"demo-admin with password (\S+)", out).group(1))
    store = UserStore(store_path(warehouse))
    assert passwords[0] != passwords[1]
    assert store.authenticate("demo-admin", passwords[0]) is None
    assert store.authenticate("demo-admin", passwords[1]).role == "admin"
