"""The platform: users, roles, the audit trail, the REST API and the web console.

An adapter like the command line and the report: it renders the capabilities' query
functions and computes no figure of its own.

>>> from touchpoint.platform import load_role_matrix
>>> load_role_matrix().allows("export", "agent")
False
"""

from touchpoint.platform._app import all_routes, create_app, route_names
from touchpoint.platform._reader import WarehouseReader
from touchpoint.platform._roles import (
    ANONYMOUS,
    DEFAULT_MATRIX_PATH,
    ROLES,
    RoleMatrix,
    load_role_matrix,
)
from touchpoint.platform._serving import publish as publish_snapshot
from touchpoint.platform._settings import (
    PlatformSettings,
    load_platform_settings,
    platform_settings_from_config,
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
    "PlatformSettings",
    "Session",
    "WarehouseReader",
    "load_platform_settings",
    "platform_settings_from_config",
    "publish_snapshot",
    "User",
    "all_routes",
    "create_app",
    "route_names",
    "UserError",
    "UserStore",
    "load_role_matrix",
    "store_path",
]
