"""The role matrix: which roles may use which endpoint, read from versioned YAML.

Every route of the API and the console carries a name; :class:`RoleMatrix` says which roles
may use it (``anonymous``: a client that is not logged in). The file is validated once, when
loaded: an unknown role, a missing version or a route the file does not list is an error
naming the file and the entry, never a silent "allowed".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from touchpoint.errors import ConfigError

#: The roles of the brief, from least to most trusted.
ROLES = ("viewer", "analyst", "campaign_manager", "approver", "agent", "admin")
ANONYMOUS = "anonymous"
MATRIX_VERSION = 1
DEFAULT_MATRIX_PATH = Path(__file__).with_name("roles.yaml")


class RoleMatrix(BaseModel):
    """``endpoints``: route name -> roles allowed; ``unmask_phone``: roles that see numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    roles: tuple[str, ...]
    unmask_phone: tuple[str, ...] = ()
    endpoints: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _known_roles(self) -> RoleMatrix:
        if self.version != MATRIX_VERSION:
            raise ValueError(f"version {self.version}, expected {MATRIX_VERSION}")
        if set(self.roles) != set(ROLES):
            raise ValueError(f"roles {list(self.roles)}, expected exactly {list(ROLES)}")
        known = {*ROLES, ANONYMOUS}
        for name, allowed in self.endpoints.items():
            bad = sorted(set(allowed) - known)
            if bad:
                raise ValueError(
                    f"endpoint {name!r}: unknown role(s) {bad}; known: {sorted(known)}"
                )
        bad = sorted(set(self.unmask_phone) - set(ROLES))
        if bad:
            raise ValueError(f"unmask_phone: unknown role(s) {bad}")
        return self

    def allows(self, endpoint: str, role: str | None) -> bool:
        """Whether ``role`` (``None``: logged out) may use ``endpoint`` (unknown: never)."""
        return (role or ANONYMOUS) in self.endpoints.get(endpoint, ())

    def shows_phone(self, role: str | None) -> bool:
        return role in self.unmask_phone

    def missing(self, endpoints: Iterable[str]) -> list[str]:
        """The endpoints of ``endpoints`` this matrix does not list."""
        return sorted(set(endpoints) - set(self.endpoints))


def load_role_matrix(path: Path | None = None) -> RoleMatrix:
    """The role matrix of ``path`` (default: the built-in ``roles.yaml``).

    Raises :class:`~touchpoint.errors.ConfigError` naming the file and the bad entry.
    """
    path = Path(path) if path is not None else DEFAULT_MATRIX_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the role matrix: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return RoleMatrix.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ConfigError(f"{path}: role matrix, {where}: {first['msg']}") from None
