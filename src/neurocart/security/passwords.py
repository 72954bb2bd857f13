"""Password hashing: argon2id through argon2-cffi.

Why these choices:

- argon2id (the RFC 9106 recommendation) with argon2-cffi's default parameters, which are
  RFC 9106's "low memory" profile (t=3, m=64 MiB, p=4): memory-hard, ~50 ms on a server, and
  kept up to date by the library rather than by us. The parameters travel inside each hash, so
  raising them later only needs `needs_rehash` at the next successful login.
- `verify_password` returns a bool and never raises on a wrong or corrupt hash: a login route
  should have one branch, "deny", whatever went wrong. argon2 compares digests in constant
  time.
- An unknown user is verified against a dummy hash (`stored_hash=None`) so that a login for a
  name that does not exist costs the same time as one with a wrong password: response timing
  does not reveal which usernames exist.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (salted; two calls give different strings)."""
    if not password:
        raise ValueError("password: must not be empty")
    return _HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("neurocart-dummy-password-for-unknown-users")


def verify_password(password: str, stored_hash: str | None) -> bool:
    """True when `password` matches `stored_hash`; False otherwise, never raising.

    Pass `stored_hash=None` for an unknown user: the same work is done and False returned.
    """
    if stored_hash is None:
        _matches(password, _dummy_hash())
        return False
    return _matches(password, stored_hash)


def _matches(password: str, stored_hash: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (or is unreadable).

    Call after a successful `verify_password` and store `hash_password(password)` if True.
    """
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True
