"""ORU^R01 results and ADT A01/A03/A08 stays → neurocart requests (pure: no database).

ORU^R01 (HL7 v2.5.1 chapter 7): each OBX under its OBR, with the SPM that follows.

- OBX-3 is the test: CE.3 = ``LN`` means LOINC, anything else goes through the site's
  code map (a code in neither is not stored and named in ERR, severity W).
- OBX-5 the value (NM, SN without comparator, or a coded answer → 1/0), OBX-6 the unit
  (CE.1 when CE.3 = UCUM, else CE.2), converted by `neurocart.ingest` like any other row.
- OBX-11: F stores (a resend with another value corrects), C corrects the key's current
  row, D and W retract it, X retracts an earlier result (nothing else is stored), P R S I O
  N U are not stored (W).
- OBX-14 is the time (else SPM-17.1, else OBR-7); a time without an offset is site time.
- SPM-4 (or OBR-15 before v2.5) is the specimen, table 0487.
- The ingest key is OBR-3 (filler order number), OBX-3.1, OBX-4 and SPM-2.

ADT: A01 (PV1-2 = I or E) opens a hospitalization (onset PV1-44, else EVN-6, else EVN-2;
ward PV1-3.1), keyed by the visit number PV1-19; A03 sets its end (PV1-45); A08 corrects
the times when they changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from neurocart.ingest import ObservationIn, Specimen
from neurocart.ingest.codes import RESULT_UNIT, lookup
from neurocart.interop.codemap import CodeMap
from neurocart.interop.feed import Act, ObservationItem
from neurocart.interop.fhir.terms import SPECIMEN_IN
from neurocart.interop.hl7.ack import AckIssue
from neurocart.interop.hl7.message import (
    Hl7FormatError,
    Message,
    Segment,
    get,
    name,
    parse_time,
)
from neurocart.store.models import EventType

FIELD_OF = {
    "code": 3,
    "code_system": 3,
    "value": 5,
    "unit": 6,
    "effective_at": 14,
    "source": 3,
    "note": 3,
}
"""The ingest rules' field → the OBX field it came from (specimen: SPM-4)."""
NOT_STORED = frozenset("PRSIONU")


@dataclass
class Result:
    """One mapped OBX: where it came from, the request, and its ingest key."""

    location: str
    item: ObservationItem
    specimen_location: str


@dataclass
class Mapped:
    """A message mapped: what to store, what was skipped (W), what is wrong (E)."""

    results: list[Result] = field(default_factory=list)
    warnings: list[AckIssue] = field(default_factory=list)
    errors: list[AckIssue] = field(default_factory=list)


def map_oru(
    message: Message, control_id: str, source: str, zone: tzinfo, codemap: CodeMap
) -> Mapped:
    """Map an ORU^R01 result message to observations, resolving each OBX through the sender's code
    map.
    """
    mapped = Mapped()
    obr: Segment | None = None
    pending: list[tuple[Segment, int]] = []
    group_spm: Segment | None = None

    def flush() -> None:
        for obx, position in pending:
            _map_obx(mapped, obr, obx, group_spm, position, control_id, source, zone, codemap)
        pending.clear()

    obx_count = 0
    for segment in message:
        kind = name(segment)
        if kind == "OBR":
            flush()
            obr, group_spm = segment, None
        elif kind == "OBX":
            obx_count += 1
            if obr is None:
                mapped.errors.append(AckIssue(f"OBX^{obx_count}", 100, "OBX before any OBR"))
                continue
            pending.append((segment, obx_count))
        elif kind == "SPM" and group_spm is None:
            group_spm = segment
    flush()
    if obx_count == 0:
        mapped.errors.append(AckIssue("OBX", 101, "an ORU^R01 needs at least one OBX"))
    return mapped


def _map_obx(
    mapped: Mapped,
    obr: Segment | None,
    obx: Segment,
    spm: Segment | None,
    position: int,
    control_id: str,
    source: str,
    zone: tzinfo,
    codemap: CodeMap,
) -> None:
    assert obr is not None
    at = f"OBX^{position}"
    status = get(obx, 11).upper()
    code, coding = get(obx, 3, 1), get(obx, 3, 3)
    if not code:
        mapped.errors.append(AckIssue(f"{at}^3", 101, "OBX-3 (the test code) is required"))
        return
    if status in NOT_STORED:
        mapped.warnings.append(
            AckIssue(f"{at}^11", 0, f"OBX-11={status}: result {code} not stored", "W")
        )
        return
    if status not in ("F", "C", "D", "W", "X"):
        mapped.errors.append(
            AckIssue(f"{at}^11", 103, f"OBX-11 {status!r} is not in table 0085", "E")
        )
        return
    target = codemap.resolve(code, "LN" if coding == "LN" else f"hl7:{coding}")
    if target is None:
        mapped.warnings.append(
            AckIssue(
                f"{at}^3",
                103,
                f"unmapped code {code} ({coding or 'no coding system'}): not stored; add it to "
                "the site's code map",
                "W",
            )
        )
        return
    spm_code = get(spm, 4) if spm is not None else get(obr, 15)
    spm_location = "SPM^1^4" if spm is not None else "OBR^1^15"
    specimen: Specimen | None = target.specimen
    if spm_code:
        if spm_code not in SPECIMEN_IN:
            mapped.errors.append(
                AckIssue(
                    spm_location,
                    103,
                    f"specimen type {spm_code!r} not known; accepted (0487): "
                    + ", ".join(SPECIMEN_IN),
                )
            )
            return
        specimen = SPECIMEN_IN[spm_code]
    try:
        when = (
            parse_time(get(obx, 14), zone, f"{at}^14")
            or (parse_time(get(spm, 17), zone, "SPM^1^17") if spm is not None else None)
            or parse_time(get(obr, 7), zone, "OBR^1^7")
        )
    except Hl7FormatError as exc:
        mapped.errors.append(AckIssue(exc.location, 102, exc.message))
        return
    if when is None:
        mapped.errors.append(AckIssue(f"{at}^14", 101, "no time: OBX-14, SPM-17 or OBR-7"))
        return
    act = {"F": Act.CREATE, "C": Act.CORRECT}.get(status, Act.RETRACT)
    key = "|".join((get(obr, 3), code, get(obx, 4), _raw(spm, 2)))
    reason = None
    if act is Act.CORRECT:
        reason = f"LIS correction OBX-11=C, MSH-10 {control_id}"
    elif act is Act.RETRACT:
        reason = f"LIS OBX-11={status}, MSH-10 {control_id}"
    value = _value(mapped, obx, at, codemap, target.code, target.system)
    if value is None:
        if act is not Act.RETRACT:
            return
        value = (0.0, RESULT_UNIT)
    number, unit = value
    if unit == "" and target.unit:
        unit = target.unit
    if not unit:
        unit = lookup(target.code, target.system).unit
    raw = ObservationIn.model_construct(
        code=target.code,
        code_system=target.system,
        value=number,
        unit=unit,
        specimen=specimen,
        effective_at=when,
        source=source,
        note=None,
    )
    mapped.results.append(Result(at, ObservationItem(key, raw, act, reason), spm_location))


def _raw(segment: Segment | None, field_number: int) -> str:
    return "" if segment is None else segment.raw(field_number).strip()


def _value(
    mapped: Mapped, obx: Segment, at: str, codemap: CodeMap, code: str, system: str
) -> tuple[float, str] | None:
    kind = get(obx, 2).upper()
    unit_code, unit_text, unit_system = get(obx, 6, 1), get(obx, 6, 2), get(obx, 6, 3)
    unit = unit_code if unit_system.upper() == "UCUM" else (unit_text or unit_code)
    if kind in ("CWE", "CE", "ST", "TX", "FT"):
        words = [get(obx, 5, 1), get(obx, 5, 2)]
        for word in words:
            if word:
                answer = codemap.answer(word)
                if answer is not None:
                    return answer, RESULT_UNIT
        if kind in ("ST", "TX", "FT"):
            try:
                return float(get(obx, 5)), unit
            except ValueError:
                pass
        mapped.errors.append(
            AckIssue(f"{at}^5", 103, f"qualitative answer not known: {words[0]!r}")
        )
        return None
    if kind == "SN":
        comparator, number = get(obx, 5, 1), get(obx, 5, 2)
        if comparator not in ("", "="):
            mapped.warnings.append(
                AckIssue(
                    f"{at}^5", 0, f"{comparator}{number}: a bound, not a value; not stored", "W"
                )
            )
            return None
        text = number
    elif kind in ("NM", ""):
        text = get(obx, 5)
    else:
        mapped.errors.append(AckIssue(f"{at}^2", 102, f"OBX-2 {kind!r} not supported"))
        return None
    try:
        return float(text), unit
    except ValueError:
        mapped.errors.append(AckIssue(f"{at}^5", 102, f"not a number: {text!r}"))
        return None


@dataclass
class Stay:
    """An ADT message mapped: the stay's key and what is known of it."""

    key: str
    values: dict[str, Any]
    onset_known: bool


def map_adt(message: Message, trigger: str, zone: tzinfo) -> Stay | AckIssue | None:
    """The stay, an error (AE), or None when there is nothing to store (not an inpatient)."""
    pv1 = _first(message, "PV1")
    if pv1 is None:
        return AckIssue("PV1", 101, "an ADT message needs a PV1 segment")
    patient_class = get(pv1, 2).upper()
    if patient_class not in ("I", "E"):
        return None
    visit = get(pv1, 19)
    if not visit:
        return AckIssue("PV1^1^19", 101, "PV1-19 (visit number) is required")
    evn = _first(message, "EVN")
    try:
        onset = parse_time(get(pv1, 44), zone, "PV1^1^44")
        if onset is None and evn is not None and trigger == "A01":
            onset = parse_time(get(evn, 6), zone, "EVN^1^6") or parse_time(
                get(evn, 2), zone, "EVN^1^2"
            )
        end = parse_time(get(pv1, 45), zone, "PV1^1^45")
    except Hl7FormatError as exc:
        return AckIssue(exc.location, 102, exc.message)
    if trigger == "A01" and onset is None:
        return AckIssue("PV1^1^44", 101, "the admission time (PV1-44 or EVN-6/EVN-2)")
    if trigger == "A03" and end is None:
        return AckIssue("PV1^1^45", 101, "the discharge time (PV1-45) is required in A03")
    values: dict[str, Any] = {"type": EventType.HOSPITALIZATION}
    if onset is not None:
        values["onset_at"] = onset
    if end is not None:
        values["end_at"] = end
    details = {"patient_class": patient_class}
    ward = get(pv1, 3, 1)
    if ward:
        details["ward"] = ward[:64]
    values["details"] = details
    return Stay(visit, values, onset is not None)


def _first(message: Message, kind: str) -> Segment | None:
    for segment in message:
        if name(segment) == kind:
            return segment
    return None


def when_text(at: datetime) -> str:
    """Format a UTC time as an HL7 v2 timestamp with an explicit +0000 offset."""
    return at.strftime("%Y%m%d%H%M%S+0000")
