"""Signed heads of the audit chain, appended to a file outside the database.

Inside the database, a rewrite of the chain from some entry on (with the key) or the removal
of its newest entries together with their rows leaves a chain that is consistent in itself.
A checkpoint pins the chain from outside: one line per checkpoint in
``<directory>/<database label>.checkpoints.jsonl``, each the RFC 8785 JSON of

    {"at": ..., "hash": <entry hash at seq>, "key_id": ..., "mac": ..., "prev": ...,
     "seq": <head seq>, "v": 1}

where `mac` is HMAC-SHA256 (hex), with the key `key_id` names, over the canonical JSON of
the other fields, and `prev` is the SHA-256 (hex) of the previous line's text (64 zeros for
the first). Editing a line breaks its mac, removing or reordering lines breaks `prev`, and
`neurocart audit verify` checks every checkpoint's (seq, hash) against the store: a store
that ends before a checkpointed seq was truncated, an entry whose hash differs from the
checkpoint's was rewritten.

The file is only appended to (under an advisory lock, so the monitor leader and the CLI can
both write); keep the directory on storage the database's users cannot rewrite
(docs/audit.md). Removing the newest lines of the file itself cannot be seen from the file:
that is what the storage's append-only or write-once guarantee is for.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from neurocart.store.audit import GENESIS, canonical, head
from neurocart.store.audit_keys import Keyring

VERSION = 1
SUFFIX = ".checkpoints.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    """One signed chain head, as read from its line (number counts from 1)."""

    seq: int
    hash: str
    at: str
    key_id: str
    prev: str
    mac: str
    line: int


def checkpoint_file(directory: Path, url: str | URL) -> Path:
    """The checkpoint file of the database at `url` in `directory`: a readable label (the
    backend, host and database name) and a digest of the URL without its password, so two
    databases never share a file."""
    parsed = make_url(url)
    name = Path(parsed.database or "db").name
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{parsed.get_backend_name()}-{parsed.host or ''}"
                   f"-{name}")[:80]  # fmt: skip
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        identity = str(Path(parsed.database).resolve())
    else:
        identity = parsed.set(password=None).render_as_string(hide_password=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return directory / f"{label}-{digest}{SUFFIX}"


def _fields(seq: int, hash_: str, at: str, key_id: str, prev: str) -> dict[str, Any]:
    return {"at": at, "hash": hash_, "key_id": key_id, "prev": prev, "seq": seq, "v": VERSION}


def _mac(secret: bytes, fields: dict[str, Any]) -> str:
    return hmac.digest(secret, canonical(fields).encode(), "sha256").hex()


def write_checkpoint(session: Session, path: Path, keyring: Keyring) -> Checkpoint:
    """Append the signed head of the chain as `session` sees it; returns it.

    Written even when the head has not moved since the last checkpoint (its time says the
    chain was intact then). Call it outside a write transaction or inside one that holds the
    chain lock: the head must be committed, or about to be.
    """
    seq, hash_ = head(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            lines = [line for line in handle.read().splitlines() if line.strip()]
            prev = hashlib.sha256(lines[-1].encode()).hexdigest() if lines else GENESIS
            at = datetime.now(UTC).isoformat()
            fields = _fields(seq, hash_, at, keyring.current, prev)
            mac = _mac(keyring.secret, fields)
            handle.seek(0, 2)
            handle.write(canonical({**fields, "mac": mac}) + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return Checkpoint(seq, hash_, at, keyring.current, prev, mac, len(lines) + 1)


LINE_UNREADABLE = "checkpoint file {file} line {line}: unreadable"
LINE_UNKNOWN_KEY = (
    "checkpoint file {file} line {line}: signed with key {key_id}, not in the keyring"
)
LINE_EDITED = "checkpoint file {file} line {line}: signature does not match (the line was edited)"
LINE_OUT_OF_ORDER = (
    "checkpoint file {file} line {line}: does not follow the line before it (lines removed, "
    "inserted or reordered)"
)
LINE_BACKWARDS = "checkpoint file {file} line {line}: head seq {seq} is below an earlier {last}"
MESSAGES = (LINE_UNREADABLE, LINE_UNKNOWN_KEY, LINE_EDITED, LINE_OUT_OF_ORDER, LINE_BACKWARDS)
"""What `read_checkpoints` finds wrong with a line, as message keys with named fields (said
in the reader's language by `neurocart audit verify`, like the findings of
`neurocart.store.audit.MESSAGES`)."""


def read_checkpoints(path: Path, keyring: Keyring) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints of a file that verify, and what is wrong with the others (edited,
    unsigned, removed or reordered lines, a head that went backwards)."""
    if not path.exists():
        return [], []
    out: list[Checkpoint] = []
    problems: list[str] = []
    prev = GENESIS
    last_seq = 0
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        where = {"file": path.name, "line": number}
        try:
            record = json.loads(text)
            fields = _fields(
                int(record["seq"]), str(record["hash"]), str(record["at"]),
                str(record["key_id"]), str(record["prev"]),
            )  # fmt: skip
            mac = str(record["mac"])
        except (ValueError, KeyError, TypeError):
            problems.append(LINE_UNREADABLE.format(**where))
            prev = hashlib.sha256(text.encode()).hexdigest()
            continue
        secret = keyring.get(fields["key_id"])
        if secret is None:
            problems.append(LINE_UNKNOWN_KEY.format(**where, key_id=repr(fields["key_id"])))
        elif not hmac.compare_digest(_mac(secret, fields), mac):
            problems.append(LINE_EDITED.format(**where))
        elif fields["prev"] != prev:
            problems.append(LINE_OUT_OF_ORDER.format(**where))
        elif fields["seq"] < last_seq:
            problems.append(LINE_BACKWARDS.format(**where, seq=fields["seq"], last=last_seq))
        else:
            last_seq = fields["seq"]
            out.append(
                Checkpoint(
                    fields["seq"], fields["hash"], fields["at"], fields["key_id"],
                    fields["prev"], mac, number,
                )
            )  # fmt: skip
        prev = hashlib.sha256(text.encode()).hexdigest()
    return out, problems
