"""Authentication and authorization, pure: password hashes, bearer tokens, the role matrix.

    from neurocart.security import hash_password, verify_password, issue_token, read_token
    from neurocart.security import Role, Resource, Action, is_allowed

    token = issue_token("dr.who", Role.NEUROLOGIST)
    claims = read_token(token)                   # raises TokenError subclasses
    is_allowed(claims.role, "observations", "write")

No database and no HTTP here: the API layer loads users and maps TokenError to 401 and a
denied `is_allowed` to 403.
"""

from __future__ import annotations

from neurocart.security.passwords import hash_password, needs_rehash, verify_password
from neurocart.security.roles import (
    NURSE_INSTRUMENTS,
    Action,
    Permission,
    Resource,
    Role,
    allowed_roles,
    is_allowed,
    may_acknowledge,
    may_record_assessment,
    parse_role,
    permissions,
    permissions_markdown,
)
from neurocart.security.tokens import (
    BadSignatureError,
    ExpiredTokenError,
    MalformedTokenError,
    TokenClaims,
    TokenError,
    issue_token,
    read_token,
)

__all__ = [
    "NURSE_INSTRUMENTS",
    "Action",
    "BadSignatureError",
    "ExpiredTokenError",
    "MalformedTokenError",
    "Permission",
    "Resource",
    "Role",
    "TokenClaims",
    "TokenError",
    "allowed_roles",
    "hash_password",
    "is_allowed",
    "issue_token",
    "may_acknowledge",
    "may_record_assessment",
    "needs_rehash",
    "parse_role",
    "permissions",
    "permissions_markdown",
    "read_token",
    "verify_password",
]
