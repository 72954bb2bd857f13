"""CAR-T treatment courses: product, dose and the anchor dates the pathway schedules from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, status

from neurocart.api.deps import ReadSession, WriteSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import CourseIn, CourseOut, CourseUpdate
from neurocart.api.views import RowId, StudyIdPath, out, patient_of, study_id_of
from neurocart.security import Action, Resource
from neurocart.services import course as courses
from neurocart.store import User, repo

router = api_router(prefix="/api/v1", tags=["courses"])

Reader = Annotated[User, Depends(require(Resource.COURSES, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.COURSES, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.COURSES, Action.CORRECT))]


@router.post("/patients/{study_id}/courses", status_code=status.HTTP_201_CREATED)
def create_course(
    study_id: StudyIdPath, body: CourseIn, user: Writer, session: WriteSession
) -> CourseOut:
    """Start a treatment course for the patient; a `protocol_id` that names no protocol is refused
    (422, listing the known ids)."""
    patient = patient_of(session, study_id)
    course = courses.create_course(
        session, user, repo.CourseIn(patient_id=patient.id, **body.model_dump())
    )
    return out(CourseOut, course, study_id=patient.study_id)


@router.get("/patients/{study_id}/courses")
def list_courses(study_id: StudyIdPath, user: Reader, session: ReadSession) -> list[CourseOut]:
    """The patient's treatment courses, oldest first."""
    patient = patient_of(session, study_id)
    return [
        out(CourseOut, c, study_id=patient.study_id) for c in repo.list_courses(session, patient.id)
    ]


@router.get("/courses/{course_id}")
def get_course(course_id: RowId, user: Reader, session: ReadSession) -> CourseOut:
    """One treatment course by id."""
    course = repo.get_course(session, course_id)
    return out(CourseOut, course, study_id=study_id_of(session, course.patient_id))


@router.patch("/courses/{course_id}")
def update_course(
    course_id: RowId, body: CourseUpdate, user: Corrector, session: WriteSession
) -> CourseOut:
    """Change the fields given (e.g. the infusion date once known)."""
    changes = body.model_dump(include=body.model_fields_set)
    course = courses.update_course(session, user, course_id, **changes)
    return out(CourseOut, course, study_id=study_id_of(session, course.patient_id))
