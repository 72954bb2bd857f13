"""HL7 v2 acknowledgements (original mode): MSA-1 AA / AE / AR, one ERR per problem.

AA: committed (skipped content is listed in ERR with severity W). AE: a known result is
invalid, nothing stored, the sender corrects and resends. AR: the message itself is refused
(unsupported type, version or processing id; unparseable; the store is down): resend later.
ERR-3 codes are HL7 table 0357 (0 accepted, 100 segment sequence error, 101 required field
missing, 102 data type error, 103 table value not found, 200 unsupported message type, 201
unsupported event code, 202 unsupported processing id, 203 unsupported version id, 204
unknown key identifier, 207 application internal error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from neurocart.interop.hl7.message import Header

TABLE_0357 = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    207: "Application internal error",
}


@dataclass(frozen=True)
class AckIssue:
    """One ERR segment: where (``OBX^1^5``), the 0357 code, severity E/W/I, the text."""

    location: str
    code: int
    message: str
    severity: str = "E"

    def segment(self) -> str:
        text = _clean(self.message)
        label = TABLE_0357.get(self.code, "")
        return f"ERR||{self.location}|{self.code}^{label}^HL70357|{self.severity}||||{text}"


def _clean(text: str) -> str:
    """Text safe inside a field (separators escaped per HL7 chapter 2.7)."""
    escaped = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    escaped = escaped.replace("&", "\\T\\").replace("~", "\\R\\")
    return escaped.replace("\r", " ").replace("\n", " ")[:500]


def build_ack(
    code: str,
    received: Header | None,
    issues: list[AckIssue],
    *,
    text: str = "",
    now: datetime | None = None,
) -> str:
    """The ACK message (segments joined by CR)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%d%H%M%S+0000")
    trigger = received.trigger if received else ""
    control = received.control_id if received else ""
    version = received.version if received and received.version else "2.5.1"
    processing = received.processing_id if received and received.processing_id else "P"
    to_app = received.application if received else ""
    to_facility = received.facility if received else ""
    from_app = received.receiving_application if received else "NEUROCART"
    from_facility = received.receiving_facility if received else ""
    ack_id = f"ACK{now.strftime('%Y%m%d%H%M%S%f')}"[:20]
    lines = [
        f"MSH|^~\\&|{from_app or 'NEUROCART'}|{from_facility}|{to_app}|{to_facility}|{stamp}||"
        f"ACK^{trigger}^ACK|{ack_id}|{processing}|{version}",
        f"MSA|{code}|{control}|{_clean(text)[:80]}",
    ]
    lines.extend(issue.segment() for issue in issues)
    return "\r".join(lines)
