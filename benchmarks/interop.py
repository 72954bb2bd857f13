"""Hospital feeds: observations/s through FHIR and HL7 v2 ÷ the REST batch route, same rows.

The same observations (a mix of vitals and labs in the units a ward and a LIS send) go in
three ways into one app on one database, monitoring on as in production, in the same groups
(``--group`` rows, a lab panel: one transaction per group through every door):

- **REST** (the baseline): ``POST /api/v1/patients/{id}/observations/batch`` of a group;
- **FHIR**: ``POST /fhir``, a transaction Bundle per group (the Patient entry plus one
  Observation per row, each with its identifier and ``ifNoneExist``);
- **HL7**: an ORU^R01 message per group (one OBX per row) over MLLP to the listener on
  127.0.0.1, the sender waiting for each ACK before the next message (original mode, one
  message in flight: what a LIS does).

The modes alternate run by run; each run sends new identifiers (nothing is a resend). The
figure is the median of ``--runs`` runs (≥ 5) with the spread; targets: FHIR ÷ REST ≥ 0.5,
HL7 ÷ REST ≥ 0.5.

    .venv/bin/python benchmarks/interop.py [--patients 10] [--rows 200] [--group 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

import _harness as h
from neurocart.api import create_app
from neurocart.config import Settings
from neurocart.interop.hl7.listener import serve
from neurocart.interop.hl7.receiver import Receiver
from neurocart.services import accounts
from neurocart.store import Database, repo
from neurocart.store.engine import make_engine
from neurocart.store.models import Base

TARGET = 0.5
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
T0 = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
STUDY = "urn:neurocart:study-id"
LIS = "urn:oid:1.2.156.999.1.2"

# (LOINC, unit as sent (UCUM), low, high, LOINC name for OBX-3.2)
MIX = [
    ("8310-5", "Cel", 36.0, 40.5, "Body temperature"),
    ("8867-4", "/min", 50.0, 140.0, "Heart rate"),
    ("8480-6", "mm[Hg]", 80.0, 170.0, "Systolic blood pressure"),
    ("59408-5", "%", 85.0, 100.0, "Oxygen saturation"),
    ("1988-5", "mg/L", 0.5, 250.0, "C reactive protein"),
    ("2276-4", "ug/L", 20.0, 20000.0, "Ferritin"),
    ("777-3", "10*9/L", 10.0, 400.0, "Platelets"),
    ("751-8", "10*9/L", 0.0, 12.0, "Neutrophils"),
    ("2160-0", "umol/L", 40.0, 300.0, "Creatinine"),
]

Row = tuple[str, str, float, datetime]


def make_rows(patients: int, per_patient: int, seed: int = 11) -> list[list[Row]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(patients):
        rows = []
        for i in range(per_patient):
            code, unit, low, high, _ = MIX[int(rng.integers(len(MIX)))]
            value = round(float(rng.uniform(low, high)), 1)
            rows.append((code, unit, value, T0 + timedelta(minutes=15 * i)))
        out.append(rows)
    return out


@contextmanager
def world(patients: int) -> Iterator[tuple[TestClient, Database, Any, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        database = Database.from_url(url)
        with database.transaction() as session:
            user = repo.create_user(
                session, None, username="bench-feed", password_hash="x", role="data_manager"
            )
            for p in range(patients):
                patient = repo.create_patient(
                    session,
                    None,
                    repo.PatientIn(study_id=f"NC-{p:04d}", site="A", sex="female", diagnosis="mg"),
                )
                repo.create_course(
                    session,
                    None,
                    repo.CourseIn(
                        patient_id=patient.id,
                        product="CT103A",
                        infusion_at=T0 - timedelta(days=1),
                    ),
                )
            token = accounts.open_session(session, Settings(secret_key=SECRET), user)
        app = create_app(Settings(database_url=url, secret_key=SECRET), database)
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            yield client, database, (app, user), headers
        database.dispose()


def groups(data: list[list[Row]], size: int) -> Iterator[tuple[int, int, list[Row]]]:
    """(patient, first row index, rows) of every group."""
    for p, rows in enumerate(data):
        for start in range(0, len(rows), size):
            yield p, start, rows[start : start + size]


def rest_run(
    client: TestClient, headers: dict[str, str], data: list[list[Row]], run: int, size: int
) -> None:
    for p, _, rows in groups(data, size):
        body = {
            "observations": [
                {"code": c, "value": v, "unit": u, "effective_at": t.isoformat(), "source": "bench"}
                for c, u, v, t in rows
            ]
        }
        r = client.post(
            f"/api/v1/patients/NC-{p:04d}/observations/batch", json=body, headers=headers
        )
        assert r.status_code == 201, r.text


def fhir_run(
    client: TestClient, headers: dict[str, str], data: list[list[Row]], run: int, size: int
) -> None:
    for p, first, rows in groups(data, size):
        ref = f"urn:uuid:00000000-0000-4000-8000-{p:012d}"
        entries: list[dict[str, Any]] = [
            {
                "fullUrl": ref,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": STUDY, "value": f"NC-{p:04d}"}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={STUDY}|NC-{p:04d}",
                },
            }
        ]
        for i, (code, unit, value, at) in enumerate(rows, start=first):
            ident = f"R{run}-P{p}-{i}"
            entries.append(
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "identifier": [{"system": LIS, "value": ident}],
                        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                        "subject": {"reference": ref},
                        "effectiveDateTime": at.isoformat(),
                        "valueQuantity": {
                            "value": value,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        },
                    },
                    "request": {
                        "method": "POST",
                        "url": "Observation",
                        "ifNoneExist": f"identifier={LIS}|{ident}",
                    },
                }
            )
        body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = client.post("/fhir", json=body, headers=headers)
        assert r.status_code == 200, r.text


def hl7_messages(data: list[list[Row]], run: int, per_message: int) -> list[bytes]:
    names = {m[0]: m[4] for m in MIX}
    frames = []
    for n, (p, _, group) in enumerate(groups(data, per_message), start=1):
        lines = [
            "MSH|^~\\&|LIS|HOSP_A|NEUROCART|SITE_A|20250603081500+0800||ORU^R01^ORU_R01|"
            f"B{run}-{n}|P|2.5.1",
            f"PID|1||NC-{p:04d}^^^NEUROCART^PI",
            f"OBR|1|ORD{n}^HIS|F{run}-{n}^LIS|PANEL^Panel^L",
        ]
        for k, (code, unit, value, at) in enumerate(group, 1):
            when = at.strftime("%Y%m%d%H%M%S+0000")
            lines.append(
                f"OBX|{k}|NM|{code}^{names[code]}^LN|{k}|{value}|{unit}^{unit}^UCUM|||||F|||{when}"
            )
        frames.append(b"\x0b" + "\r".join(lines).encode() + b"\x1c\r")
    return frames


def hl7_run(port: int, frames: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        for frame in frames:
            conn.sendall(frame)
            buffer = b""
            while b"\x1c\r" not in buffer:
                chunk = conn.recv(65536)
                assert chunk, "the listener closed the connection"
                buffer += chunk
            assert b"MSA|AA|" in buffer, buffer[:300]


@contextmanager
def listener(receiver: Receiver) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ports: list[int] = []
    started = threading.Event()

    def ready(port: int) -> None:
        ports.append(port)
        started.set()

    thread = threading.Thread(
        target=lambda: loop.run_until_complete(serve(receiver, port=0, ready=ready, stop=stop)),
        daemon=True,
    )
    thread.start()
    started.wait(30)
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} median {statistics.median(values):>9,.0f}  "
        f"(min {min(values):,.0f} – max {max(values):,.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--rows", type=int, default=200, help="observations per patient")
    parser.add_argument("--group", type=int, default=20, help="rows per request/message")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = max(5, args.runs)
    data = make_rows(args.patients, args.rows)
    total = args.patients * args.rows
    print(
        f"interop: {total} observations ({args.patients} patients × {args.rows}); "
        f"{args.group} per request, Bundle or message; {runs} runs; SQLite; monitoring on"
    )
    print(f"target: FHIR ÷ REST ≥ {TARGET}, HL7 ÷ REST ≥ {TARGET}")
    rates: dict[str, list[float]] = {"rest": [], "fhir": [], "hl7": []}
    ratios: dict[str, list[float]] = {"fhir": [], "hl7": []}
    with world(args.patients) as (client, database, (_app, user), headers):
        receiver = Receiver(database, user)
        with listener(receiver) as port:
            warm = make_rows(args.patients, 20, seed=3)  # imports, caches, the monitor rebuild
            rest_run(client, headers, warm, -1, args.group)
            fhir_run(client, headers, warm, -1, args.group)
            hl7_run(port, hl7_messages(warm, -1, args.group))
            for run in range(runs):
                frames = hl7_messages(data, run, args.group)
                rest = total / timed(partial(rest_run, client, headers, data, run, args.group))
                fhir = total / timed(partial(fhir_run, client, headers, data, run, args.group))
                hl7 = total / timed(partial(hl7_run, port, frames))
                rates["rest"].append(rest)
                rates["fhir"].append(fhir)
                rates["hl7"].append(hl7)
                ratios["fhir"].append(fhir / rest)
                ratios["hl7"].append(hl7 / rest)
    print(summary("REST batch (obs/s)", rates["rest"]))
    print(summary("FHIR Bundle (obs/s)", rates["fhir"]))
    print(summary("HL7 MLLP (obs/s)", rates["hl7"]))
    rest = statistics.median(rates["rest"])
    for name, label in (("fhir", "FHIR Bundle"), ("hl7", "HL7 v2 over MLLP")):
        h.at_least(
            "interop",
            f"{label} ingest ÷ REST batch ≥ {TARGET:g}",
            h.sample(ratios[name]),
            TARGET,
            fmt=".2f",
            baseline=f"{statistics.median(rates[name]):,.0f} vs REST {rest:,.0f} obs/s",
        )


if __name__ == "__main__":
    main()
