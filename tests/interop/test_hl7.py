"""HL7 v2.5.1 feeds: ORU^R01 and ADT through the receiver, over MLLP on 127.0.0.1, from a file.

The messages are those of the HL7 v2.5.1 chapter 7 ORU^R01 and chapter 3 ADT layouts, as a
Chinese hospital LIS/HIS sends them (times with +0800, MRNs mapped through a crosswalk).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from neurocart.cli import app as cli
from neurocart.interop.codemap import CodeMap, CodeMapError
from neurocart.interop.hl7.listener import serve
from neurocart.interop.hl7.receiver import Receiver
from neurocart.store import Database, Patient, User, repo
from neurocart.store.interop import FeedMessage
from neurocart.store.models import AuditEntry, Observation
from tests.interop import hl7_messages as hm

CROSSWALK = {("HOSP_A", "H12345"): "NC-0007"}


@pytest.fixture
def receiver(database: Database, feed_user: User, patient: Patient) -> Receiver:
    return Receiver(database, feed_user, crosswalk=CROSSWALK)


def _observations(database: Database, patient: Patient, history: bool = True) -> list[Observation]:
    with database.reading() as session:
        return repo.list_observations(session, patient.id, history=history)


def _count(database: Database, model: type) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_e1_final_crp_is_stored_and_acknowledged(
    receiver: Receiver, database: Database, patient: Patient
) -> None:
    ack = receiver.handle(hm.oru())
    assert hm.msa(ack)[1:3] == ["AA", "LIS000123"]
    assert "ACK^R01^ACK" in ack.split("\r")[0]
    (row,) = _observations(database, patient)
    assert (row.code, row.value, row.unit, row.specimen.value) == ("1988-5", 86.4, "mg/L", "serum")
    assert row.effective_at == datetime(2025, 6, 2, 22, 20, tzinfo=UTC)
    assert row.source == "hl7:HOSP_A:LIS"
    with database.reading() as session:
        (kept,) = session.scalars(select(FeedMessage)).all()
    assert (kept.status, kept.ack_code, kept.ack) == ("accepted", "AA", ack)
    assert "H12345" not in kept.message  # pseudonymized: no MRN, name or address kept
    assert "DOE" not in kept.message
    assert "NC-0007^^^NEUROCART^PI" in kept.message
    audit = _count(database, AuditEntry)
    assert receiver.handle(hm.oru()) == ack  # a resend gets its original ACK ...
    assert len(_observations(database, patient)) == 1  # ... and writes nothing
    assert _count(database, AuditEntry) == audit


def test_e2_correction_supersedes(receiver: Receiver, database: Database, patient: Patient) -> None:
    assert hm.msa(receiver.handle(hm.oru()))[1] == "AA"
    ack = receiver.handle(hm.oru("LIS000124", value="68.4", status="C"))
    assert hm.msa(ack)[1] == "AA"
    first, second = _observations(database, patient)
    assert second.supersedes_id == first.id
    assert second.value == 68.4
    assert second.correction_reason == "LIS correction OBX-11=C, MSH-10 LIS000124"
    (current,) = _observations(database, patient, history=False)
    assert current.id == second.id
    # a "final" resent with another value is a correction too, with a warning
    ack = receiver.handle(hm.oru("LIS000125", value="70.0"))
    assert hm.msa(ack)[1] == "AA"
    assert "changed value" in hm.errs(ack)[0][-1]
    assert [o.value for o in _observations(database, patient)] == [86.4, 68.4, 70.0]
    ack = receiver.handle(hm.oru("LIS000126", status="W"))  # posted as wrong: retracted
    assert hm.msa(ack)[1] == "AA"
    assert _observations(database, patient, history=False) == []


def test_ae_stores_nothing_and_names_the_obx(
    receiver: Receiver, database: Database, patient: Patient
) -> None:
    bad = hm.oru("LIS000200", code="8310-5^Body temperature^LN", value="98.6", units="Cel^^UCUM")
    ack = receiver.handle(bad)
    assert hm.msa(ack)[1] == "AE"
    (err,) = hm.errs(ack)
    assert err[2] == "OBX^1^5"
    assert err[3].startswith("102^")
    assert err[4] == "E"
    assert "physiologically possible" in err[-1]
    assert _observations(database, patient) == []
    unit = receiver.handle(hm.oru("LIS000201", units="mmol/L^^UCUM"))
    assert hm.msa(unit)[1] == "AE"
    assert hm.errs(unit)[0][2] == "OBX^1^6"
    csf = receiver.handle(hm.oru("LIS000202", specimen="CSF^CSF^HL70487"))
    assert hm.msa(csf)[1] == "AE"
    assert hm.errs(csf)[0][2] == "SPM^1^4"
    assert _observations(database, patient) == []
    with database.reading() as session:
        kept = session.scalars(select(FeedMessage).where(FeedMessage.status == "refused")).all()
    assert len(kept) == 3
    assert all(k.reason for k in kept)  # kept for review, with the reason


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_ar_for_what_is_not_supported(receiver: Receiver, patient: Patient) -> None:
    assert hm.errs(receiver.handle(hm.oru("X1", message_type="ORM^O01^ORM_O01")))[0][3].startswith(
        "200^"
    )
    assert hm.msa(receiver.handle(hm.oru("X2", message_type="ORU^R30^ORU_R30")))[1] == "AR"
    old = receiver.handle(hm.oru("X3", version="2.2"))
    assert hm.msa(old)[1] == "AR"
    assert hm.errs(old)[0][3].startswith("203^")
    garbage = receiver.handle("this is not HL7")
    assert hm.msa(garbage)[1] == "AR"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_unmapped_codes_and_unknown_patients_are_named_never_guessed(
    database: Database, feed_user: User, patient: Patient, tmp_path: Path
) -> None:
    plain = Receiver(database, feed_user, crosswalk=CROSSWALK)
    ack = plain.handle(hm.oru("U1", code="CRP-S^CRP serum^L"))
    assert hm.msa(ack)[1] == "AA"
    assert "unmapped code CRP-S" in hm.errs(ack)[0][-1]
    assert hm.errs(ack)[0][4] == "W"
    assert _observations(database, patient) == []
    codes = tmp_path / "lis.toml"
    codes.write_text('[codes."CRP-S"]\nloinc = "1988-5"\nunit = "mg/L"\n', encoding="utf-8")
    mapped = Receiver(database, feed_user, codemap=CodeMap.load(codes), crosswalk=CROSSWALK)
    ack = mapped.handle(hm.oru("U2", code="CRP-S^CRP serum^L", units=""))
    assert hm.msa(ack)[1] == "AA"
    assert [(o.code, o.value) for o in _observations(database, patient)] == [("1988-5", 86.4)]
    stranger = plain.handle(hm.oru("U3", pid="H99999^^^HOSP_A^MR"))
    assert hm.msa(stranger)[1] == "AA"
    assert hm.errs(stranger)[0][3].startswith("204^")
    strict = Receiver(database, feed_user, crosswalk=CROSSWALK, unknown_patient="error")
    assert hm.msa(strict.handle(hm.oru("U4", pid="H99999^^^HOSP_A^MR")))[1] == "AE"
    bad_map = tmp_path / "bad.toml"
    bad_map.write_text('[codes.X]\nloinc = "0000-0"\n', encoding="utf-8")
    with pytest.raises(CodeMapError, match=r"codes\.X\.loinc"):
        CodeMap.load(bad_map)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_adt_admission_and_discharge(
    receiver: Receiver, database: Database, patient: Patient
) -> None:
    assert hm.msa(receiver.handle(hm.adt()))[1] == "AA"
    with database.reading() as session:
        (stay,) = repo.list_events(session, patient.id)
    assert stay.type.value == "hospitalization"
    assert stay.onset_at == datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
    assert stay.details == {"patient_class": "I", "ward": "HEM"}
    same = hm.adt("A08", "HIS0100")
    assert hm.msa(receiver.handle(same))[1] == "AA"
    out = hm.adt("A03", "HIS0101", discharge="20250620100000+0800")
    assert hm.msa(receiver.handle(out))[1] == "AA"
    with database.reading() as session:
        (stay,) = repo.list_events(session, patient.id)
        versions = repo.history(session, type(stay), stay.id)
    assert stay.end_at == datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
    assert len(versions) == 2  # the A08 without changes wrote nothing
    outpatient = hm.adt("A01", "HIS0102", patient_class="O")
    assert hm.errs(receiver.handle(outpatient))[0][4] == "W"


@pytest.fixture
def listening(receiver: Receiver) -> Iterator[int]:
    """The MLLP listener on 127.0.0.1 (a free port), in a thread; yields the port."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ports: list[int] = []
    started = threading.Event()

    def ready(port: int) -> None:
        ports.append(port)
        started.set()

    def run() -> None:
        loop.run_until_complete(serve(receiver, port=0, ready=ready, stop=stop))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield ports[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def mllp_exchange(port: int, messages: list[str]) -> list[str]:
    """Send each message over one connection and read its ACK (MLLP framing)."""
    acks = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        buffer = b""
        for text in messages:
            conn.sendall(b"\x0b" + text.encode() + b"\x1c\r")
            while b"\x1c\r" not in buffer:
                chunk = conn.recv(65536)
                assert chunk, "connection closed before the ACK"
                buffer += chunk
            block, buffer = buffer.split(b"\x1c\r", 1)
            acks.append(block.lstrip(b"\x0b").decode())
    return acks


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_mllp_over_a_socket_gets_aa_ae_ar(
    listening: int, database: Database, patient: Patient
) -> None:
    acks = mllp_exchange(
        listening,
        [
            hm.oru(),
            hm.oru("LIS000124", value="68.4", status="C"),
            hm.oru("LIS000300", value="-5"),
            hm.oru("LIS000301", message_type="QRY^A19^QRY_A19"),
            hm.adt(),
        ],
    )
    assert [hm.msa(a)[1] for a in acks] == ["AA", "AA", "AE", "AR", "AA"]
    assert [hm.msa(a)[2] for a in acks] == [
        "LIS000123",
        "LIS000124",
        "LIS000300",
        "LIS000301",
        "HIS0099",
    ]
    assert [o.value for o in _observations(database, patient, history=False)] == [68.4]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_hl7_import_file_and_the_review_lists(
    database_env: str, patient: Patient, feed_user: User, tmp_path: Path
) -> None:
    path = tmp_path / "feed.hl7"
    path.write_text(
        "\n".join(
            [
                hm.oru().replace("\r", "\n"),
                hm.oru("LIS000124", value="68.4", status="C").replace("\r", "\n"),
                hm.oru("LIS000125", code="K0099^Odd test^L").replace("\r", "\n"),
            ]
        ),
        encoding="utf-8",
    )
    walk = tmp_path / "xwalk.csv"
    walk.write_text("authority,mrn,study_id\nHOSP_A,H12345,NC-0007\n", encoding="utf-8")
    runner = CliRunner()
    args = ["hl7", "import", str(path), "--as", "lis-feed", "--crosswalk", str(walk)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "LIS000123: AA" in result.output
    assert "AA 3" in result.output
    listed = runner.invoke(cli, ["hl7", "unmapped"])
    assert "K0099" in listed.output
    bad = tmp_path / "bad.hl7"
    bad.write_text(hm.oru("LIS000400", value="abc"), encoding="utf-8")
    result = runner.invoke(cli, ["hl7", "import", str(bad), *args[3:]])
    assert result.exit_code == 1
    assert "AE" in result.output
    review = runner.invoke(cli, ["hl7", "messages", "--status", "refused"])
    assert "LIS000400" in review.output
    nobody = runner.invoke(cli, ["hl7", "import", str(path), "--as", "nobody"])
    assert nobody.exit_code == 2


@pytest.mark.parametrize(
    "text",
    [
        hm.oru(),
        hm.adt(),
        hm.oru(code="X\\S\\Y^Odd \\T\\ name^L", value="1\\F\\2"),
        hm.oru().replace("|", "#").replace("MSH#^~\\&#", "MSH#^~\\&#"),
    ],
)
def test_the_reader_agrees_with_python_hl7(text: str) -> None:
    """Every field, component and repetition as python-hl7 reads it (escapes undone)."""
    import hl7

    from neurocart.interop.hl7.message import parse

    ours = parse(text)
    theirs = hl7.parse(text)
    assert [s.id for s in ours] == [str(s[0][0]) for s in theirs]
    for mine, other in zip(ours, theirs, strict=True):
        start = 3 if mine.id == "MSH" else 1  # MSH-1/2 are the separators themselves
        for n in range(start, len(other)):
            for rep in (1, 2):
                for comp in (1, 2, 3, 4, 5):
                    try:
                        expected = str(other.extract_field(1, n, rep, comp, 1)).strip()
                    except IndexError:
                        expected = ""
                    assert mine.get(n, comp, rep) == expected, (mine.id, n, rep, comp)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_a_refused_message_is_handled_anew_when_resent(
    database: Database, feed_user: User, patient: Patient, tmp_path: Path
) -> None:
    plain = Receiver(database, feed_user, crosswalk=CROSSWALK, unknown_patient="error")
    message = hm.oru("R1", pid="H55555^^^HOSP_A^MR")
    assert hm.msa(plain.handle(message))[1] == "AE"
    fixed = Receiver(database, feed_user, crosswalk={**CROSSWALK, ("HOSP_A", "H55555"): "NC-0007"})
    assert hm.msa(fixed.handle(message))[1] == "AA"  # the crosswalk now knows the patient
    assert len(_observations(database, patient)) == 1
    with database.reading() as session:
        (kept,) = session.scalars(select(FeedMessage)).all()
    assert (kept.status, kept.ack_code) == ("accepted", "AA")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_any_mangled_message_gets_an_ack(receiver: Receiver) -> None:
    """Fields of real messages replaced by arbitrary text: always one ACK, AA, AE or AR."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    bases = [hm.oru(), hm.adt(), hm.adt("A03", discharge="20250620100000+0800")]
    text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(bases), st.lists(st.tuples(st.integers(0, 200), text), max_size=4))
    def check(base: str, changes: list[tuple[int, str]]) -> None:
        lines = [line.split("|") for line in base.split("\r")]
        cells = [(r, c) for r, line in enumerate(lines) for c in range(1, len(line))]
        for pick, value in changes:
            r, c = cells[pick % len(cells)]
            lines[r][c] = value
        ack = receiver.handle("\r".join("|".join(line) for line in lines))
        assert hm.msa(ack)[1] in ("AA", "AE", "AR", "CA", "CE", "CR"), ack
        assert not any(e[3].startswith("207^") for e in hm.errs(ack)), ack  # no internal error

    check()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_the_review_lists_over_the_api(client: Any, receiver: Receiver, as_role: Any) -> None:
    receiver.handle(hm.oru("V1", code="K0099^Odd test^L"))
    receiver.handle(hm.oru("V2", value="abc"))
    admin = as_role("admin")
    codes = client.get("/api/v1/feeds/unmapped-codes", headers=admin)
    assert codes.status_code == 200
    assert codes.json() == [
        {"sender": "hl7:HOSP_A:LIS", "code": "K0099", "coding_system": "L", "messages": 1}
    ]
    refused = client.get("/api/v1/feeds/messages?status=refused", headers=admin).json()
    assert [m["control_id"] for m in refused] == ["V2"]
    assert "not a number" in refused[0]["reason"]
    assert client.get("/api/v1/feeds/messages", headers=as_role("nurse")).status_code == 403


def test_msh18_decides_the_character_set() -> None:
    from neurocart.interop.hl7.listener import decode

    text = hm.oru().replace("|P|2.5.1", "|P|2.5.1||||||GB 18030-2000").replace("DOE^JANE", "张^三")
    assert decode(text.encode("gb18030")) == text  # declared: GB18030, not the UTF-8 default
    plain = hm.oru().replace("DOE^JANE", "张^三")
    assert decode(plain.encode("utf-8")) == plain
    assert decode(plain.encode("gb18030"), "gb18030") == plain
