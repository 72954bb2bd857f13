"""services.csf_indices and the paired-sample rule (ingest.csf_pairs).

The rule: CSF and serum of one lumbar puncture (nearest serum value within 48 h — ARUP's
limit; Mayo accepts 7 days, some laboratories 30–60 minutes); a CSF value without its serum
pair computes nothing and says so; Qalb is invalid < 48 h after albumin or plasma exchange and
quotients soon after IVIg are implausible (DGN S1 guideline, Neurol Res Pract 2020).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.ingest.csf_pairs import (
    NotComputed,
    Sample,
    Treatment,
    _ByTime,
    _nearest,
    pair_lumbar_punctures,
)
from neurocart.services.csf_indices import SOURCE_PREFIX, update_csf_indices
from neurocart.services.ingest import ingest_observations
from neurocart.store import repo

LP = datetime(2025, 3, 1, 9, tzinfo=UTC)


def s(key: str, value: float, hours: float = 0.0, id: int | None = None) -> Sample:
    return Sample(key, value, LP + timedelta(hours=hours), id)


FULL = [
    s("albumin_csf", 250), s("albumin_serum", 40, -0.5),
    s("igg_csf", 60), s("igg", 10, -0.5),
    s("kflc_csf", 1.2), s("kflc_serum", 12, -0.5),
]  # fmt: skip


@given(
    st.lists(st.sampled_from([-49.0, -48.0, -47.5, -1.0, -0.5, 0.0, 0.5, 1.0, 48.0, 48.5, 200.0])
             | st.floats(-100, 100), max_size=12),
    st.sampled_from([1.0, 48.0, 0.25]),
)  # fmt: skip
def test_the_time_ordered_search_picks_the_nearest_draw_as_the_plain_scan(
    hours: list[float], max_h: float
) -> None:
    serum = [s("albumin_serum", float(i), h) for i, h in enumerate(hours)]  # ties: same hours
    assert _ByTime(serum).nearest(LP, max_h) is _nearest(serum, LP, max_h)


def test_a_full_puncture_gives_every_index() -> None:
    (p,) = pair_lumbar_punctures(FULL, birth_year=1995)
    assert set(p.inputs) == {"qalb", "igg_index", "igg_if", "reibergram_igg", "kflc_index"}
    assert p.inputs["qalb"] == {"csf_albumin_mg_l": 250, "serum_albumin_g_l": 40,
                                "age_years": 30.0}  # fmt: skip
    assert p.paired_interval_h == 0.5
    assert not p.not_computed
    assert not p.warnings


def test_a_csf_value_without_its_serum_pair_computes_nothing_and_says_so() -> None:
    (p,) = pair_lumbar_punctures([s("albumin_csf", 250), s("igg_csf", 60)])
    assert p.inputs == {}
    assert "without its serum pair" in p.not_computed["qalb"].text
    assert "serum albumin" in p.not_computed["igg_index"].text
    assert p.not_computed["qalb"].code == "no_serum_pair"
    assert dict(p.not_computed["qalb"].params) == {
        "analyte": "albumin",
        "csf_at": LP.isoformat(),
        "window_h": "48",
    }
    assert p.not_computed["igg_index"].params["analyte"] == "albumin"  # the first one missing
    assert str(p.not_computed["qalb"]) == p.not_computed["qalb"].text


def test_a_reason_has_a_known_code() -> None:
    with pytest.raises(ValueError, match="unknown not-computed code"):
        NotComputed("no_reason")


def test_serum_outside_the_window_is_not_a_pair_and_the_nearest_wins() -> None:
    samples = [s("albumin_csf", 250), s("albumin_serum", 30, -49), s("albumin_serum", 40, 47),
               s("albumin_serum", 50, -47.5)]  # fmt: skip
    (p,) = pair_lumbar_punctures(samples)
    assert p.serum["albumin"].value == 40
    assert p.paired_interval_h == 47
    assert any("30–60 minutes" in w for w in p.warnings)
    (tight,) = pair_lumbar_punctures(samples, max_interval_h=24)
    assert "qalb" in tight.not_computed


def test_only_serum_is_not_a_puncture() -> None:
    assert pair_lumbar_punctures([s("albumin_serum", 40), s("igg", 10)]) == []


def test_two_punctures_pair_separately() -> None:
    later = [Sample(x.key, x.value, x.at + timedelta(days=180)) for x in FULL[:2]]
    first, second = pair_lumbar_punctures([*FULL, *later])
    assert second.csf_at - first.csf_at == timedelta(days=180)
    assert set(second.inputs) == {"qalb"}
    assert first.serum["albumin"].at < second.serum["albumin"].at


def test_plasma_exchange_within_48_h_invalidates_the_quotients() -> None:
    plex = Treatment("plasma_exchange", LP - timedelta(hours=30))
    (p,) = pair_lumbar_punctures(FULL, treatments=[plex])
    assert p.inputs == {}
    assert "invalid" in p.not_computed["kflc_index"].text
    assert p.not_computed["kflc_index"].code == "invalidated_by_treatment"
    assert p.not_computed["kflc_index"].params["treatment"] == "plasma_exchange"
    assert p.plex_last_date == plex.at.date()
    earlier = Treatment("plasma_exchange", LP - timedelta(hours=49))
    (later,) = pair_lumbar_punctures(FULL, treatments=[earlier])
    assert "qalb" in later.inputs


def test_recent_ivig_warns() -> None:
    (p,) = pair_lumbar_punctures(FULL, treatments=[Treatment("ivig", LP - timedelta(days=10))])
    assert "qalb" in p.inputs
    assert any("IVIg" in w for w in p.warnings)
    assert p.ivig_last_date == (LP - timedelta(days=10)).date()


def test_ocb_needs_no_serum_pair() -> None:
    (p,) = pair_lumbar_punctures([s("ocb_csf_bands", 5), s("ocb_identical_bands", 0)])
    assert p.inputs == {"ocb_pattern": {"csf_restricted_bands": 5, "identical_bands": 0,
                                        "monoclonal": False}}  # fmt: skip


def obs(code: str, value: float, unit: str, hours: float, specimen: str) -> dict[str, object]:
    return {"code": code, "value": value, "unit": unit, "specimen": specimen, "source": "lab",
            "effective_at": (LP + timedelta(hours=hours)).isoformat()}  # fmt: skip


def test_service_stores_corrects_and_retracts(database, nurse, mg_patient):
    rows = [
        obs("1746-7", 25, "mg/dL", 0, "csf"),  # 250 mg/L
        obs("1751-7", 4.0, "g/dL", -0.5, "serum"),  # 40 g/L
        obs("2464-6", 60, "mg/L", 0, "csf"),
        obs("2465-3", 10, "g/L", -0.5, "serum"),
        obs("local:kflc_csf", 1.2, "mg/L", 0, "csf") | {"code_system": "urn:neurocart:local"},
    ]
    with database.transaction() as session:
        ids = ingest_observations(session, nurse, mg_patient.id, rows)
        first = update_csf_indices(session, nurse, mg_patient.id)
    assert len(first.stored) == 4  # qalb, igg_index, igg_if, reibergram_igg; κFLC unpaired
    assert "kflc_index" in first.punctures[0].not_computed
    with database.reading() as session:
        derived = {o.code: o for o in repo.list_observations(session, mg_patient.id)
                   if o.source.startswith(SOURCE_PREFIX)}  # fmt: skip
    assert derived["1756-6"].value == 6.25
    assert derived["14117-6"].value == pytest.approx(0.96)
    assert derived["local:igg_if"].value == pytest.approx(24.283991)
    assert derived["1756-6"].source == "derived:csf;pair_h=0.5"
    assert derived["1756-6"].specimen.value == "csf"

    with database.transaction() as session:  # idempotent
        again = update_csf_indices(session, nurse, mg_patient.id)
    assert (again.stored, again.corrected, again.retracted) == ([], [], [])

    with database.transaction() as session:  # a corrected serum albumin recomputes
        repo.correct_observation(session, nurse, ids[1], reason="typo", value=50.0)
        fixed = update_csf_indices(session, nurse, mg_patient.id)
    assert len(fixed.corrected) == 3  # qalb, igg_index, igg_if; the Reibergram region stays
    assert not fixed.stored
    with database.reading() as session:
        (qalb,) = repo.list_observations(session, mg_patient.id, code="1756-6")
    assert qalb.value == 5.0

    with database.transaction() as session:  # the serum IgG retracted: its indices go
        repo.retract_observation(session, nurse, ids[3], reason="wrong patient")
        gone = update_csf_indices(session, nurse, mg_patient.id)
    assert len(gone.retracted) == 3
    assert "igg_index" in gone.punctures[0].not_computed


def test_the_reibergram_region_needs_an_age_from_five_and_says_so() -> None:
    (p,) = pair_lumbar_punctures(FULL)
    assert "reibergram_igg" not in p.inputs
    assert "igg_if" in p.inputs
    assert "no age" in p.not_computed["reibergram_igg"].text
    assert p.not_computed["reibergram_igg"].code == "no_age"
    (child,) = pair_lumbar_punctures(FULL, birth_year=2022)
    assert "from age 5" in child.not_computed["reibergram_igg"].text
    assert child.not_computed["reibergram_igg"].code == "below_formula_age"


def test_only_patients_with_a_csf_value_or_a_derived_index_are_watched(database, nurse, mg_patient):
    """The monitor hears of every routine serum albumin and IgG: the journal hands the leader
    only the patients who have had a CSF value or a derived index (from what it has read,
    without asking the database), and from the CSF value on, every later serum value too."""
    from neurocart.services.csf_indices import ANCHOR_CODES, INPUT_CODES
    from neurocart.services.journal import Journal

    journal = Journal(INPUT_CODES, ANCHOR_CODES)
    seen = 0

    def watched() -> set[int]:
        nonlocal seen
        with database.reading() as session:
            entries = Journal.entries(session, seen)
            journal.convert(session, entries)
            seen = entries[-1].seq if entries else seen
        return set(journal.take_watched())

    serum = [obs("1751-7", 4.0, "g/dL", -0.5, "serum"), obs("2465-3", 10, "g/L", -0.5, "serum")]
    with database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, serum)
    assert watched() == set()
    with database.transaction() as session:  # serum and CSF of one puncture, in one batch
        ingest_observations(
            session, nurse, mg_patient.id, [*serum, obs("1746-7", 25, "mg/dL", 0, "csf")]
        )
    assert watched() == {mg_patient.id}
    with database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, serum)
    assert watched() == {mg_patient.id}  # anchored: a new serum value may pair now
    assert watched() == set()  # nothing new
