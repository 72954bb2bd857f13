"""The chart says which CSF index a lumbar puncture's values did not give, and why: a CSF
value without its serum pair computes nothing and says so (here, not only in a service's
return value), in the reader's language; a paired one gives the index and no note."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from neurocart.security import Role
from neurocart.services.csf_indices import update_csf_indices
from neurocart.store import repo
from neurocart.store.repo import ObservationIn
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES

LP = datetime(2025, 3, 1, 9, tzinfo=UTC)
SERUM = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
LOCAL = "urn:neurocart:local"
NOTE = (
    "κFLC index not computed for the lumbar puncture of 2025-03-01: no serum κ free light "
    "chains within 48 h of the CSF sample"
)


def _add(world: World, study_id: str, code: str, value: float, unit: str, specimen: str,
         at: datetime, system: str = "http://loinc.org") -> None:  # fmt: skip
    with world.database.transaction() as session:
        actor = repo.get_user_by_username(session, USERNAMES[Role.NURSE])
        patient = repo.find_patient(session, study_id)
        repo.add_observation(
            session, actor,
            ObservationIn(patient_id=patient.id, code=code, value=value, unit=unit,
                          effective_at=at, specimen=specimen, code_system=system,
                          source="lab"),
        )  # fmt: skip


def _patient(world: World, study_id: str) -> None:
    with world.database.transaction() as session:
        repo.create_patient(
            session, None,
            repo.PatientIn(study_id=study_id, site="HD", sex="female", diagnosis="mg",
                           birth_year=1980),
        )  # fmt: skip
    _add(world, study_id, "1746-7", 250, "mg/L", "csf", LP)  # CSF albumin
    _add(world, study_id, "1751-7", 40, "g/L", "serum", SERUM)  # its serum pair
    _add(world, study_id, "local:kflc_csf", 1.2, "mg/L", "csf", LP, LOCAL)  # CSF κFLC alone


def _notes(page: str) -> list[str]:
    if 'id="csf-index-notes"' not in page:
        return []
    section = page.split('id="csf-index-notes"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(li.split("</li>", 1)[0]) for li in section.split("<li>")[1:]]


def test_an_unpaired_csf_value_is_a_note_under_the_csf_indices(world: World) -> None:
    _patient(world, "CSF-UNPAIRED")
    nurse = client_as(world, Role.NURSE)
    page = nurse.get("/patients/CSF-UNPAIRED")
    assert page.status_code == 200, page.text
    assert _notes(page.text) == [NOTE]
    # under the CSF-index panels: after the albumin quotient, before the oligoclonal bands
    labs = page.text.split('id="labs"', 1)[1]
    assert labs.index('id="csf-index-notes"') < labs.index('id="neuro"')


def test_the_note_speaks_chinese(world: World) -> None:
    _patient(world, "CSF-ZH")
    nurse = client_as(world, Role.NURSE)
    assert nurse.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code in (200, 303)
    try:
        (note,) = _notes(nurse.get("/patients/CSF-ZH").text)
    finally:
        nurse.post("/language", data={"locale": "en", "next": "/"})
    assert note == ("2025年3月1日腰椎穿刺的κFLC指数未计算：脑脊液标本前后 48 小时内无血清κ游离轻链")


def test_a_paired_value_gives_the_index_and_no_note(world: World) -> None:
    _patient(world, "CSF-PAIRED")
    _add(world, "CSF-PAIRED", "local:kflc_serum", 12, "mg/L", "serum", SERUM, LOCAL)
    with world.database.transaction() as session:  # what the monitor leader does
        actor = repo.get_user_by_username(session, USERNAMES[Role.NURSE])
        patient = repo.find_patient(session, "CSF-PAIRED")
        update = update_csf_indices(session, actor, patient.id)
    assert update.results[LP, "kflc_index"].number == 16.0
    page = client_as(world, Role.NURSE).get("/patients/CSF-PAIRED").text
    assert _notes(page) == []
    assert 'id="chart-kflc_index"' in page  # the index is drawn


PARAMS = {
    "no_serum_pair": {"analyte": "igg", "csf_at": LP.isoformat(), "window_h": "48"},
    "no_csf_value": {"analyte": "albumin"},
    "no_age": {},
    "below_formula_age": {"age": "5"},
    "invalidated_by_treatment": {"treatment": "plasma_exchange",
                                 "treated_at": SERUM.isoformat(), "window_h": "48"},
    "calculator_refused": {"error": "CSF albumin must be below serum albumin"},
}  # fmt: skip


def test_every_reason_of_the_core_has_the_readers_words() -> None:
    from neurocart.i18n import using
    from neurocart.ingest.csf_pairs import NOT_COMPUTED, NotComputed
    from neurocart.web import chart

    assert set(chart.NOT_COMPUTED_REASONS) == set(NOT_COMPUTED) == set(PARAMS)
    for code, params in PARAMS.items():
        why = NotComputed(code, params)
        with using("en"):
            english = chart.not_computed_reason(why)
        with using("zh_CN"):
            chinese = chart.not_computed_reason(why)
        assert "{" not in english, code
        assert "{" not in chinese, code
        assert english != chinese, code
    with using("zh_CN"):
        treated = chart.not_computed_reason(
            NotComputed("invalidated_by_treatment", PARAMS["invalidated_by_treatment"])
        )
    assert treated.startswith("2025年3月1日行血浆置换")
