"""Structured study records — MRI scans and nerve-conduction studies — and what they mean.

    with db.transaction() as session:
        scan = record_mri_scan(session, user, patient_id, MriScanIn(scan_date=..., ...))
    with db.reading() as session:
        for scan, activity in mri_course(session, patient_id): ...

A record is validated by the calculator that will read it before anything is stored (the MRI
rules of `mri_activity`: a comparator before the scan, counts only against a comparator, both
counts with one; the nerve rules of `cidp_ncs_ean_pns_2021`: known nerves, one record per nerve
and side), so a record that cannot be graded is refused naming the field (CalculatorInputError,
422 at the API). The store keeps what was entered; the grade is computed when read, with the
comparator's field strength and brain volume looked up from the patient's scan on the
comparator date.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from neurocart.services.errors import InvalidInputError, Problem
from neurocart.standards import CalculatorInputError, FieldProblem, Result, calculate, get
from neurocart.store import records
from neurocart.store.models import MriRegion, MriScan, NerveConductionStudy, User

M = TypeVar("M", bound=BaseModel)


class MriScanIn(BaseModel):
    """An MRI read as entered from the radiology report (counts as the reader reported them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    scan_date: date
    comparator_date: date | None = None
    region: MriRegion = MriRegion.BRAIN
    field_strength_t: float | None = Field(None, gt=0, le=12)
    sequence_3d_flair: bool | None = None
    contrast_given: bool = False
    new_t2_lesions: int | None = Field(None, ge=0, le=1000)
    enlarging_t2_lesions: int | None = Field(None, ge=0, le=1000)
    gd_enhancing_lesions: int | None = Field(None, ge=0, le=1000)
    t2_lesion_volume_ml: float | None = Field(None, ge=0, le=2000)
    brain_volume_ml: float | None = Field(None, gt=0, le=3000)
    pbvc_percent: float | None = Field(None, ge=-50, le=50)
    software: str | None = Field(None, max_length=64)
    reader: str | None = Field(None, max_length=64)


class NcsStudyIn(BaseModel):
    """A nerve-conduction study: per motor nerve and side the values and the lab's limits."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    study_date: date
    lab: str | None = Field(None, max_length=64)
    nerves: list[dict[str, Any]] = Field(min_length=1, max_length=16)
    sensory_nerves: list[dict[str, Any]] = Field(default_factory=list, max_length=16)


def _merged(model: type[M], values: dict[str, Any]) -> M:
    """A record's values with changes applied, validated; InvalidInputError names the field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInputError(
            [
                Problem("changes." + ".".join(str(x) for x in e["loc"]), e["msg"], e.get("input"))
                for e in exc.errors(include_url=False)
            ]
        ) from None


def _comparator(session: Session, patient_id: int, scan: MriScan | MriScanIn) -> MriScan | None:
    if scan.comparator_date is None:
        return None
    same_region = [
        s
        for s in records.on_date(session, MriScan, patient_id, scan.comparator_date)
        if s.region == scan.region
    ]
    return same_region[-1] if same_region else None


def activity_inputs(scan: MriScan | MriScanIn, comparator: MriScan | None) -> dict[str, Any]:
    """The `mri_activity` inputs of a scan (Gd count only when contrast was given)."""
    inputs: dict[str, Any] = {"scan_date": scan.scan_date.isoformat()}
    if scan.comparator_date is not None:
        inputs["comparator_date"] = scan.comparator_date.isoformat()
    for name in ("new_t2_lesions", "enlarging_t2_lesions", "field_strength_t", "pbvc_percent"):
        value = getattr(scan, name)
        if value is not None:
            inputs[name] = value
    if scan.contrast_given and scan.gd_enhancing_lesions is not None:
        inputs["gd_enhancing_lesions"] = scan.gd_enhancing_lesions
    if comparator is not None:
        if comparator.field_strength_t is not None:
            inputs["comparator_field_strength_t"] = comparator.field_strength_t
        if scan.brain_volume_ml is not None and comparator.brain_volume_ml is not None:
            inputs["brain_volume_ml"] = scan.brain_volume_ml
            inputs["comparator_brain_volume_ml"] = comparator.brain_volume_ml
    return inputs


def _check_contrast(scan: MriScanIn) -> None:
    if scan.gd_enhancing_lesions is not None and not scan.contrast_given:
        raise CalculatorInputError(
            "mri_activity",
            [FieldProblem("gd_enhancing_lesions", "given without contrast (contrast_given false)",
                          scan.gd_enhancing_lesions)],
        )  # fmt: skip


def check_mri_scan(session: Session, patient_id: int, scan: MriScanIn) -> Result:
    """What a save checks, without storing: the scan's activity as it will be read (against
    the patient's scan on the comparator date), or CalculatorInputError naming the field."""
    _check_contrast(scan)
    return calculate("mri_activity", activity_inputs(scan, _comparator(session, patient_id, scan)))


def record_mri_scan(session: Session, actor: User, patient_id: int, scan: MriScanIn) -> MriScan:
    """Validate (as `mri_activity` will read it) and store an MRI scan record."""
    check_mri_scan(session, patient_id, scan)
    return records.add(session, actor, MriScan, {"patient_id": patient_id, **scan.model_dump()})


def correct_mri_scan(
    session: Session, actor: User, scan_id: int, *, reason: str, changes: dict[str, Any]
) -> MriScan:
    """Supersede a scan record with `changes` (validated like a new record)."""
    old = records.get(session, MriScan, scan_id)
    merged = _merged(MriScanIn, {**records.values_of(old), **changes})
    check_mri_scan(session, old.patient_id, merged)
    return records.supersede(
        session, actor, MriScan, scan_id, reason=reason, changes=merged.model_dump()
    )


def mri_activity_of(session: Session, scan: MriScan) -> Result:
    """The scan's MRI activity against its comparator (read time: the store does not grade)."""
    return calculate(
        "mri_activity", activity_inputs(scan, _comparator(session, scan.patient_id, scan))
    )


def mri_course(session: Session, patient_id: int) -> list[tuple[MriScan, Result]]:
    """Every current scan of the patient by date, with its activity."""
    return [
        (s, mri_activity_of(session, s)) for s in records.current_rows(session, MriScan, patient_id)
    ]


def _ncs_inputs(study: NcsStudyIn | NerveConductionStudy) -> dict[str, Any]:
    return {"nerves": list(study.nerves), "sensory_nerves": list(study.sensory_nerves)}


def _normalized(study: NcsStudyIn) -> dict[str, Any]:
    model = get("cidp_ncs_ean_pns_2021").parse(_ncs_inputs(study))
    dumped = model.model_dump(mode="json", exclude_none=True)
    return {
        "study_date": study.study_date,
        "lab": study.lab,
        "nerves": dumped["nerves"],
        "sensory_nerves": dumped.get("sensory_nerves", []),
    }


def check_ncs_study(study: NcsStudyIn) -> Result:
    """What a save checks, without storing: the study's EAN/PNS 2021 criteria as they will be
    read, or CalculatorInputError naming the nerve field."""
    normalized = _normalized(study)
    return calculate(
        "cidp_ncs_ean_pns_2021",
        {"nerves": normalized["nerves"], "sensory_nerves": normalized["sensory_nerves"]},
    )


def record_ncs_study(
    session: Session, actor: User, patient_id: int, study: NcsStudyIn
) -> NerveConductionStudy:
    """Validate the nerves (as the EAN/PNS calculator reads them) and store the study."""
    return records.add(
        session, actor, NerveConductionStudy, {"patient_id": patient_id, **_normalized(study)}
    )


def correct_ncs_study(
    session: Session, actor: User, study_id: int, *, reason: str, changes: dict[str, Any]
) -> NerveConductionStudy:
    """Correct a nerve conduction study: the changes are merged into the current values and
    validated as a whole before they supersede the row.
    """
    old = records.get(session, NerveConductionStudy, study_id)
    merged = _merged(NcsStudyIn, {**records.values_of(old), **changes})
    return records.supersede(
        session, actor, NerveConductionStudy, study_id, reason=reason, changes=_normalized(merged)
    )


def ncs_criteria_of(study: NerveConductionStudy) -> Result:
    """The EAN/PNS 2021 electrodiagnostic criteria of a stored study."""
    return calculate("cidp_ncs_ean_pns_2021", _ncs_inputs(study))


def ncs_course(session: Session, patient_id: int) -> list[tuple[NerveConductionStudy, Result]]:
    """A patient's current nerve conduction studies, each with its EAN/PNS 2021 criteria result."""
    return [
        (s, ncs_criteria_of(s))
        for s in records.current_rows(session, NerveConductionStudy, patient_id)
    ]


def retract_study(
    session: Session,
    actor: User,
    model: type[MriScan] | type[NerveConductionStudy],
    row_id: int,
    *,
    reason: str,
) -> MriScan | NerveConductionStudy:
    """Mark a study record entered in error (the row stays readable, audited)."""
    if model is MriScan:
        return records.supersede(
            session, actor, MriScan, row_id, reason=reason, changes={}, retract=True
        )
    return records.supersede(
        session, actor, NerveConductionStudy, row_id, reason=reason, changes={}, retract=True
    )
