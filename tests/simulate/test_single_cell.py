"""Simulated single-cell readouts (`sc_*`): one value per sample at the lumbar punctures, in
range, stored as ingest accepts them, shaped as documented (no CAR+ cells before the
infusion, CAR+ cells in the CSF after it, B and plasma cells fall), seeded, and drawn without
changing anything else the simulator draws."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from neurocart.cohort.biomarkers import single_cell_codes, single_cell_readouts
from neurocart.ingest import normalize_batch
from neurocart.kinetics.days import with_days
from neurocart.simulate import Simulation, simulate
from neurocart.simulate import cohort as sim_cohort
from neurocart.simulate.facts import Facts
from neurocart.simulate.single_cell import nearest

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CAR = ("local:sc_car_pct_t_blood", "local:sc_car_pct_t_csf")
RATIO = "local:sc_car_csf_blood_ratio"


def _sc(sim: Simulation) -> pd.DataFrame:
    o = sim.frames.observations
    data = with_days(o[o["code"].str.startswith("local:sc_")], sim.frames.courses)
    responder = pd.Series(~sim.baseline.non_responder, index=sim.baseline.study_id)
    return data.assign(responder=data["study_id"].map(responder))


@pytest.fixture(scope="module")
def completed() -> Simulation:
    """Patients past month 12, so every sampling time has happened."""
    return simulate(150, 11, now=NOW, stages={"completed": 1.0})


def test_every_code_is_simulated_in_range_and_passes_ingest(mixed: Simulation) -> None:
    data = _sc(mixed)
    assert set(data["code"]) == set(single_cell_codes())
    shares = data[data["code"] != RATIO]["value"]
    assert shares.between(0, 100).all()
    assert (data[data["code"] == RATIO]["value"] >= 0).all()
    assert set(data[data["code"].str.endswith("_csf")]["specimen"]) == {"csf"}
    assert set(data[data["code"].str.endswith("_blood")]["specimen"]) == {"blood"}
    rows = [
        {"code": c, "code_system": "urn:neurocart:local", "value": v, "unit": u, "specimen": s,
         "effective_at": t.isoformat(), "source": "simulator"}
        for c, v, u, s, t in zip(data["code"], data["value"], data["unit"], data["specimen"],
                                 data["effective_at"], strict=True)
    ]  # fmt: skip
    _, errors = normalize_batch(rows)
    assert errors == []


def test_samples_are_the_punctures_before_and_after_the_infusion(completed: Simulation) -> None:
    data = _sc(completed)
    o = completed.frames.observations
    punctures = o[o["code"] == "local:cart_copies_csf"][["study_id", "effective_at"]]
    csf = data[data["code"] == "local:sc_b_cell_pct_csf"]
    after = csf[csf["day"] > 0][["study_id", "effective_at"]]
    merged = punctures.merge(after, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()  # one CSF sample per CSF CAR-T puncture
    before = csf[csf["day"] <= 0]
    assert before["study_id"].is_unique
    assert set(before["study_id"]) == set(completed.frames.patients["study_id"])
    assert before["day"].between(-90, 0).all()  # in the cohort's "before" window
    blood = data[data["code"] == "local:sc_b_cell_pct_blood"]
    key = ["study_id", "effective_at"]
    pd.testing.assert_frame_equal(  # blood drawn with each puncture
        blood[key].sort_values(key).reset_index(drop=True),
        csf[key].sort_values(key).reset_index(drop=True),
    )


def test_no_car_before_the_infusion_and_car_in_the_csf_after(completed: Simulation) -> None:
    data = _sc(completed)
    pre = data[data["day"] <= 0]
    assert (pre[pre["code"].isin(CAR)]["value"] == 0).all()
    assert RATIO not in set(pre["code"])  # 0 ÷ 0 is empty, not stored
    early = data[(data["day"] > 0) & (data["day"] <= 35) & data["responder"]]
    csf = early[early["code"] == "local:sc_car_pct_t_csf"]["value"]
    blood = early[early["code"] == "local:sc_car_pct_t_blood"]["value"]
    assert (csf > 0).mean() > 0.7  # CAR+ T cells reach the CSF in most responders
    assert (blood > 0).all()
    assert 0 < csf.median() < blood.median()
    ratio = early[early["code"] == RATIO]["value"]
    assert len(ratio) == len(blood)
    assert 0 < ratio.median() < 1


def test_b_and_plasma_cells_fall_after_the_infusion(completed: Simulation) -> None:
    data = _sc(completed)

    def change(code: str, upto: int) -> pd.DataFrame:
        sub = data[(data["code"] == code) & data["responder"]]
        before = sub[sub["day"] <= 0].set_index("study_id")["value"]
        later = sub[(sub["day"] > 0) & (sub["day"] <= upto)]
        return pd.DataFrame({"before": before, "after": later.groupby("study_id")["value"].last()})

    for code in ("local:sc_plasma_cell_pct_blood", "local:sc_plasma_cell_pct_csf"):
        c = change(code, 400).dropna()
        fell = (c["after"] < c["before"]) | (c["before"] == 0)
        assert fell.mean() > 0.9, code  # the BCMA target stays depleted for a year
        assert c["after"].median() < 0.25 * c["before"].median(), code
    for code in ("local:sc_b_cell_pct_blood", "local:sc_b_cell_pct_csf"):
        c = change(code, 35).dropna()
        assert c["after"].median() < 0.5 * c["before"].median(), code  # aplasia by day 28
    # expanded clones in blood rise with the CAR+ expansion
    c = change("local:sc_expanded_clone_pct_blood", 35).dropna()
    assert c["after"].median() > c["before"].median()


def test_the_cohort_table_shows_every_readout(completed: Simulation) -> None:
    table = single_cell_readouts(completed.frames).set_index("code")
    assert (table["patients"] > 0).all()
    plasma = table.loc["local:sc_plasma_cell_pct_blood"]
    assert plasma["n_paired"] > 10
    assert plasma["median_after"] < plasma["median_before"]
    assert plasma["wilcoxon_p"] < 0.05
    assert table.loc["local:sc_car_pct_t_csf", "median_before"] == 0


def test_seeded_and_nothing_else_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    one = simulate(30, 5, now=NOW)
    again = simulate(30, 5, now=NOW)
    pd.testing.assert_frame_equal(one.frames.observations, again.frames.observations)
    other = simulate(30, 6, now=NOW).frames.observations
    assert not other[other["code"] == "local:sc_b_cell_pct_blood"]["value"].equals(
        one.frames.observations.query("code == 'local:sc_b_cell_pct_blood'")["value"]
    )
    monkeypatch.setattr(sim_cohort, "single_cell", lambda *a, **k: None)
    without = simulate(30, 5, now=NOW).frames
    rest = one.frames.observations
    rest = rest[~rest["code"].str.startswith("local:sc_")].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, without.observations)
    pd.testing.assert_frame_equal(one.frames.events, without.events)
    pd.testing.assert_frame_equal(one.frames.assessments, without.assessments)


def test_nearest_is_per_patient_and_in_time() -> None:
    f = Facts()
    day = 86_400_000_000
    f.observe(np.array([0, 0, 1]), "x", np.array([1.0, 2.0, 3.0]), np.array([0, 10 * day, day]))
    got = nearest(f, "x", np.array([0, 0, 0, 1, 2]), np.array([4 * day, 6 * day, 99 * day,
                                                                 50 * day, 0]), -1.0)  # fmt: skip
    assert got.tolist() == [1.0, 2.0, 2.0, 3.0, -1.0]
    assert nearest(f, "y", np.array([0]), np.array([0]), 7.0).tolist() == [7.0]
