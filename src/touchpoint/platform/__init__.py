"""The platform: users, roles, the audit trail, the REST API and the web console.

An adapter like the command line and the report: it renders the capabilities' query
functions and computes no figure of its own.

>>> from touchpoint.platform import load_role_matrix
>>> load_role_matrix().allows("export", "agent")
False
"""

from touchpoint.platform._app import all_routes, create_app, route_names
from touchpoint.platform._roles import (
    ANONYMOUS,
    DEFAULT_MATRIX_PATH,
    ROLES,
    RoleMatrix,
    load_role_matrix,
)
from touchpoint.platform._store import (
    Session,
    User,
    UserError,
    UserStore,
    store_path,
)

__all__ = [
    "ANONYMOUS",
    "DEFAULT_MATRIX_PATH",
    "ROLES",
    "RoleMatrix",
    "Session",
    "User",
    "all_routes",
    "create_app",
    "route_names",
    "UserError",
    "UserStore",
    "load_role_matrix",
    "store_path",
]
