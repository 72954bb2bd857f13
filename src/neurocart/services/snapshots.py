"""Stored snapshots of the monitor engine, so a new leader replays only the journal after one.

    encoded = snapshots.encode(engine, journal)           # before the write transaction
    snapshots.store(session, seq, encoded)                # in the checkpoint's transaction
    found = snapshots.load(session, checkpoint, journal, engine.rules)  # None: replay all

What is stored is everything `MonitorService.take_over` would rebuild by replaying the
journal up to `seq`: the engine (`neurocart.monitor.snapshot`) and what the journal
reader learnt (`Journal.dump_state`: the people with their anchors, the patients with a CSF
value). The leader stores one in the same transaction as a checkpoint, at the checkpoint's
seq, when the journal advanced by `SNAPSHOT_ENTRIES` since the last one or
`SNAPSHOT_SECONDS` passed (and only at a step that reached the journal head, so a long
catch-up is not slowed); the newest `KEEP` are kept.

**Never trusted.** A row is used only when its HMAC (the audit keyring,
`neurocart.store.audit_keys`) verifies over its seq, the chain hash of the audit entry at
that seq as stored now, the rules fingerprint and the digest of its data; when the
fingerprint is the current one (same rules, derivation settings, format and neurocart
version); and when its data decodes into a complete engine. Anything else is logged and
skipped, and without a usable snapshot the leader replays the whole journal: an edited
snapshot can cost start-up time, never a wrong state or a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.monitor import snapshot
from neurocart.store.audit import canonical
from neurocart.store.audit_keys import Keyring, current_keyring
from neurocart.store.models import AuditEntry, MonitorSnapshot

if TYPE_CHECKING:
    from neurocart.services.journal import Journal

log = logging.getLogger(__name__)

SNAPSHOT_ENTRIES = 10_000
"""Journal entries consumed since the last snapshot after which the leader stores one."""
SNAPSHOT_SECONDS = 600.0
"""Seconds after which the leader stores a snapshot if the journal advanced at all."""
KEEP = 2
"""Snapshots kept (the newest; older ones are deleted when a new one is stored)."""


@dataclass(frozen=True)
class Encoded:
    """A snapshot ready to store: compressed JSON and the rules fingerprint it was made with."""

    data: bytes
    fingerprint: str


def _chain_hash(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))


def _mac(secret: bytes, seq: int, chain_hash: str, fingerprint: str, data: bytes) -> str:
    fields = {
        "chain_hash": chain_hash,
        "data_sha256": hashlib.sha256(data).hexdigest(),
        "fingerprint": fingerprint,
        "seq": seq,
    }
    return hmac.digest(secret, canonical(fields).encode(), "sha256").hex()


def encode(engine: monitor.Engine, journal: Journal) -> Encoded:
    """The engine's and the journal reader's state, compressed (done before the caller's
    write transaction: the chain lock is not held while thousands of patients are dumped)."""
    body = {"engine": snapshot.dump(engine), "journal": journal.dump_state()}
    data = zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 1)
    return Encoded(data, snapshot.fingerprint(engine.rules))


def store(session: Session, seq: int, encoded: Encoded, *, keyring: Keyring | None = None) -> bool:
    """Store `encoded` as the state at journal seq `seq` (the caller's checkpoint, in its
    transaction), signed, and delete all but the newest `KEEP`; False for seq 0 (nothing a
    snapshot could spare)."""
    keyring = keyring or current_keyring()
    chain_hash = _chain_hash(session, seq)
    if chain_hash is None:
        return False
    session.add(
        MonitorSnapshot(
            seq=seq,
            fingerprint=encoded.fingerprint,
            chain_hash=chain_hash,
            key_id=keyring.current,
            mac=_mac(keyring.secret, seq, chain_hash, encoded.fingerprint, encoded.data),
            data=encoded.data,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    newest = (
        select(MonitorSnapshot.id)
        .order_by(MonitorSnapshot.seq.desc(), MonitorSnapshot.id.desc())
        .limit(KEEP)
    )
    session.execute(delete(MonitorSnapshot).where(MonitorSnapshot.id.not_in(newest)))
    return True


def load(
    session: Session,
    checkpoint: int,
    journal: Journal,
    rules: monitor.RuleSet,
    *,
    keyring: Keyring | None = None,
) -> tuple[int, monitor.Engine] | None:
    """The newest snapshot at or below `checkpoint` that verifies and loads: its seq and
    engine, with `journal`'s state restored (untouched by a snapshot that does not load);
    None when there is none (every one refused is logged: a warning when it fails its
    signature or does not decode)."""
    keyring = keyring or current_keyring()
    wanted = snapshot.fingerprint(rules)
    rows = session.scalars(
        select(MonitorSnapshot)
        .where(MonitorSnapshot.seq <= checkpoint)
        .order_by(MonitorSnapshot.seq.desc(), MonitorSnapshot.id.desc())
    )
    for row in rows:
        where = f"monitor snapshot {row.id} (journal seq {row.seq})"
        secret = keyring.get(row.key_id)
        if secret is None:
            log.warning("%s: signed with key %r, not in the keyring; not used", where, row.key_id)
            continue
        mac = _mac(secret, row.seq, row.chain_hash, row.fingerprint, row.data)
        if not hmac.compare_digest(mac, row.mac) or _chain_hash(session, row.seq) != row.chain_hash:
            log.warning("%s: signature does not match (edited outside neurocart); not used", where)
            continue
        if row.fingerprint != wanted:
            log.info("%s: made with other rules or another neurocart version; not used", where)
            continue
        try:
            body = json.loads(zlib.decompress(row.data))
            engine = snapshot.load(body["engine"], rules)
            journal.load_state(body["journal"])
        except (ValueError, KeyError, TypeError, zlib.error) as exc:
            log.warning("%s: does not load (%s); not used", where, type(exc).__name__)
            continue
        return row.seq, engine
    return None
