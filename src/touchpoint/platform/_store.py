"""Users, API tokens, sessions and the audit trail: a small SQLite file beside the warehouse.

The file is ``<warehouse>.users.sqlite``, never the analytics warehouse itself: logging in
must not wait for (or block) a pipeline run holding the warehouse's writer. Passwords are
hashed with argon2 (argon2-cffi); API tokens and session ids are stored only as SHA-256
hashes, so a copy of the file lets nobody in. The audit table is append-only: triggers
refuse every UPDATE and DELETE on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from touchpoint.errors import ConfigError, TouchpointError
from touchpoint.platform._roles import ROLES

STORE_SUFFIX = ".users.sqlite"
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_LENGTH = 10
SESSION_HOURS = 8
TOKEN_PREFIX = "tp_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    is_disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT,
    action TEXT NOT NULL,
    target TEXT,
    n_rows INTEGER,
    client TEXT,
    outcome TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class UserError(TouchpointError, ValueError):
    """A user that cannot be added or changed: a bad name, role or password, a duplicate."""


@dataclass(frozen=True)
class User:
    """A user as the API sees it (never the password hash)."""

    username: str
    role: str
    is_disabled: bool
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "is_disabled": self.is_disabled,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Session:
    """A logged-in browser: its user and the CSRF token every change must carry."""

    user: User
    csrf_token: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def store_path(warehouse: str | Path) -> Path:
    """Where the users of ``warehouse`` live: ``<warehouse>.users.sqlite`` beside it."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + STORE_SUFFIX)


class UserStore:
    """The users, tokens, sessions and audit trail of one warehouse (a SQLite file).

    >>> import tempfile, pathlib
    >>> store = UserStore(pathlib.Path(tempfile.mkdtemp()) / "u.sqlite")
    >>> store.add_user("ana", "correct horse battery", "analyst").role
    'analyst'
    >>> store.authenticate("ana", "correct horse battery").username
    'ana'
    >>> store.authenticate("ana", "wrong password!") is None
    True
    """

    def __init__(self, path: str | Path, *, session_hours: float = SESSION_HOURS) -> None:
        self.path = Path(path)
        self.session_hours = session_hours
        self._hasher = PasswordHasher()
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            try:
                # Write-ahead log: readers never wait for a writer, and a commit appends to the
                # log instead of rewriting pages (an audited card lookup measured 16 ms per
                # entry with the rollback journal, serialised across requests).
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ConfigError(f"{self.path}: cannot open the user store: {exc}") from None
        self.path.chmod(0o600)
        # Kept open for the store's life: closing the last connection to a WAL database
        # checkpoints it (an fsync), which each request would otherwise pay.
        self._anchor = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._anchor.execute("SELECT count(*) FROM users").fetchone()  # open the WAL now

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, opened once (opening one per call cost more than the
        statements of an authenticated, audited card lookup)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL loses no committed entry when the process dies, only (after a
            # power cut) the last ones not yet checkpointed, and needs no fsync per commit.
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _connect(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection: a writing one takes the write lock at
        once (``BEGIN IMMEDIATE``); a reading one sees the last commit and blocks nobody."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # ---- users ---------------------------------------------------------------------------
    @staticmethod
    def _check(username: str, role: str | None = None, password: str | None = None) -> None:
        if not USERNAME.fullmatch(username):
            raise UserError(f"user name {username!r}: use 1 to 64 letters, digits or _ . @ -")
        if role is not None and role not in ROLES:
            raise UserError(f"role {role!r}: not one of {', '.join(ROLES)}")
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(
                f"password of {username!r}: {len(password)} characters, "
                f"expected at least {MIN_PASSWORD_LENGTH}"
            )

    def add_user(self, username: str, password: str, role: str, *, by: str | None = None) -> User:
        """Add a user; raises :class:`UserError` for a bad name, role, password or a duplicate."""
        self._check(username, role, password)
        created = _now().isoformat()
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (username, self._hasher.hash(password), role, created),
                )
                self._audit(db, by, "user.add", f"{username} as {role}", None, "cli", "ok")
        except sqlite3.IntegrityError:
            raise UserError(
                f"user {username!r} exists already; use set-role to change it"
            ) from None
        return User(username, role, False, created)

    def users(self) -> list[User]:
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT username, role, is_disabled, created_at FROM users ORDER BY username"
            ).fetchall()
        return [User(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    def user(self, username: str) -> User | None:
        with self._connect(write=False) as db:
            row = db.execute(
                "SELECT username, role, is_disabled, created_at FROM users WHERE username = ?",
                (username,),
            ).fetchone()
        return None if row is None else User(row[0], row[1], bool(row[2]), row[3])

    def _change(self, username: str, sql: str, args: tuple, action: str, what: str, by: str | None):
        with self._connect() as db:
            if db.execute(sql, (*args, username)).rowcount == 0:
                raise UserError(f"no user {username!r}; `touchpoint users list` shows them")
            if action == "user.disable":  # a disabled user's sessions end now
                db.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self._audit(db, by, action, what, None, "cli", "ok")

    def set_role(self, username: str, role: str, *, by: str | None = None) -> None:
        self._check(username, role)
        self._change(
            username, "UPDATE users SET role = ? WHERE username = ?", (role,),
            "user.set_role", f"{username} to {role}", by,
        )  # fmt: skip

    def set_password(self, username: str, password: str, *, by: str | None = None) -> None:
        """A new password for ``username`` (their sessions end)."""
        self._check(username, password=password)
        with self._connect() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (self._hasher.hash(password), username),
            ).rowcount
            if changed == 0:
                raise UserError(f"no user {username!r}; `touchpoint users list` shows them")
            db.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self._audit(db, by, "user.set_password", username, None, "cli", "ok")

    def set_disabled(self, username: str, disabled: bool = True, *, by: str | None = None) -> None:
        self._change(
            username, "UPDATE users SET is_disabled = ? WHERE username = ?", (int(disabled),),
            "user.disable" if disabled else "user.enable", username, by,
        )  # fmt: skip

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the user is enabled, else ``None``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT password_hash, role, is_disabled, created_at FROM users WHERE username = ?",
                (username,),
            ).fetchone()
        if row is None:
            # Hash anyway, so a wrong name takes as long as a wrong password.
            self._hasher.hash(password)
            return None
        try:
            self._hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        if row[2]:
            return None
        return User(username, row[1], False, row[3])

    # ---- API tokens and sessions ------------------------------------------------------------
    def create_token(self, username: str) -> str:
        """A new API token for ``username``; only its hash is stored (shown once)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?)",
                (_digest(token), username, _now().isoformat()),
            )
        return token

    def token_user(self, token: str) -> User | None:
        """The enabled user owning ``token``, else ``None`` (a disabled user's token is dead)."""
        with self._connect(write=False) as db:
            row = db.execute(
                "SELECT u.username, u.role, u.is_disabled, u.created_at FROM api_tokens t "
                "JOIN users u USING (username) WHERE t.token_hash = ?",
                (_digest(token),),
            ).fetchone()
        if row is None or row[2]:
            return None
        return User(row[0], row[1], False, row[3])

    def create_session(self, username: str) -> tuple[str, str]:
        """A new session id (the cookie) and its CSRF token; always fresh (no fixation)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self._connect() as db:
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                (
                    _digest(session_id),
                    username,
                    csrf,
                    now.isoformat(),
                    (now + dt.timedelta(hours=self.session_hours)).isoformat(),
                ),
            )
        return session_id, csrf

    def session(self, session_id: str) -> Session | None:
        """The live session of ``session_id``: an enabled user, not expired; else ``None``."""
        with self._connect(write=False) as db:
            row = db.execute(
                "SELECT u.username, u.role, u.is_disabled, u.created_at, s.csrf_token, "
                "s.expires_at FROM sessions s JOIN users u USING (username) "
                "WHERE s.session_hash = ?",
                (_digest(session_id),),
            ).fetchone()
        if row is None or row[2] or row[5] <= _now().isoformat():
            return None
        return Session(User(row[0], row[1], False, row[3]), row[4])

    def end_session(self, session_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE session_hash = ?", (_digest(session_id),))

    # ---- audit ------------------------------------------------------------------------------
    @staticmethod
    def _audit(db, username, action, target, n_rows, client, outcome) -> None:
        db.execute(
            "INSERT INTO audit (at, username, action, target, n_rows, client, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_now().isoformat(), username, action, target, n_rows, client, outcome),
        )

    def audit(
        self,
        username: str | None,
        action: str,
        *,
        target: str | None = None,
        n_rows: int | None = None,
        client: str | None = None,
        outcome: str = "ok",
    ) -> None:
        """Append one entry: who (``username``), what (``action``, ``target``, ``n_rows``),
        from where (``client``), and whether it was allowed (``outcome``); when is now."""
        with self._connect() as db:
            self._audit(db, username, action, target, n_rows, client, outcome)

    def audit_rows(self, *, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Audit entries, newest first, and how many there are in all."""
        with self._connect(write=False) as db:
            total = db.execute("SELECT count(*) FROM audit").fetchone()[0]
            rows = db.execute(
                "SELECT * FROM audit ORDER BY audit_id DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [dict(r) for r in rows], total


def constant_time_equal(a: str, b: str) -> bool:
    """``a == b`` in time that does not depend on where they differ (CSRF tokens)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
