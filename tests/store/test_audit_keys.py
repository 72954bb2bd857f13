"""Audit keys and serialization: RFC 8785 numbers, the keyring settings, rotation, the
checkpoint commands, and a log that began before keyed entries."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Table, select, update
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.config import Settings, get_settings
from neurocart.store import AuditEntry, Database, audit, repo
from neurocart.store.audit import _LEGACY_ENCODER, _finite_float, _float_texts
from neurocart.store.audit_keys import (
    AuditKeyError,
    Keyring,
    append_key,
    generate_key,
    keyring_from,
)
from neurocart.store.models import Observation
from tests.store.factories import patient, temperatures

# RFC 8785 appendix B: IEEE 754 bit patterns and their JSON text
RFC_NUMBERS = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


def _double(bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(bits))[0])


@pytest.mark.parametrize(("bits", "text"), RFC_NUMBERS.items())
def test_numbers_are_written_as_rfc_8785_says(bits: str, text: str) -> None:
    value = _double(bits)
    assert _finite_float(value) == text
    assert audit.canonical([value]) == f"[{text}]"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_fast_float_text_is_the_jcs_text_of_any_float(value: float) -> None:
    assert _finite_float(value) == rfc8785.dumps(value).decode()


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.sampled_from([0.0, -0.0, 38.0, -1.0, 1e16, 1e-7, 0.5]),
        )
    )
)
def test_column_float_texts_are_the_per_value_texts(values: list[float]) -> None:
    joined = _float_texts(values)
    assert (joined.split("\x00") if values else []) == [_finite_float(v) for v in values]


def test_rfc_8785_sorting_and_strings() -> None:
    """Keys sorted by UTF-16 code units, strings escaped minimally (RFC 8785 §3.2.2/3.2.3)."""
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "ö": 7}
    expected = '{"\\r":2,"1":4,"\u0080":6,"ö":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}'
    assert audit.canonical(value) == expected
    with pytest.raises(ValueError, match="RFC 8785"):
        audit.canonical(float("nan"))


# --- keys -----------------------------------------------------------------------------------


def test_keyring_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "audit.keys"
    append_key(path, "2026-01")
    append_key(path, "2026-07")
    assert path.stat().st_mode & 0o777 == 0o600
    ring = keyring_from(Settings(audit_keyring=path, audit_key=None))
    assert ring.current == "2026-07"
    assert set(ring.keys) == {"2026-01", "2026-07"}
    line = generate_key("env")
    both = keyring_from(Settings(audit_keyring=path, audit_key=line))
    assert both.current == "env"
    assert len(both.keys) == 3
    with pytest.raises(AuditKeyError, match="already exists"):
        append_key(path, "2026-01")
    with pytest.raises(AuditKeyError, match="no audit key"):
        keyring_from(Settings(audit_key=None, audit_keyring=None))
    with pytest.raises(AuditKeyError, match="shorter than 32 bytes"):
        keyring_from(Settings(audit_key="k:" + "ab" * 8))
    with pytest.raises(AuditKeyError, match="not hex"):
        keyring_from(Settings(audit_key="k:zz"))


@pytest.fixture
def keyring_env(tmp_path: Path):
    """NEUROCART_AUDIT_KEYRING set to a fresh keyring file (and the key variable unset)."""
    path = tmp_path / "audit.keys"
    append_key(path, "k1")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NEUROCART_AUDIT_KEY", raising=False)
        patch.setenv("NEUROCART_AUDIT_KEYRING", str(path))
        get_settings.cache_clear()
        yield path
    get_settings.cache_clear()


def _write(database: Database, n: int, start: float = 37.0) -> None:
    with database.transaction() as session:
        user = repo.create_user(
            session, None, username=f"u{start}", password_hash="x", role="nurse"
        )
        p = patient(session, user, f"NC-{start}")
        repo.add_observations(session, user, temperatures(p.id, n, start=start))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rotation_old_entries_verify_with_the_old_key(database: Database, keyring_env: Path):
    _write(database, 3)
    append_key(keyring_env, "k2")  # the documented rotation: append, restart
    get_settings.cache_clear()
    _write(database, 3, start=38.0)
    with database.reading() as session:
        keys = set(session.scalars(select(AuditEntry.key_id)))
        assert keys == {"k1", "k2"}
        assert audit.verify(session).ok
        ring = audit.current_keyring()
        without_old = Keyring({"k2": ring.keys["k2"]}, "k2")
        problems = audit.verify(session, keyring=without_old).problems
    assert problems
    assert all("'k1', which is not in the keyring" in p.reason for p in problems)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_checkpoint_then_verify_finds_a_truncation(database_env: str, tmp_path: Path):
    database = Database.from_url(database_env)
    _write(database, 2)
    runner = CliRunner()
    cp = tmp_path / "cp.jsonl"
    first = runner.invoke(app, ["audit", "verify", "--checkpoints", str(cp)])
    assert first.exit_code == 0, first.output
    assert "no checkpoint" in first.output
    made = runner.invoke(app, ["audit", "checkpoint", "--checkpoints", str(cp)])
    assert made.exit_code == 0, made.output
    ok = runner.invoke(app, ["audit", "verify", "--checkpoints", str(cp)])
    assert ok.exit_code == 0, ok.output
    assert "matches the checkpoints" in ok.output
    with database.engine.begin() as connection:  # the newest entry and its rows, gone
        top = connection.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())).first()
        connection.execute(Observation.__table__.delete())
        connection.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == top[0]))
    broken = runner.invoke(app, ["audit", "verify", "--checkpoints", str(cp)])
    assert broken.exit_code == 1
    assert "truncated" in broken.output
    database.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_new_key_and_reads(database_env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    ring = tmp_path / "ring"
    assert (
        runner.invoke(app, ["audit", "new-key", "--keyring", str(ring), "--id", "a"]).exit_code == 0
    )
    again = runner.invoke(app, ["audit", "new-key", "--keyring", str(ring), "--id", "a"])
    assert again.exit_code == 2
    assert "already exists" in again.output
    from neurocart.services.reads import log_read

    database = Database.from_url(database_env)
    log_read(database, None, "export:sdtm", scope={"site": "HD"}, actor="cli:someone")
    database.dispose()
    listed = runner.invoke(app, ["audit", "reads", "--check"])
    assert listed.exit_code == 0, listed.output
    assert "export:sdtm" in listed.output
    assert "cli:someone" in listed.output
    bad = runner.invoke(app, ["audit", "reads", "--since", "2025-01-01"])
    assert bad.exit_code == 2
    assert "--since" in bad.output


# --- a log that began before keyed entries ---------------------------------------------------


def _make_legacy(database: Database) -> None:
    """Rewrite every entry as the unkeyed chain an earlier version wrote: Python's JSON for
    the snapshots and row digests, plain SHA-256 for the hashes."""
    table = Observation.__table__
    assert isinstance(table, Table)
    with database.reading() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        rows = {r.id: dict(r._mapping) for r in session.execute(select(table))}
    prev = audit.GENESIS
    with database.engine.begin() as connection:
        for e in entries:
            if e.action == audit.BATCH_ACTION:
                pairs = [
                    [
                        i,
                        audit.row_digest(
                            _LEGACY_ENCODER.encode(audit.snapshot_values(table, rows[i]))
                        ),
                    ]
                    for i, _ in audit.batch_rows(e.new or "")
                ]
                new = _LEGACY_ENCODER.encode(pairs)
            else:
                new = None if e.new is None else _LEGACY_ENCODER.encode(json.loads(e.new))
            old = None if e.old is None else _LEGACY_ENCODER.encode(json.loads(e.old))
            hasher = audit._Hasher(e.at, e.actor, e.action, e.entity_type)
            digest = hasher(e.seq, e.entity_id, old, new, prev)
            connection.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == e.seq)
                .values(old=old, new=new, prev_hash=prev, hash=digest, key_id=None)
            )
            prev = digest


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unkeyed_prefix_verifies_only_when_allowed(database: Database) -> None:
    _write(database, 3, start=38.0)  # 38.0: "38.0" in the old serialization, "38" now
    _make_legacy(database)
    _write(database, 2, start=39.0)  # keyed entries chained after the old ones
    with database.reading() as session:
        allowed = audit.verify(session, unkeyed_prefix=True)
        refused = audit.verify(session, unkeyed_prefix=False)
    assert allowed.ok, allowed.problems
    assert refused.problems
    assert all("unkeyed entry" in p.reason for p in refused.problems)
    # an unkeyed entry after keyed ones is refused even when a prefix is allowed
    with database.engine.begin() as connection:
        connection.execute(update(AuditEntry).where(AuditEntry.seq == allowed.entries)
                           .values(key_id=None))  # fmt: skip
    with database.reading() as session:
        assert not audit.verify(session, unkeyed_prefix=True).ok
    # and a row of the prefix changed is still found, through its old serialization
    with database.engine.begin() as connection:
        connection.execute(update(Observation).where(Observation.id == 1).values(value=40.0))
    with database.reading() as session:
        found = audit.verify(session, unkeyed_prefix=True).problems
    assert any(p.entity == "observation 1" for p in found)


def test_times_keep_their_instant() -> None:
    """Entry times are hashed as UTC ISO text, whatever zone they were given in."""
    at = datetime(2025, 3, 1, 9, tzinfo=UTC)
    shifted = at.astimezone(timezone(timedelta(hours=5)))
    fields = ("a", "create", "observation", 1, None, {}, audit.GENESIS)
    key = {"key_id": "k", "secret": b"s" * 32}
    assert audit.entry_hash(1, at, *fields, **key) == audit.entry_hash(1, shifted, *fields, **key)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_runtime_checkpoints_when_the_head_moved(database: Database, tmp_path: Path) -> None:
    from neurocart.runtime import Runtime
    from neurocart.store.checkpoints import checkpoint_file, read_checkpoints

    url = database.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, audit_checkpoint_dir=tmp_path, monitoring=False)
    runtime = Runtime.build(settings, database)
    path = checkpoint_file(tmp_path, database.engine.url)
    _write(database, 2)
    runtime.checkpoint()
    runtime.checkpoint()  # the head did not move: nothing new
    _write(database, 1, start=39.0)
    runtime.checkpoint()
    found, problems = read_checkpoints(path, audit.current_keyring())
    assert problems == []
    with database.reading() as session:
        assert [c.seq for c in found] == [3, audit.head(session)[0]]
        assert audit.verify(session, checkpoint_path=path).ok


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats()
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)


def _rfc8785(value: object) -> str | None:
    try:
        return rfc8785.dumps(value).decode()
    except rfc8785.CanonicalizationError:
        return None


@given(_JSON_VALUES)
def test_canonical_is_the_rfc_8785_text_of_any_json_value(value: object) -> None:
    """Every JSON value (keys of any plane, control characters, floats, integers beyond
    2**53) is written as the `rfc8785` package writes it, or refused where it refuses."""
    expected = _rfc8785(value)
    if expected is None:
        with pytest.raises(ValueError, match="RFC 8785"):
            audit.canonical(value)
    else:
        assert audit.canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\uffff": 2, "a": 3},  # UTF-16 order: the emoji's surrogates first
        ['\x00\x1f\x7f\u2028"\\', "é", 2**53 - 1, -(2**53 - 1), -0.0, 1e21, 5e-324],
        ("tuple", 1),
        {"nested": [{"b": None, "a": [True, False]}]},
    ],
)
def test_canonical_writes_edge_values_as_rfc_8785(value: object) -> None:
    assert audit.canonical(value) == rfc8785.dumps(value).decode()


@pytest.mark.parametrize("value", ["\ud800", [2**53], {"x": float("nan")}, {1: "x"}, b"x"])
def test_canonical_refuses_what_rfc_8785_refuses(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        audit.canonical(value)
