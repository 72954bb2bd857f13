"""Reading HL7 v2.5.1 messages, HL7 times, and the pseudonymized copy kept for review.

Field positions follow HL7 v2.5.1 chapter 2 (MSH), 3 (PID, PV1, EVN) and 7 (OBR, OBX, SPM).
The reader is deliberately small: segments split on CR, fields on the separator MSH-1
declares, repetitions, components and subcomponents on the MSH-2 encoding characters, and
the escape sequences of chapter 2.7 (F, S, T, R, E between escape characters) undone on
read. python-hl7 (which frames MLLP for the listener, and against whose parser the tests
check this one) builds an object per component: on a 20-result lab message that costs more
than storing it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KEPT_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "ORC", "OBR", "OBX", "SPM", "NTE", "ERR"})
"""Segments kept in the stored copy; the others (NK1, GT1, IN1 ... next of kin, guarantors,
insurance) name people and are dropped."""
_TIME = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<f>\d{1,4}))?(?P<z>[+-]\d{4})?$"
)
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


class Hl7FormatError(ValueError):
    """A message that cannot be read; `location` is ``SEG^seq^field`` (HL7 ERR-2 style)."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


@dataclass(frozen=True, slots=True)
class Encoding:
    """The separators MSH-1 and MSH-2 declare (default ``|^~\\&``)."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, text: str) -> str:
        e = self.escape
        if not e or e not in text:
            return text
        out = []
        i = 0
        while i < len(text):
            if text[i] == e:
                close = text.find(e, i + 1)
                if close > i:
                    code = text[i + 1 : close]
                    out.append(
                        {
                            "F": self.field,
                            "S": self.component,
                            "T": self.subcomponent,
                            "R": self.repetition,
                            "E": e,
                            ".br": " ",
                        }.get(code, "")
                    )
                    i = close + 1
                    continue
            out.append(text[i])
            i += 1
        return "".join(out)


class Segment:
    """One segment: its id and its raw fields (field n is `fields[n]`, as HL7 numbers them)."""

    __slots__ = ("encoding", "fields", "id", "text")

    def __init__(self, text: str, encoding: Encoding) -> None:
        self.text = text
        self.encoding = encoding
        parts = text.split(encoding.field)
        self.id = parts[0]
        if self.id == "MSH":  # MSH-1 is the separator itself; MSH-2 the encoding characters
            parts = ["MSH", encoding.field, *parts[1:]]
        self.fields = parts

    def raw(self, n: int) -> str:
        return self.fields[n] if n < len(self.fields) else ""

    def get(self, n: int, component: int = 1, repeat: int = 1, sub: int = 1) -> str:
        """The unescaped text at SEG-n.component.subcomponent of a repetition ("" if absent)."""
        raw = self.raw(n)
        if self.id == "MSH" and n in (1, 2):
            return raw
        if not raw:
            return ""
        enc = self.encoding
        reps = raw.split(enc.repetition)
        if repeat > len(reps):
            return ""
        components = reps[repeat - 1].split(enc.component)
        if component > len(components):
            return ""
        subs = components[component - 1].split(enc.subcomponent)
        if sub > len(subs):
            return ""
        return enc.unescape(subs[sub - 1]).strip()


class Message:
    """A parsed message: its segments in order."""

    __slots__ = ("encoding", "segments")

    def __init__(self, segments: list[Segment], encoding: Encoding) -> None:
        self.segments = segments
        self.encoding = encoding

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def segment(self, segment_id: str) -> Segment | None:
        """The first segment with this id."""
        return next((s for s in self.segments if s.id == segment_id), None)


def parse(text: str) -> Message:
    """Parse one message (segments separated by CR; LF and CRLF are accepted too)."""
    cleaned = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")
    if not cleaned.startswith("MSH") or len(cleaned) < 8:
        raise Hl7FormatError("MSH", "the message must begin with an MSH segment")
    separator, chars = cleaned[3], cleaned[4:8]
    if separator.isalnum() or len(set(chars + separator)) != 5 or any(c.isalnum() for c in chars):
        raise Hl7FormatError("MSH^1^2", f"MSH-1/MSH-2 separators {cleaned[3:8]!r} are not valid")
    encoding = Encoding(separator, chars[0], chars[1], chars[2], chars[3])
    segments = []
    for n, line in enumerate(cleaned.split("\r"), start=1):
        if not line.strip():
            continue
        segment = Segment(line, encoding)
        if not _SEGMENT_ID.match(segment.id):
            raise Hl7FormatError(f"line {n}", f"not a segment: {line[:20]!r}")
        segments.append(segment)
    return Message(segments, encoding)


def get(segment: Segment, field: int, component: int = 1, repeat: int = 1, sub: int = 1) -> str:
    """The text at SEG-field.component (1-based), "" when absent."""
    return segment.get(field, component, repeat, sub)


def repetitions(segment: Segment, field: int) -> list[list[str]]:
    """Each repetition of a field as its components (``A^B~C^D`` → [[A, B], [C, D]])."""
    enc = segment.encoding
    raw = segment.raw(field)
    return [
        [enc.unescape(c) for c in rep.split(enc.component)]
        for rep in raw.split(enc.repetition)
        if rep
    ]


def name(segment: Segment) -> str:
    """The segment's id (MSH, OBR, OBX…), the name the mapping dispatches on."""
    return segment.id


def site_zone(name: str) -> tzinfo:
    """The site's time zone for HL7 times without an offset; UTC when the name is unknown."""
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
    try:
        if match["z"]:
            sign = 1 if match["z"][0] == "+" else -1
            offset = timedelta(hours=int(match["z"][1:3]), minutes=int(match["z"][3:5]))
            return local.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +14:00 is year 0 in UTC; offset ≥ 24 h
        raise Hl7FormatError(location, f"not a time that exists in UTC: {text!r}") from None


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


def header(message: Message) -> Header:
    """Read the MSH fields that routing, deduplication and the acknowledgement need."""
    msh = message.segments[0]
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


def pseudonymized(message: Message, study_id: str | None, authority: str, salt: str) -> str:
    """The message as stored for review: PID reduced to the study ID, visit numbers hashed,
    segments that name people dropped."""
    lines = []
    for segment in message:
        kind = segment.id
        if kind not in KEPT_SEGMENTS:
            continue
        if kind == "PID":
            lines.append(f"PID|1||{study_id}^^^{authority}^PI" if study_id else "PID|1||")
            continue
        text = segment.text
        if kind == "PV1":
            sep = message.encoding.field
            fields = text.split(sep)
            if len(fields) > 19 and fields[19]:
                digest = hashlib.sha256(f"{salt}\x1f{fields[19]}".encode()).hexdigest()[:16]
                fields[19] = f"#{digest}"
            text = sep.join(fields)
        lines.append(text)
    return "\r".join(lines)
