"""Reading HL7 v2.5.1 messages (python-hl7 parses), HL7 times, and the pseudonymized copy.

Field positions follow HL7 v2.5.1 chapter 2 (MSH), 3 (PID, PV1, EVN) and 7 (OBR, OBX, SPM).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import hl7

KEPT_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "ORC", "OBR", "OBX", "SPM", "NTE", "ERR"})
"""Segments kept in the stored copy; the others (NK1, GT1, IN1 ... next of kin, guarantors,
insurance) name people and are dropped."""
_TIME = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<f>\d{1,4}))?(?P<z>[+-]\d{4})?$"
)


class Hl7FormatError(ValueError):
    """A message that cannot be read; `location` is ``SEG^seq^field`` (HL7 ERR-2 style)."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


def parse(text: str) -> hl7.Message:
    """Parse one message (segments separated by CR; LF and CRLF are accepted too)."""
    cleaned = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")
    if not cleaned.startswith("MSH"):
        raise Hl7FormatError("MSH", "the message must begin with an MSH segment")
    try:
        return hl7.parse(cleaned)
    except Exception as exc:  # python-hl7 raises several kinds for malformed input
        raise Hl7FormatError("MSH", f"not a parseable HL7 v2 message: {exc}") from None


def get(segment: hl7.Segment, field: int, component: int = 1, repeat: int = 1, sub: int = 1) -> str:
    """The text at SEG-field.component (1-based), "" when absent."""
    try:
        value = segment.extract_field(1, field, repeat, component, sub)
    except (IndexError, KeyError):
        return ""
    return str(value).strip()


def repetitions(segment: hl7.Segment, field: int) -> list[list[str]]:
    """Each repetition of a field as its components (``A^B~C^D`` → [[A, B], [C, D]])."""
    try:
        raw = str(segment(field)) if field < len(segment) else ""
    except IndexError:
        return []
    return [rep.split("^") for rep in raw.split("~") if rep]


def segments(message: hl7.Message) -> list[hl7.Segment]:
    return list(message)


def name(segment: hl7.Segment) -> str:
    return str(segment[0][0])


def site_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_time(text: str, zone: tzinfo, location: str) -> datetime | None:
    """An HL7 DTM (YYYYMMDDHHMM[SS[.S]][+ZZZZ]) as a UTC instant; without an offset it is
    read in the site's zone. A date alone is refused (neurocart times are instants)."""
    text = text.strip()
    if not text:
        return None
    match = _TIME.match(text)
    if match is None or match["h"] is None or match["mi"] is None:
        raise Hl7FormatError(location, f"not a time (YYYYMMDDHHMM[SS][+ZZZZ]): {text!r}")
    try:
        fraction = match["f"] or "0"
        local = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"] or 0),
            int(fraction.ljust(6, "0")[:6]),
        )
    except (TypeError, ValueError):
        raise Hl7FormatError(location, f"not a valid time: {text!r}") from None
    if match["z"]:
        sign = 1 if match["z"][0] == "+" else -1
        offset = timedelta(hours=int(match["z"][1:3]), minutes=int(match["z"][3:5]))
        return local.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    return local.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Header:
    """What MSH says: who sent it, what it is, its control id."""

    application: str
    facility: str
    receiving_application: str
    receiving_facility: str
    message_code: str
    trigger: str
    control_id: str
    processing_id: str
    version: str
    accept_ack: str

    @property
    def system(self) -> str:
        """``hl7:<MSH-4>:<MSH-3>``: the sender, in `source` and the message log."""
        return f"hl7:{self.facility}:{self.application}"

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger}"


def header(message: hl7.Message) -> Header:
    msh = message.segment("MSH")
    return Header(
        application=get(msh, 3),
        facility=get(msh, 4),
        receiving_application=get(msh, 5),
        receiving_facility=get(msh, 6),
        message_code=get(msh, 9, 1),
        trigger=get(msh, 9, 2),
        control_id=get(msh, 10),
        processing_id=get(msh, 11),
        version=get(msh, 12),
        accept_ack=get(msh, 15),
    )


def pseudonymized(message: hl7.Message, study_id: str | None, authority: str, salt: str) -> str:
    """The message as stored for review: PID reduced to the study ID, visit numbers hashed,
    segments that name people dropped."""
    lines = []
    for segment in message:
        kind = name(segment)
        if kind not in KEPT_SEGMENTS:
            continue
        if kind == "PID":
            lines.append(f"PID|1||{study_id}^^^{authority}^PI" if study_id else "PID|1||")
            continue
        text = str(segment)
        if kind == "PV1":
            fields = text.split("|")
            if len(fields) > 19 and fields[19]:
                digest = hashlib.sha256(f"{salt}\x1f{fields[19]}".encode()).hexdigest()[:16]
                fields[19] = f"#{digest}"
            text = "|".join(fields)
        lines.append(text)
    return "\r".join(lines)
