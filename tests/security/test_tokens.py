"""Signed bearer tokens: round trip, tampering, wrong key, expiry, malformed input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.config import get_settings
from neurocart.security import (
    BadSignatureError,
    ExpiredTokenError,
    MalformedTokenError,
    Role,
    TokenClaims,
    issue_token,
    read_token,
)
from neurocart.security.tokens import PREFIX

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
KEY = "test-secret-key"
HOUR = timedelta(hours=1)


def _token() -> str:
    return issue_token("dr.nerve", Role.NEUROLOGIST, NOW, secret=KEY, ttl=HOUR)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip() -> None:
    claims = read_token(_token(), NOW + timedelta(minutes=59), secret=KEY)
    assert claims == TokenClaims("dr.nerve", Role.NEUROLOGIST, NOW, NOW + HOUR)


@given(
    username=st.text(min_size=1, max_size=64),
    role=st.sampled_from(list(Role)),
    minutes=st.integers(1, 60 * 24 * 30),
)
def test_round_trip_any_user_and_role(username: str, role: Role, minutes: int) -> None:
    ttl = timedelta(minutes=minutes)
    token = issue_token(username, role, NOW, secret=KEY, ttl=ttl)
    assert token.isascii()
    claims = read_token(token, NOW + ttl - timedelta(seconds=1), secret=KEY)
    assert (claims.username, claims.role, claims.expires_at) == (username, role, NOW + ttl)


def test_defaults_come_from_settings() -> None:
    token = issue_token("nurse.joy", "nurse")
    claims = read_token(token)
    ttl = timedelta(minutes=get_settings().token_ttl_minutes)
    assert claims.expires_at - claims.issued_at == ttl
    with pytest.raises(BadSignatureError):
        read_token(token, secret=KEY)


def test_other_timezones_are_the_same_instant() -> None:
    cet = timezone(timedelta(hours=1))
    token = issue_token("u", "icu", NOW.astimezone(cet), secret=KEY, ttl=HOUR)
    assert read_token(token, NOW, secret=KEY).issued_at == NOW


def test_expired_exactly_at_expiry() -> None:
    token = _token()
    read_token(token, NOW + HOUR - timedelta(seconds=1), secret=KEY)
    with pytest.raises(ExpiredTokenError) as caught:
        read_token(token, NOW + HOUR, secret=KEY)
    assert caught.value.expired_at == NOW + HOUR


def test_wrong_key_is_bad_signature() -> None:
    with pytest.raises(BadSignatureError):
        read_token(_token(), NOW, secret="another-key")


def test_tampered_payload_is_bad_signature() -> None:
    prefix, body, signature = _token().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "admin"
    forged = f"{prefix}.{_b64(json.dumps(payload).encode())}.{signature}"
    with pytest.raises(BadSignatureError):
        read_token(forged, NOW, secret=KEY)


def test_extended_expiry_is_bad_signature() -> None:
    prefix, body, signature = _token().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["exp"] += 10 * 365 * 24 * 3600
    forged = f"{prefix}.{_b64(json.dumps(payload).encode())}.{signature}"
    with pytest.raises(BadSignatureError):
        read_token(forged, NOW + 2 * HOUR, secret=KEY)


@given(position=st.integers(0, 10_000), char=st.sampled_from("AQgw-_09"))
def test_any_single_character_change_is_rejected(position: int, char: str) -> None:
    token = _token()
    i = position % len(token)
    if token[i] == char or token[i] == ".":
        return
    altered = token[:i] + char + token[i + 1 :]
    with pytest.raises((BadSignatureError, MalformedTokenError)):
        read_token(altered, NOW, secret=KEY)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "nc1.a.b.c",
        "nc0.eyJ9.c2ln",
        f"{PREFIX}.not base64!.sig",
        f"{PREFIX}..sig",
        "x" * 5000,
    ],
)
def test_malformed(token: str) -> None:
    with pytest.raises(MalformedTokenError):
        read_token(token, NOW, secret=KEY)


def _signed(payload: object) -> str:
    """A correctly signed token around an arbitrary payload (as if our key signed a bug)."""
    body = _b64(json.dumps(payload).encode())
    mac = hmac.new(KEY.encode(), f"{PREFIX}.{body}".encode(), hashlib.sha256).digest()
    return f"{PREFIX}.{body}.{_b64(mac)}"


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"role": "nurse", "iat": 1, "exp": 2},
        {"sub": "", "role": "nurse", "iat": 1, "exp": 2},
        {"sub": "u", "role": "janitor", "iat": 1, "exp": 2},
        {"sub": "u", "role": "nurse", "iat": "1", "exp": 2},
        {"sub": "u", "role": "nurse", "iat": 1, "exp": True},
        {"sub": "u", "role": "nurse", "iat": 5, "exp": 5},
        {"sub": "u", "role": "nurse", "iat": 1, "exp": 10**30},
    ],
)
def test_signed_but_invalid_claims_are_malformed(payload: object) -> None:
    with pytest.raises(MalformedTokenError):
        read_token(_signed(payload), NOW, secret=KEY)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^now:"):
        issue_token("u", "nurse", datetime(2025, 1, 1), secret=KEY)
    with pytest.raises(ValueError, match=r"^role: unknown role .root.; known: admin"):
        issue_token("u", "root", NOW, secret=KEY)
    with pytest.raises(ValueError, match=r"^username:"):
        issue_token("", "nurse", NOW, secret=KEY)
    with pytest.raises(ValueError, match=r"^ttl:"):
        issue_token("u", "nurse", NOW, secret=KEY, ttl=timedelta(0))
    with pytest.raises(ValueError, match=r"^secret_key:"):
        issue_token("u", "nurse", NOW, secret="")
