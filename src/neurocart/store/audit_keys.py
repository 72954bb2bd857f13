"""The audit keys: HMAC-SHA256 secrets kept outside the database, named by a key id.

Each audit entry and each checkpoint records the id of the key that signed it, so keys can
be rotated (docs/audit.md): the newest key signs, every older key in the keyring still
verifies what it signed. Without the key, someone with write access to the database can no
longer recompute the chain after a change.

Where the keys come from (`neurocart.config.Settings`):

- ``NEUROCART_AUDIT_KEYRING``: a file of ``<key id>:<secret in hex>`` lines (``#`` comments
  allowed), oldest first; the LAST line is the current signing key.
- ``NEUROCART_AUDIT_KEY``: one ``<key id>:<secret in hex>``; when set it is the signing key
  and the keyring file (if any) only supplies older keys for verification.

A secret must be at least 32 bytes. `generate_key` makes a line; `neurocart audit new-key`
appends one to a keyring file.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from neurocart.config import Settings, get_settings

MIN_SECRET_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


BAD_LINE = "{where}: expected '<key id>:<hex secret>' (id of [A-Za-z0-9_.-])"
NOT_HEX = "{where}: the secret of key {key_id} is not hex"
TOO_SHORT = "{where}: the secret of key {key_id} is shorter than {n} bytes"
UNREADABLE = "NEUROCART_AUDIT_KEYRING: cannot read {path}: {error}"
TWICE = "{path}: key {key_id} appears twice"
DIFFERS = "NEUROCART_AUDIT_KEY: key {key_id} differs from the keyring's"
NO_KEY = (
    "no audit key: set NEUROCART_AUDIT_KEYRING to a keyring file or NEUROCART_AUDIT_KEY to "
    "'<key id>:<hex secret>' (make one with `neurocart audit new-key`)"
)
BAD_ID = "key id {key_id}: use 1-32 of [A-Za-z0-9_.-]"
EXISTS = "{path}: key {key_id} already exists; choose a new id"
MESSAGES = (BAD_LINE, NOT_HEX, TOO_SHORT, UNREADABLE, TWICE, DIFFERS, NO_KEY, BAD_ID, EXISTS)
"""The refusals of this module as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): a command says them in its reader's language
(`neurocart.i18n.error_text`)."""


class AuditKeyError(RuntimeError):
    """No usable audit key: the message says which setting to fix."""


@dataclass(frozen=True)
class Keyring:
    """Secrets by key id, and the id of the one that signs new entries."""

    keys: dict[str, bytes]
    current: str

    @property
    def secret(self) -> bytes:
        return self.keys[self.current]

    def get(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)


def parse_key(line: str, where: str) -> tuple[str, bytes]:
    """(key id, secret) of one ``id:hex`` line; AuditKeyError naming `where` otherwise."""
    key_id, sep, secret_hex = line.strip().partition(":")
    if not sep or not _KEY_ID.match(key_id):
        raise AuditKeyError(BAD_LINE.format(where=where))
    try:
        secret = bytes.fromhex(secret_hex.strip())
    except ValueError:
        raise AuditKeyError(NOT_HEX.format(where=where, key_id=repr(key_id))) from None
    if len(secret) < MIN_SECRET_BYTES:
        raise AuditKeyError(TOO_SHORT.format(where=where, key_id=repr(key_id), n=MIN_SECRET_BYTES))
    return key_id, secret


def read_keyring_file(path: Path) -> list[tuple[str, bytes]]:
    """The keys of a keyring file, oldest first."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditKeyError(UNREADABLE.format(path=path, error=exc)) from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(parse_key(line, f"{path}:{number}"))
    return out


def keyring_from(settings: Settings) -> Keyring:
    """The keyring the settings name; AuditKeyError when no key is configured."""
    keys: dict[str, bytes] = {}
    current = None
    if settings.audit_keyring is not None:
        for key_id, secret in read_keyring_file(settings.audit_keyring):
            if keys.get(key_id, secret) != secret:
                raise AuditKeyError(TWICE.format(path=settings.audit_keyring, key_id=repr(key_id)))
            keys[key_id] = secret
            current = key_id
    if settings.audit_key is not None:
        key_id, secret = parse_key(settings.audit_key.get_secret_value(), "NEUROCART_AUDIT_KEY")
        if keys.get(key_id, secret) != secret:
            raise AuditKeyError(DIFFERS.format(key_id=repr(key_id)))
        keys[key_id] = secret
        current = key_id
    if current is None:
        raise AuditKeyError(NO_KEY)
    return Keyring(keys, current)


_CACHE: dict[int, tuple[Settings, Keyring]] = {}


def current_keyring() -> Keyring:
    """The keyring of the process-wide settings (read once per settings object)."""
    settings = get_settings()
    cached = _CACHE.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    keyring = keyring_from(settings)
    _CACHE.clear()
    _CACHE[id(settings)] = (settings, keyring)
    return keyring


def generate_key(key_id: str) -> str:
    """A new ``id:hex`` key line with a 32-byte random secret."""
    if not _KEY_ID.match(key_id):
        raise AuditKeyError(BAD_ID.format(key_id=repr(key_id)))
    return f"{key_id}:{secrets.token_hex(MIN_SECRET_BYTES)}"


def append_key(path: Path, key_id: str) -> str:
    """Append a new key to the keyring file at `path` (created with mode 0600); returns its
    id. Refuses an id already in the file: old keys must stay to verify old entries."""
    existing = read_keyring_file(path) if path.exists() else []
    if any(k == key_id for k, _ in existing):
        raise AuditKeyError(EXISTS.format(path=path, key_id=repr(key_id)))
    line = generate_key(key_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    if fresh:
        path.chmod(0o600)
    return key_id
