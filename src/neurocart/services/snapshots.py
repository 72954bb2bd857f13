"""Stored snapshots of the monitor engine, so a new leader replays only the journal after one.

    encoding = snapshots.Encoding(engine, journal, seq)   # the state at journal seq `seq`
    while (encoded := encoding.advance(0.01)) is None:    # between the leader's steps
        ...
    snapshots.store(session, seq, encoded)                # with a checkpoint at or after it
    found = snapshots.load(session, checkpoint, journal, engine.rules)  # None: replay all

What is stored is everything `MonitorService.take_over` would rebuild by replaying the
journal up to `seq`: the engine (`neurocart.monitor.snapshot`) and what the journal
reader learnt (`Journal.dump_state`: the people with their anchors, the patients with a CSF
value). The leader starts one at a step that reached the journal head (a long catch-up is
not slowed) when the journal advanced by `SNAPSHOT_ENTRIES` since the last one or
`SNAPSHOT_SECONDS` passed; encodes it in slices between its steps; and stores it in the
transaction of a checkpoint at or after its seq. The newest `KEEP` are kept.

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
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
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
SLICE_SECONDS = 0.01
"""How long the leader encodes a snapshot between two steps: what an alert may wait for."""


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


class Encoding:
    """A snapshot of the engine and the journal reader at journal seq `seq`, encoded by the
    leader a slice at a time between its steps (`advance`), while the engine goes on taking
    inputs (`neurocart.monitor.snapshot.Capture` keeps each patient as it was at `seq`).

    The journal reader's state is small (a line per patient) and taken whole at the start;
    the engine's is encoded patient by patient, then compressed piece by piece, so no slice
    holds the leader — and every alert waiting behind it — for longer than its budget."""

    def __init__(self, engine: monitor.Engine, journal: Journal, seq: int) -> None:
        self.seq = seq
        self._fingerprint = snapshot.fingerprint(engine.rules)
        self._capture = snapshot.Capture(engine)
        self._journal = json.dumps(journal.dump_state(), separators=(",", ":"))
        self._compressor = zlib.compressobj(1)
        self._chunks: list[bytes] = []
        self._pieces: Iterator[str] | None = None

    def advance(self, seconds: float) -> Encoded | None:
        """Work on it for about `seconds`; the snapshot once it is complete, else None."""
        deadline = time.perf_counter() + seconds
        if not self._capture.advance(deadline):
            return None
        if self._pieces is None:
            self._pieces = chain(
                ('{"engine":',), self._capture.pieces(), (',"journal":', self._journal, "}")
            )
        compress, chunks = self._compressor.compress, self._chunks
        for n, piece in enumerate(self._pieces):
            chunks.append(compress(piece.encode()))
            if n % 64 == 63 and time.perf_counter() >= deadline:
                return None
        chunks.append(self._compressor.flush())
        return Encoded(b"".join(chunks), self._fingerprint)

    def cancel(self) -> None:
        """Abandon it (the engine is replaced, or the leadership lost)."""
        self._capture.close()


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
