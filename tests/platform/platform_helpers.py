"""What the platform tests share: the test password and an app with one user per role."""

from __future__ import annotations

from touchpoint.platform import ROLES, UserStore, create_app, store_path
from touchpoint.platform._security import LoginThrottle

PASSWORD = "correct horse battery"


def make_app(warehouse, **kwargs):
    """An app with one user per role (named after it) and each user's API token."""
    store = UserStore(store_path(warehouse))
    tokens = {}
    for role in ROLES:
        if store.user(role) is None:
            store.add_user(role, PASSWORD, role)
        tokens[role] = store.create_token(role)
    kwargs.setdefault("throttle", LoginThrottle(max_failures=5, window_seconds=900))
    return create_app(warehouse, store=store, **kwargs), tokens
