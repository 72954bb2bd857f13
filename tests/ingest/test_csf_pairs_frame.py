"""`csf_pairs_frame.puncture_inputs` (a cohort's punctures at once) is `pair_lumbar_punctures`
called once per patient: the same punctures, pairs and calculator inputs, in the same order."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.ingest.csf_pairs import ANALYTES, OCB_KEYS, Sample, pair_lumbar_punctures
from neurocart.ingest.csf_pairs_frame import puncture_inputs

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
KEYS = [k for csf, serum, _ in ANALYTES.values() for k in (csf, serum)] + list(OCB_KEYS)
# a few keys and instants often, so that ties (two draws as near, one before and one after
# the puncture; two draws at one instant) and window edges come up
HOURS = st.sampled_from(
    [0.0, 0.5, 1.0, 2.0, 2.0 + 1e-9, 2.5, 47.0, 48.0, 48.0 + 1e-9, 49.0, -1.0, -48.0, -49.0, 200.0]
) | st.floats(-300, 300)
KEY = st.sampled_from(["albumin_csf", "albumin_serum", "kflc_csf", "kflc_serum"]) | st.sampled_from(
    KEYS
)
sample = st.tuples(KEY, st.sampled_from([0.0, 1.0, 2.0, 3.0, 12.5, 250.0]), HOURS)
patients = st.lists(
    st.tuples(st.lists(sample, max_size=14), st.sampled_from([None, 1960, 2022])), max_size=4
)


def _expected(cohort: list[tuple[list[Sample], int | None]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for i, (samples, birth) in sorted(enumerate(cohort), key=lambda c: f"P{c[0]}"):
        for p in pair_lumbar_punctures(samples, birth_year=birth):
            for name, inputs in p.inputs.items():
                out.setdefault(name, []).append((f"P{i}", p.csf_at, inputs))
    return out


def _got(table: pd.DataFrame) -> list[Any]:
    rows = []
    for record in table.to_dict("records"):
        sid, at = record.pop("study_id"), record.pop("csf_at")
        inputs = {k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))}
        rows.append((sid, datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at), inputs))
    return rows


@settings(max_examples=300)
@given(patients)
def test_a_cohort_is_paired_as_each_patient_alone(drawn: list[Any]) -> None:
    cohort = [
        ([Sample(k, v, T0 + timedelta(hours=h)) for k, v, h in samples], birth)
        for samples, birth in drawn
    ]
    frame = pd.DataFrame(
        [
            {"study_id": f"P{i}", "key": s.key, "value": s.value, "at": s.at}
            for i, (samples, _) in enumerate(cohort)
            for s in samples
        ],
        columns=["study_id", "key", "value", "at"],
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.as_unit("us")
    births = {f"P{i}": b for i, (_, b) in enumerate(cohort) if b is not None}
    got = {name: _got(t) for name, t in puncture_inputs(frame, births).items() if len(t)}
    assert got == _expected(cohort)


def _frame(samples: list[Sample]) -> pd.DataFrame:
    frame = pd.DataFrame([{"study_id": "P0", "key": s.key, "value": s.value, "at": s.at}
                          for s in samples])  # fmt: skip
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.as_unit("us")
    return frame


def test_ties_go_to_the_earlier_draw_then_to_the_first_given() -> None:
    hour = timedelta(hours=1)
    for serum in (
        [Sample("albumin_serum", 50.0, T0 + hour), Sample("albumin_serum", 40.0, T0 - hour)],
        [Sample("albumin_serum", 40.0, T0 - hour), Sample("albumin_serum", 50.0, T0 - hour)],
    ):
        samples = [Sample("albumin_csf", 250.0, T0), *serum]
        (p,) = pair_lumbar_punctures(samples)
        (got,) = puncture_inputs(_frame(samples))["qalb"]["serum_albumin_g_l"]
        assert got == p.inputs["qalb"]["serum_albumin_g_l"] == 40.0
