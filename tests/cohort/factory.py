"""Tidy cohort frames for tests: hand-built patients and a seeded random cohort.

`Builder` writes the rows of constructed patients (exact days, exact values); `random_cohort`
draws a plausible cohort of any size (used where the simulator is not the point of the test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from neurocart.frames import CohortFrames

T0 = pd.Timestamp("2024-03-01 10:00", tz="UTC")


@dataclass
class Builder:
    """Collects rows; times are given as elapsed days from the patient's infusion."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    courses: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    ncs_studies: list[dict[str, Any]] = field(default_factory=list)
    mri_scans: list[dict[str, Any]] = field(default_factory=list)
    infusion: dict[str, pd.Timestamp] = field(default_factory=dict)

    def patient(
        self,
        sid: str,
        diagnosis: str,
        *,
        infusion: pd.Timestamp = T0,
        subtype: str | None = None,
        diagnosed: date = date(2018, 1, 1),
        prior: tuple[str, ...] = ("a", "b"),
    ) -> Builder:
        self.patients.append(
            {
                "study_id": sid,
                "site": "A",
                "sex": "female",
                "birth_year": 1980,
                "diagnosis": diagnosis,
                "subtype": subtype,
                "diagnosis_date": diagnosed,
                "prior_therapies": list(prior),
            }
        )
        self.courses.append(
            {
                "study_id": sid,
                "product": "eque-cel",
                "target": "BCMA",
                "dose_cells_per_kg": 1e6,
                "ld_regimen": "flu/cy",
                "protocol_id": "nad-cart-2025",
                "enrolment_at": infusion - pd.Timedelta(days=30),
                "apheresis_at": infusion - pd.Timedelta(days=20),
                "ld_start_at": infusion - pd.Timedelta(days=5),
                "infusion_at": infusion,
            }
        )
        self.infusion[sid] = infusion
        return self

    def at(self, sid: str, day: float) -> pd.Timestamp:
        return self.infusion[sid] + pd.Timedelta(days=day)

    def obs(
        self, sid: str, code: str, day: float, value: float, specimen: str = "blood"
    ) -> Builder:
        self.observations.append(
            {
                "study_id": sid,
                "code": code,
                "value": float(value),
                "unit": "u",
                "specimen": specimen,
                "effective_at": self.at(sid, day),
            }
        )
        return self

    def assess(
        self,
        sid: str,
        instrument: str,
        day: float,
        value: float,
        inputs: dict[str, Any] | None = None,
    ) -> Builder:
        self.assessments.append(
            {
                "study_id": sid,
                "instrument": instrument,
                "inputs": inputs or {},
                "value": float(value),
                "label": f"{instrument} {value}",
                "effective_at": self.at(sid, day),
            }
        )
        return self

    def event(
        self,
        sid: str,
        type_: str,
        day: float,
        *,
        grade: int | None = None,
        term: str | None = None,
        drug: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Builder:
        self.events.append(
            {
                "study_id": sid,
                "type": type_,
                "onset_at": self.at(sid, day),
                "end_at": pd.NaT,
                "grade": grade,
                "term": term,
                "drug": drug,
                "details": details or {},
            }
        )
        return self

    def ncs(self, sid: str, day: int, nerves: list[dict[str, Any]]) -> Builder:
        """A nerve-conduction study `day` calendar days from the infusion date."""
        on = (self.infusion[sid] + pd.Timedelta(days=day)).date()
        self.ncs_studies.append({"study_id": sid, "study_date": on, "lab": "L",
                                 "nerves": nerves, "sensory_nerves": []})  # fmt: skip
        return self

    def scan(
        self,
        sid: str,
        day: int,
        *,
        comparator: int | None = None,
        new: int | None = None,
        enlarging: int | None = None,
        gd: int | None = None,
        region: str = "brain",
    ) -> Builder:
        """An MRI scan record `day` calendar days from the infusion date, read against the
        scan of day `comparator` (new/enlarging counts only with one; Gd with contrast)."""
        on = (self.infusion[sid] + pd.Timedelta(days=day)).date()
        before = (
            None if comparator is None
            else (self.infusion[sid] + pd.Timedelta(days=comparator)).date()
        )  # fmt: skip
        self.mri_scans.append({
            "study_id": sid, "scan_date": on, "comparator_date": before, "region": region,
            "field_strength_t": 3.0, "contrast_given": gd is not None,
            "new_t2_lesions": new, "enlarging_t2_lesions": enlarging,
            "gd_enhancing_lesions": gd, "t2_lesion_volume_ml": None, "brain_volume_ml": None,
            "pbvc_percent": None,
        })  # fmt: skip
        return self

    def frames(self) -> CohortFrames:
        tables = {
            name: pd.DataFrame(rows)
            for name, rows in (
                ("patients", self.patients),
                ("courses", self.courses),
                ("observations", self.observations),
                ("assessments", self.assessments),
                ("events", self.events),
                ("ncs_studies", self.ncs_studies),
                ("mri_scans", self.mri_scans),
            )
            if rows
        }
        if "mri_scans" in tables:
            for column in ("new_t2_lesions", "enlarging_t2_lesions", "gd_enhancing_lesions"):
                tables["mri_scans"][column] = tables["mri_scans"][column].astype("Int64")
        if "events" in tables:
            ev = tables["events"]
            ev["grade"] = ev["grade"].astype("Int64")
            ev["end_at"] = pd.Series(pd.NaT, index=ev.index, dtype="datetime64[us, UTC]")
        return CohortFrames.conformed(**tables)


SCALE = {"ms": "edss", "nmosd": "edss", "mg": "mg_adl", "imnm": "imacs_tis", "cidp": "incat"}
VISITS = (30, 91, 182, 274, 365, 456, 548, 639, 730)
KIN_DAYS = (1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 365)


def random_cohort(n: int, seed: int = 1) -> CohortFrames:
    """A seeded cohort of `n` patients with every table filled (not a clinical simulator)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    diseases = ("ms", "nmosd", "mg", "imnm", "cidp")
    for i in range(n):
        sid = f"NC-{i + 1:05d}"
        dx = diseases[int(rng.integers(5))]
        years = float(rng.uniform(1, 15))
        prior = tuple(f"drug{k}" for k in range(int(rng.integers(2, 6))))
        inf = T0 + pd.Timedelta(days=int(rng.integers(0, 365)))
        b.patient(
            sid,
            dx,
            infusion=inf,
            diagnosed=(inf - pd.Timedelta(days=365.25 * years)).date(),
            prior=prior,
        )
        cmax = 10 ** rng.normal(4.3, 0.4)
        responder = rng.random() < 0.95 - 0.03 * years + 0.1 * (np.log10(cmax) - 4.3)
        follow = float(rng.uniform(200, 800))
        csf_ratio = rng.uniform(0.005, 0.1) if responder or rng.random() < 0.4 else 0.0
        for day in KIN_DAYS:
            if day > follow:
                break
            level = (
                cmax * (day / 10) * np.exp(1 - day / 10)
                if day <= 10
                else cmax * np.exp(-(day - 10) / 40)
            )
            b.obs(sid, "local:cart_copies_blood", day + 0.1, level * rng.lognormal(0, 0.2))
            if day in (7, 28):
                b.obs(sid, "local:cart_copies_csf", day + 0.15, level * csf_ratio, "csf")
        for day in range(0, 31, 2):
            anc = 0.2 if day < rng.integers(4, 14) else 2.5
            b.obs(sid, "751-8", day + 0.2, anc * rng.lognormal(0, 0.1))
        for day in (-5, 14, 28, 90, 180, 365, 540):
            if day <= follow:
                cd19 = 150.0 if day < 0 or day >= rng.integers(90, 400) else 1.0
                b.obs(sid, "local:cd19_b_cells", day, cd19)
                b.obs(
                    sid,
                    "2465-3",
                    day,
                    10.0 if day < 0 else 10.0 - 4.0 * np.exp(-abs(day - 90) / 120),
                    "serum",
                )
        relapse_day = float(rng.uniform(60, follow)) if not responder else None
        scale = SCALE[dx]
        base = {"edss": 4.0, "mg_adl": 10.0, "imacs_tis": 0.0, "incat": 5.0}[scale]
        if dx == "imnm":
            b.obs(sid, "2157-6", -3, 6000, "serum")
        else:
            inputs = {"arm": 2, "leg": 3} if scale == "incat" else {}
            b.assess(sid, scale, -3, base, inputs)
        for v in VISITS:
            if v > follow:
                break
            good = responder or (relapse_day is not None and v < relapse_day)
            if scale == "edss":
                value = base - 0.5 if good else base + 1.0
            elif scale == "mg_adl":
                value = max(0.0, base - (6 if good else 0))
            elif scale == "imacs_tis":
                value = 55.0 if good else 15.0
                b.obs(sid, "2157-6", v, 800 if good else 5000, "serum")
            else:
                value = 3.0 if good else 6.0
            inputs = (
                ({"arm": 1, "leg": 2} if good else {"arm": 3, "leg": 3}) if scale == "incat" else {}
            )
            b.assess(sid, scale, v, value, inputs)
            if dx == "ms" and v in (182, 365):
                b.event(
                    sid,
                    "mri",
                    v,
                    details={"new_or_enlarging_t2": 0 if good else 2, "gd_enhancing": 0},
                )
                b.scan(sid, v, comparator=182 if v == 365 else -10, new=0 if good else 2,
                       enlarging=0, gd=0)  # fmt: skip
        b.assess(
            sid,
            SCALE[dx] if dx != "imnm" else "imacs_tis",
            follow,
            value if follow > 30 else base,
            inputs if scale == "incat" else {},
        )
        crs = int(rng.choice([0, 1, 1, 1, 2, 2, 3]))
        if crs:
            b.event(sid, "adverse_event", float(rng.uniform(1, 7)), grade=crs, term="crs")
        if rng.random() < 0.3:
            b.event(
                sid,
                "infection",
                float(rng.uniform(10, follow)),
                grade=int(rng.choice([1, 2, 2, 3])),
            )
        if relapse_day is not None:
            b.event(sid, "relapse", relapse_day)
            if rng.random() < 0.5:
                b.event(sid, "maintenance_started", relapse_day + 10, drug="rituximab")
    return b.frames()
