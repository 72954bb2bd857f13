"""Simulated CSF/serum proteins, oligoclonal bands and timed tests: plausible for ingest,
paired per puncture, and shaped as documented (MS κFLC index high, falling in responders)."""

from __future__ import annotations

import numpy as np

from neurocart.cohort.biomarkers import with_indices
from neurocart.ingest import normalize_batch
from neurocart.simulate import Simulation


def test_every_simulated_value_passes_ingest(mixed: Simulation) -> None:
    o = mixed.frames.observations
    codes = ["1751-7", "1746-7", "2464-6", "local:kflc_serum", "local:kflc_csf", "49852-7",
             "local:ocb_identical_bands", "local:t25fw", "local:nhpt", "local:sdmt"]  # fmt: skip
    sub = o[o["code"].isin(codes)]
    assert set(sub["code"]) == set(codes)
    rows = [
        {"code": c, "code_system": "urn:neurocart:local" if c.startswith("local:") else
         "http://loinc.org", "value": v, "unit": u, "specimen": s,
         "effective_at": t.isoformat(), "source": "simulator"}
        for c, v, u, s, t in zip(sub["code"], sub["value"], sub["unit"], sub["specimen"],
                                 sub["effective_at"], strict=True)
    ]  # fmt: skip
    _, errors = normalize_batch(rows)
    assert errors == []


def test_ms_kflc_index_is_high_and_falls_in_responders(mixed: Simulation) -> None:
    frames = with_indices(mixed.frames)
    o = frames.observations
    k = o[o["code"] == "local:kflc_index"].merge(frames.patients[["study_id", "diagnosis"]])
    assert len(k) > 0
    ms = k[k["diagnosis"] == "ms"]["value"]
    other = k[k["diagnosis"].isin(["mg", "imnm", "cidp"])]["value"]
    assert np.median(ms) > 6.1 > np.median(other)
    first = k.sort_values("effective_at").groupby("study_id")["value"].agg(["first", "last"])
    assert (first["last"] < first["first"]).mean() > 0.5


def test_lambda_flc_mri_scans_and_nerve_conduction_are_simulated(mixed: Simulation) -> None:
    from neurocart.standards import calculate

    frames = mixed.frames
    frames.validate()
    o = frames.observations
    assert {"local:lflc_serum", "local:lflc_csf"} <= set(o["code"])
    dx = frames.patients.set_index("study_id")["diagnosis"]
    scans = frames.mri_scans
    assert set(scans["study_id"].map(dx)) == {"ms", "nmosd"}
    first = scans.groupby("study_id").head(1)
    assert first["comparator_date"].isna().all()
    assert first["new_t2_lesions"].isna().all()
    later = scans.drop(first.index)
    assert (later["comparator_date"] < later["scan_date"]).all()
    studies = frames.ncs_studies
    assert set(studies["study_id"].map(dx)) == {"cidp"}
    readings = [calculate("cidp_ncs_ean_pns_2021", {"nerves": n}).value for n in studies["nerves"]]
    baseline = studies.groupby("study_id").head(1).index
    met = [r != "not_met" for r in readings]
    assert np.mean([met[i] for i in range(len(met)) if studies.index[i] in baseline]) > 0.8


def test_simulated_scans_are_read_as_the_calculator_reads_them(mixed: Simulation) -> None:
    from neurocart.cohort.biomarkers import mri_activity_free
    from neurocart.outcomes.mri import scan_activity
    from neurocart.services.studies import activity_inputs
    from neurocart.simulate.load import mri_scan_in
    from neurocart.standards import calculate

    scans = mixed.frames.mri_scans
    read = scan_activity(scans)
    expected = [
        calculate("mri_activity", activity_inputs(mri_scan_in(row), None)).value
        for row in scans.to_dict("records")
    ]
    assert read.tolist() == expected
    assert {"active", "inactive", "not_evaluable"} <= set(expected)
    table = mri_activity_free(mixed.frames)  # from the scan records
    assert set(table["month"]) == {12, 24}
    assert ((table["activity_free"] >= 0) & (table["activity_free"] <= table["n"])).all()
