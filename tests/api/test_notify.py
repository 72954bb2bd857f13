"""Notifications outside the browser: a real alert is e-mailed to a local SMTP server
(aiosmtpd) and posted to a local webhook receiver, both on 127.0.0.1; a channel that is down
is retried and its failure recorded on the alert; escalations go to the tier's channels."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from neurocart.config import Settings
from neurocart.services.alert_notes import notes_for
from neurocart.services.notify import Outbox, notify_alert_event
from neurocart.store import Database
from neurocart.store.models import Alert, AlertAction
from tests.api.conftest import T0, Headers, obs
from tests.api.test_alerts import _course

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="needs aiosmtpd (dev extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()


def _open_action(client: TestClient, headers: Headers, database: Database) -> dict[str, Any]:
    _course(client, headers, "P-001", T0.date() - timedelta(days=1))
    r = client.post("/api/v1/patients/P-001/observations", json=obs(39.6), headers=headers)
    assert r.status_code == 201, r.text
    with database.reading() as session:
        payload = session.scalar(
            select(AlertAction.payload).where(AlertAction.kind == "open").order_by(AlertAction.id)
        )
    assert payload is not None
    return dict(payload)


def test_a_new_alert_reaches_mail_and_webhook_and_is_recorded(
    client: TestClient,
    as_role: Any,
    patient: Any,
    database: Database,
    smtp: tuple[int, _Inbox],
    webhook: tuple[int, list[dict[str, Any]]],
) -> None:
    action = _open_action(client, as_role("neurologist"), database)
    discipline = action["disciplines"][0]
    mail = f"mailto://127.0.0.1:{smtp[0]}?from=neurocart@ward.test&to=oncall@ward.test"
    hook = f"json://127.0.0.1:{webhook[0]}/hook"
    settings = Settings(
        notify={discipline: [mail], "*": [hook]},
        notify_severities=["info", "warning", "urgent", "critical"],
    )
    box = Outbox(database, retries=1, backoff_seconds=0.05)
    assert notify_alert_event(action, settings=settings, database=database, outbox=box) == 2
    assert box.drain(30)
    (message,) = smtp[1].messages
    assert b"P-001" in message
    assert b"NEW" in message
    (posted,) = webhook[1]
    assert "P-001" in posted["title"]
    assert "Recommended:" in posted["message"]
    with database.reading() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.key == action["alert_key"]))
        assert alert_id is not None
        recorded = notes_for(session, [alert_id])[alert_id]
    assert [(d.kind, d.ok) for d in recorded] == [("delivery", True), ("delivery", True)]
    assert any(f"mailto://127.0.0.1:{smtp[0]}: delivered" in d.text for d in recorded)
    assert any(f"json://127.0.0.1:{webhook[0]}/hook: delivered" in d.text for d in recorded)


def test_a_channel_that_is_down_is_retried_then_recorded_failed(
    client: TestClient, as_role: Any, patient: Any, database: Database
) -> None:
    action = _open_action(client, as_role("neurologist"), database)
    down = f"json://127.0.0.1:{_free_port()}/hook"
    escalated = action | {"kind": "escalate", "level": 2, "disciplines": ["icu"]}
    settings = Settings(notify={"icu@2": [down], "icu@3": ["json://127.0.0.1:1/never"]})
    box = Outbox(database, retries=2, backoff_seconds=0.01)
    assert notify_alert_event(action, settings=settings, database=database, outbox=box) == 0
    assert notify_alert_event(escalated, settings=settings, database=database, outbox=box) == 1
    assert box.drain(30)
    with database.reading() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.key == action["alert_key"]))
        assert alert_id is not None
        (failed,) = notes_for(session, [alert_id])[alert_id]
    assert (failed.kind, failed.ok) == ("delivery", False)
    assert failed.text.startswith(f"escalate notification via {down}: failed after 3 attempt(s)")
