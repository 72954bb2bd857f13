"""Observations: one, or a batch of up to 10,000 in one transaction; list; correct; retract.

Values arrive in any accepted unit and are converted at ingest (neurocart.ingest through
neurocart.services.ingest): 98.6 °F is stored as 37.0 °C, an impossible value is a 422
naming the field. A batch is all-or-nothing: one bad row rejects the batch and the response
lists every bad row (``observations[57].unit``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, status

from neurocart.api import signing
from neurocart.api.deps import (
    NowDep,
    ReadLog,
    ReadSession,
    SettingsDep,
    WriteSession,
    require,
    window_of,
)
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import (
    BatchOut,
    CsfIndexNotComputedOut,
    CsfIndexOut,
    CsfIndicesOut,
    Instant,
    LumbarPunctureOut,
    ObservationBatchIn,
    ObservationBody,
    ObservationCorrection,
    ObservationOut,
    Retraction,
)
from neurocart.api.views import RowId, StudyIdPath, fact_out, out, patient_of, study_id_of
from neurocart.ingest import ObservationIn, by_key, normalize_observation
from neurocart.ingest.csf_pairs import DEFAULT_MAX_INTERVAL_H
from neurocart.security import Action, Resource
from neurocart.services import csf_indices, ingest
from neurocart.store import Observation, User, repo

router = api_router(prefix="/api/v1", tags=["observations"])

Reader = Annotated[User, Depends(require(Resource.OBSERVATIONS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.OBSERVATIONS, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.OBSERVATIONS, Action.CORRECT))]
Code = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.post("/patients/{study_id}/observations", status_code=status.HTTP_201_CREATED)
def add_observation(
    study_id: StudyIdPath,
    body: ObservationBody,
    user: Writer,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> ObservationOut:
    """Store one observation, converted to its canonical unit and range-checked; monitoring reads it
    once it is committed. One already stored (same patient, code, time, value and source) is
    not stored again: the stored one is answered."""
    patient = patient_of(session, study_id)
    window = window_of(patient, settings, now)
    row, _ = ingest.ingest_observation_once(session, user, patient.id, body, window=window)
    return fact_out(ObservationOut, row, session, study_id=patient.study_id)


@router.post(
    "/patients/{study_id}/observations/batch",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"description": "more rows than the batch limit"}},
)
def add_observations(
    study_id: StudyIdPath,
    body: ObservationBatchIn,
    user: Writer,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> BatchOut:
    """Store every row or none (one transaction); the ids come back in the rows' order.

    Rows already stored (same patient, code, time, value and source, or a repeat within the
    batch) are not stored again: `duplicates` lists their indices and `ids` gives the stored
    observation's id. More rows than Settings.max_batch_observations: 413, nothing stored."""
    patient = patient_of(session, study_id)
    limit = settings.max_batch_observations  # checked where every batch is written (store)
    window = window_of(patient, settings, now)
    batch = ingest.ingest_observation_batch(
        session,
        user,
        patient.id,
        body.observations,
        limit=limit,
        window=window,
        skip_duplicates=True,
    )
    return BatchOut(
        count=len(batch.ids), ids=batch.row_ids(), duplicates=[i for i, _ in batch.duplicates]
    )


@router.get("/patients/{study_id}/observations")
def list_observations(
    study_id: StudyIdPath,
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    reads: ReadLog,
    code: Code = None,
    since: Annotated[Instant | None, Query(description="effective at or after")] = None,
    until: Annotated[Instant | None, Query(description="effective before")] = None,
    history: Annotated[bool, Query(description="include superseded and retracted")] = False,
) -> PageOut[ObservationOut]:
    """One page of the patient's observations by time (then id), filtered by code and time
    range; `history` adds superseded and retracted versions; `next` reads on."""
    patient = patient_of(session, study_id)
    rows = repo.list_observations(
        session,
        patient.id,
        code=code,
        since=since,
        until=until,
        history=history,
        page=paging.page((datetime, int)),
    )
    scope = {"code": code, "since": since, "until": until, "history": history or None}
    reads(user, "observations", patient_id=patient.id, scope=scope)
    return paging.out(
        rows,
        key=lambda r: (r.effective_at, r.id),
        convert=lambda r: out(ObservationOut, r, study_id=patient.study_id),
    )


@router.get("/patients/{study_id}/csf-indices")
def list_csf_indices(
    study_id: StudyIdPath, user: Reader, session: ReadSession, reads: ReadLog
) -> CsfIndicesOut:
    """The patient's lumbar punctures, each with the CSF indices its paired CSF and serum
    values give now and, for an index they cannot give, the reason (a CSF value without its
    serum pair within the window computes nothing: `no_serum_pair`)."""
    patient = patient_of(session, study_id)
    readout = csf_indices.read_csf_indices(session, patient.id)
    punctures = []
    for p in readout.punctures:
        computed = []
        for name in p.inputs:
            result = readout.results[p.csf_at, name]
            computed.append(CsfIndexOut(
                index=name, code=by_key(csf_indices.DERIVED_KEYS[name]).code,
                value=result.number, label=result.label, reasons=result.reasons,
                warnings=result.warnings, citation=result.citation,
            ))  # fmt: skip
        punctures.append(LumbarPunctureOut(
            csf_at=p.csf_at, paired_interval_h=p.paired_interval_h, computed=computed,
            not_computed=[
                CsfIndexNotComputedOut(index=name, reason=why.code, text=why.text,
                                       details=dict(why.params))
                for name, why in p.not_computed.items()
            ],
            warnings=p.warnings,
        ))  # fmt: skip
    reads(user, "csf_indices", patient_id=patient.id, scope={"punctures": len(punctures)})
    return CsfIndicesOut(
        study_id=patient.study_id, max_interval_h=DEFAULT_MAX_INTERVAL_H, punctures=punctures
    )


@router.get("/observations/{observation_id}")
def get_observation(
    observation_id: RowId, user: Reader, session: ReadSession, reads: ReadLog
) -> ObservationOut:
    """One observation version by id."""
    row = repo.get_observation(session, observation_id)
    reads(user, "observation", patient_id=row.patient_id, scope={"id": row.id})
    return out(ObservationOut, row, study_id=study_id_of(session, row.patient_id))


def _corrected(old: Observation, body: ObservationCorrection) -> dict[str, Any]:
    """The changed fields, normalized like a new observation (units converted, range checked)."""
    given = body.model_fields_set - {"reason", "signature"}
    merged = ObservationIn(
        code=body.code if "code" in given else old.code,
        code_system=body.code_system if "code_system" in given else old.code_system,
        value=body.value if "value" in given else old.value,
        unit=body.unit if "unit" in given else old.unit,
        specimen=(body.specimen or old.specimen).value,
        effective_at=body.effective_at if "effective_at" in given else old.effective_at,
        source=body.source if "source" in given else old.source,
        note=body.note if "note" in given else old.note,
    )
    normalized = normalize_observation(merged).store_fields()
    return {k: v for k, v in normalized.items() if v != getattr(old, k)}


@router.post("/observations/{observation_id}/correction", status_code=status.HTTP_201_CREATED)
def correct_observation(
    observation_id: RowId,
    body: ObservationCorrection,
    request: Request,
    user: Corrector,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> ObservationOut:
    """A new row supersedes the observation with the reason; the old row stays readable. Signed
    (`signature`: password and meaning), the signature recorded with the new row."""
    meant = signing.meaning(user, body.signature)
    old = repo.get_observation(session, observation_id)
    changes = _corrected(old, body)
    if "effective_at" in changes:
        window = window_of(repo.get_patient(session, old.patient_id), settings, now)
        window.check({"effective_at": changes["effective_at"]})
    row = repo.correct_observation(session, user, observation_id, reason=body.reason, **changes)
    signing.record(session, request, user, meant, action="correct", entity_type="observation",
                   entity_id=row.id)  # fmt: skip
    return fact_out(ObservationOut, row, session)


@router.post("/observations/{observation_id}/retraction", status_code=status.HTTP_201_CREATED)
def retract_observation(
    observation_id: RowId,
    body: Retraction,
    request: Request,
    user: Corrector,
    session: WriteSession,
) -> ObservationOut:
    """Mark the observation entered in error (e.g. the wrong patient); signed like a correction."""
    meant = signing.meaning(user, body.signature)
    row = repo.retract_observation(session, user, observation_id, reason=body.reason)
    signing.record(session, request, user, meant, action="retract", entity_type="observation",
                   entity_id=row.id)  # fmt: skip
    return fact_out(ObservationOut, row, session)
