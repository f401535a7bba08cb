"""Accounts on a node: roles, the access policy, password and token hashing.

Pure (no storage, no clock of its own): the tables are in :mod:`csbm.store.accounts`, the
use cases in :mod:`csbm.services.users` and :mod:`csbm.services.drafts`, the API's
dependencies in :mod:`csbm.api.auth`. Source: issue 11, item 5; docs/accounts.md.
"""

from csbm.accounts.credentials import (
    check_name,
    check_password,
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from csbm.accounts.policy import (
    PERMISSIONS,
    AccessError,
    Action,
    Forbidden,
    Role,
    Unauthenticated,
    allowed,
    parse_role,
    require,
    roles_for,
    visible_to,
)

__all__ = [
    "PERMISSIONS",
    "AccessError",
    "Action",
    "Forbidden",
    "Role",
    "Unauthenticated",
    "allowed",
    "check_name",
    "check_password",
    "hash_password",
    "needs_rehash",
    "new_token",
    "parse_role",
    "require",
    "roles_for",
    "token_digest",
    "verify_password",
    "visible_to",
]
