"""Stateless signed bearer tokens: HMAC-SHA256 over a small JSON payload, stdlib only.

Format: ``nc1.<payload>.<signature>``, both parts unpadded base64url; the payload is
``{"sub": username, "role": role, "iat": issued-at, "exp": expiry, "sid": session id}``
(integer UTC seconds) and the signature is HMAC-SHA256 with `Settings.secret_key` over
``nc1.<payload>``.

Why not JWT: the JWT family brings algorithm negotiation (``alg: none``, RS/HS confusion) and
a dependency for one fixed use; this format has exactly one algorithm, checked with
`hmac.compare_digest` before the payload is even decoded. The version prefix lets a later
format coexist. The signature proves the token was issued here; whether it is still honoured is
the server's session table (`sid` names a row of neurocart.store.accounts): logout,
revocation, deactivation and the idle timeout end the row, and the faces refuse a token whose
session has ended or that names none. The faces also load the user on each request and
authorize with the role stored now (a demotion takes effect at once); the role in the token is
what the user was at login. Changing `secret_key` invalidates every token.

Errors are specific so the API can answer 401 with a precise reason and the logs can tell an
attack (bad signature) from a user who left the browser open overnight (expired).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from neurocart.config import get_settings
from neurocart.security.roles import Role, parse_role

PREFIX = "nc1"


class TokenError(Exception):
    """A bearer token that does not authenticate anyone (API: 401)."""


class MalformedTokenError(TokenError):
    """Not a neurocart token at all: wrong shape, bad encoding, missing or invalid claims."""


class BadSignatureError(TokenError):
    """Shaped right but not signed with our key: forged, altered, or signed with an old key."""


class ExpiredTokenError(TokenError):
    """Genuine but past its expiry: the user must log in again."""

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__(f"token expired at {expired_at.isoformat()}")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: who, with which role at login, valid from when until when."""

    username: str
    role: Role
    issued_at: datetime
    expires_at: datetime
    session_id: str | None = None
    """The server-side session the token belongs to (None: a token minted without one, which
    the faces refuse)."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or any(c not in _B64_ALPHABET for c in text):
        raise MalformedTokenError("token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedTokenError("token is not base64url") from None


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now: must be timezone-aware")
    return now.astimezone(UTC)


def _key(secret: str | None) -> bytes:
    key = get_settings().secret_key if secret is None else secret
    if not key:
        raise ValueError("secret_key: must not be empty")
    return key.encode("utf-8")


def _sign(signing_input: str, key: bytes) -> str:
    return _b64encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue_token(
    username: str,
    role: Role | str,
    now: datetime | None = None,
    *,
    secret: str | None = None,
    ttl: timedelta | None = None,
    session_id: str | None = None,
) -> str:
    """A token for `username` with `role`, valid from `now` for `ttl`, naming `session_id`.

    `secret` and `ttl` default to Settings.secret_key and Settings.token_ttl_minutes.
    """
    if not username:
        raise ValueError("username: must not be empty")
    role = parse_role(role)
    issued = _utc(now)
    lifetime = timedelta(minutes=get_settings().token_ttl_minutes) if ttl is None else ttl
    if lifetime <= timedelta(0):
        raise ValueError("ttl: must be positive")
    iat = int(issued.timestamp())
    payload: dict[str, object] = {
        "sub": username, "role": role.value, "iat": iat, "exp": iat + _seconds(lifetime)
    }  # fmt: skip
    if session_id is not None:
        if not session_id or len(session_id) > 64:
            raise ValueError("session_id: 1 to 64 characters")
        payload["sid"] = session_id
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{PREFIX}.{body}"
    return f"{signing_input}.{_sign(signing_input, _key(secret))}"


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds()))


def read_token(
    token: str, now: datetime | None = None, *, secret: str | None = None
) -> TokenClaims:
    """The claims of a genuine, unexpired token.

    Raises MalformedTokenError, BadSignatureError or ExpiredTokenError (all TokenError).
    The signature is checked, in constant time, before the payload is decoded.
    """
    if not isinstance(token, str) or len(token) > 4096:
        raise MalformedTokenError("token is not a neurocart token")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise MalformedTokenError("token is not a neurocart token")
    _, body, signature = parts
    _b64decode(body)  # shape check first: a non-base64 body is malformed, not forged
    _b64decode(signature)
    expected = _sign(f"{PREFIX}.{body}", _key(secret))
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise BadSignatureError("token signature does not match")
    claims = _claims(_b64decode(body))
    if _utc(now) >= claims.expires_at:
        raise ExpiredTokenError(claims.expires_at)
    return claims


def _claims(raw: bytes) -> TokenClaims:
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedTokenError("token payload is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedTokenError("token payload is not an object")
    sub, role, iat, exp, sid = (payload.get(k) for k in ("sub", "role", "iat", "exp", "sid"))
    if not isinstance(sub, str) or not sub:
        raise MalformedTokenError("token has no subject")
    if not isinstance(role, str) or role not in _ROLES:
        raise MalformedTokenError("token has no valid role")
    iat, exp = _seconds_claim(iat), _seconds_claim(exp)
    if exp <= iat:
        raise MalformedTokenError("token expires before it was issued")
    try:
        issued_at = datetime.fromtimestamp(iat, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedTokenError("token has no valid times") from None
    if sid is not None and (not isinstance(sid, str) or not 0 < len(sid) <= 64):
        raise MalformedTokenError("token has no valid session id")
    return TokenClaims(sub, Role(role), issued_at, expires_at, sid)


_ROLES = frozenset(r.value for r in Role)


def _seconds_claim(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedTokenError("token has no valid times")
    return value
