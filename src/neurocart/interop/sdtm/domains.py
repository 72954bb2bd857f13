"""The SDTM datasets of a cohort: `CohortFrames` (current facts) → one DataFrame per dataset.

A pure transformation: no I/O, no clock. Each builder below yields the domain's own variables
per record; `_finish` adds the identifiers, the sequence number, the visit and the study days
the same way for every domain, and collects the sponsor day CARTDY for the SUPP-- dataset.
Records neurocart holds but SDTM has no home for here (e.g. LVEF, derived indices) are counted
in `SdtmData.omitted` rather than dropped silently.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.ingest.codes import CATALOGUE, LOCAL, LOINC
from neurocart.interop.sdtm import terms
from neurocart.interop.sdtm.days import (
    age_at,
    cart_day,
    dtc,
    dtc_date,
    dtc_day_part,
    iso_duration_hours,
    local_date,
    sdtm_day,
)
from neurocart.interop.sdtm.variables import DOMAINS, variables
from neurocart.interop.sdtm.visits import VISITS, visit_of
from neurocart.kinetics.cart import DEFAULT_LLOQ, kinetics
from neurocart.standards import REGISTRY, calculate
from neurocart.standards.errors import CalculatorInputError
from neurocart.standards.fields import walk_fields

NO_MEDDRA_TERM = (
    "AEDECOD: no MedDRA preferred term for the reported term(s) {terms}; give the site's "
    "MedDRA coding (--meddra FILE)"
)
MEDDRA_UNREADABLE = "--meddra: cannot read {path}: {error}"
MEDDRA_SHAPE = "--meddra: {path} needs a [terms] table of text = text"
MESSAGES = (NO_MEDDRA_TERM, MEDDRA_UNREADABLE, MEDDRA_SHAPE)
"""The SDTM export's refusals as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): the command line says them in its reader's language."""


class SdtmError(ValueError):
    """The cohort cannot be written as SDTM as asked; the message names what is missing."""


@dataclass(frozen=True)
class SdtmConfig:
    """What the store does not hold: the study, the site's country and zone, MedDRA terms."""

    studyid: str
    country: str
    timezone: str = "UTC"
    meddra: Mapping[str, str] = field(default_factory=dict)
    """Reported term (AETERM, case-insensitive) → MedDRA preferred term (AEDECOD)."""
    title: str = "BCMA CAR-T cell therapy in refractory neurological autoimmune disease"
    protocol: str = "nad-cart-2025"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class SdtmData:
    """The datasets (name → frame, in define.xml order) and what could not be placed."""

    datasets: dict[str, pd.DataFrame]
    omitted: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Subject:
    usubjid: str
    infusion: date | None
    apheresis: date | None
    ld_start: date | None
    infusion_dtc: str
    infusion_at: datetime | None


def _v(x: Any) -> Any:
    """A frame cell as a plain value (NaN / NaT / <NA> → None)."""
    if x is None or x is pd.NaT or x is pd.NA:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    return x


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for row in frame.to_dict("records"):
        yield {str(k): _v(v) for k, v in row.items()}


def _num(x: float) -> str:
    """A number as --ORRES text: shortest round-trip repr, no trailing .0 for integers."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _yn(x: Any) -> str:
    if x is None:
        return ""
    return "Y" if x in (True, "Y", "y", "yes", 1) else "N"


class _Builder:
    def __init__(self, frames: CohortFrames, config: SdtmConfig) -> None:
        self.f = frames
        self.c = config
        self.zone = config.zone
        self.omitted: Counter[str] = Counter()
        self.supp: dict[str, list[dict[str, Any]]] = {}
        self.subjects = self._subjects()

    # --- subjects -----------------------------------------------------------------------
    def _subjects(self) -> dict[str, _Subject]:
        courses = {r["study_id"]: r for r in _rows(self.f.courses)}
        out = {}
        for p in _rows(self.f.patients):
            c = courses.get(p["study_id"], {})
            infusion = c.get("infusion_at")
            out[p["study_id"]] = _Subject(
                usubjid=f"{self.c.studyid}-{p['study_id']}",
                infusion=None if infusion is None else local_date(infusion, self.zone),
                apheresis=self._date(c.get("apheresis_at")),
                ld_start=self._date(c.get("ld_start_at")),
                infusion_dtc=dtc(infusion, self.zone),
                infusion_at=infusion,
            )
        return out

    def _date(self, t: datetime | None) -> date | None:
        return None if t is None else local_date(t, self.zone)

    def dtc(self, t: datetime | None) -> str:
        return dtc(t, self.zone)

    # --- the shared finishing step -------------------------------------------------------
    def finish(self, domain: str, rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
        """Identifiers, --SEQ (per subject, in time order), visit, --DY, SUPP CARTDY."""
        names = [v.name for v in variables(domain)]
        p = domain
        dtc_var = f"{p}DTC" if f"{p}DTC" in names else f"{p}STDTC"
        records = sorted(rows, key=lambda r: (r["study_id"], r.get(dtc_var) or "", r.get("_k", "")))
        seq: Counter[str] = Counter()
        out = []
        for r in records:
            s = self.subjects[r.pop("study_id")]
            r.pop("_k", None)
            seq[s.usubjid] += 1
            r |= {"STUDYID": self.c.studyid, "DOMAIN": domain, "USUBJID": s.usubjid}
            r[f"{p}SEQ"] = seq[s.usubjid]
            for var, dy_var in (
                (f"{p}DTC", f"{p}DY"),
                (f"{p}STDTC", f"{p}STDY"),
                (f"{p}ENDTC", f"{p}ENDY"),
            ):
                if var in names and dy_var in names:
                    day = dtc_day_part(r.get(var) or "")
                    known = day is not None and s.infusion is not None
                    r[dy_var] = sdtm_day(day, s.infusion) if known else None  # type: ignore[arg-type]
            day = dtc_day_part(r.get(dtc_var) or "")
            if "VISITNUM" in names and day is not None:
                v = visit_of(day, apheresis=s.apheresis, ld_start=s.ld_start, infusion=s.infusion)
                r |= {"VISITNUM": v.num, "VISIT": v.name, "VISITDY": v.visitdy}
            if day is not None and s.infusion is not None:
                self.add_supp(
                    domain,
                    s.usubjid,
                    f"{p}SEQ",
                    r[f"{p}SEQ"],
                    "CARTDY",
                    "CAR-T Protocol Day (Infusion = Day 0)",
                    str(cart_day(day, s.infusion)),
                    "Derived",
                )
            for k in list(r):
                if k.startswith("_supp_"):
                    qnam, label, value = r.pop(k)
                    self.add_supp(domain, s.usubjid, f"{p}SEQ", r[f"{p}SEQ"], qnam, label, value)
            out.append(r)
        unknown = {k for r in out for k in r} - set(names)
        if unknown:  # a builder wrote a variable the metadata does not declare
            raise AssertionError(f"{domain}: undeclared variables {sorted(unknown)}")
        frame = pd.DataFrame.from_records(out, columns=names)
        return _typed(frame)

    def add_supp(
        self,
        domain: str,
        usubjid: str,
        idvar: str,
        idvarval: Any,
        qnam: str,
        qlabel: str,
        qval: str,
        qorig: str = "Collected",
    ) -> None:
        if qval in (None, ""):
            return
        self.supp.setdefault(domain, []).append(
            {
                "STUDYID": self.c.studyid,
                "RDOMAIN": domain,
                "USUBJID": usubjid,
                "IDVAR": idvar,
                "IDVARVAL": str(idvarval),
                "QNAM": qnam,
                "QLABEL": qlabel,
                "QVAL": qval,
                "QORIG": qorig,
                "QEVAL": "",
            }
        )

    # --- DM -----------------------------------------------------------------------------
    def dm(self) -> pd.DataFrame:
        courses = {r["study_id"]: r for r in _rows(self.f.courses)}
        deaths = {
            e["study_id"]: e["onset_at"] for e in _rows(self.f.events) if e["type"] == "death"
        }
        ld_first: dict[str, datetime] = {}
        for e in self._ld_doses():
            ld_first.setdefault(e["study_id"], e["onset_at"])
        out = []
        for p in _rows(self.f.patients):
            s = self.subjects[p["study_id"]]
            c = courses.get(p["study_id"], {})
            infused = c.get("infusion_at") is not None
            ld_start = ld_first.get(p["study_id"])
            rfx = self.dtc(ld_start) if ld_start else dtc_date(s.ld_start)
            death = deaths.get(p["study_id"])
            row = {
                "STUDYID": self.c.studyid,
                "DOMAIN": "DM",
                "USUBJID": s.usubjid,
                "SUBJID": p["study_id"],
                "RFSTDTC": s.infusion_dtc,
                "RFENDTC": s.infusion_dtc,
                "RFXSTDTC": rfx or s.infusion_dtc,
                "RFXENDTC": s.infusion_dtc,
                "DTHDTC": self.dtc(death),
                "DTHFL": "Y" if death else "",
                "SITEID": p["site"],
                "BRTHDTC": "" if p["birth_year"] is None else f"{int(p['birth_year']):04d}",
                "AGE": None
                if s.infusion is None or p["birth_year"] is None
                else age_at(int(p["birth_year"]), s.infusion),
                "AGEU": "YEARS" if s.infusion is not None else "",
                "SEX": terms.SEX.get(p["sex"], "U"),
                "ARMCD": "" if not infused else "CART",
                "ARM": "" if not infused else "BCMA CAR-T",
                "ACTARMCD": "" if not infused else "CART",
                "ACTARM": "" if not infused else "BCMA CAR-T",
                "ARMNRS": "" if infused else "NOT TREATED",
                "COUNTRY": self.c.country,
            }
            if p["sex"] not in ("female", "male", "unknown"):
                self.add_supp("DM", s.usubjid, "", "", "SEXORIG", "Sex as Recorded", p["sex"])
            out.append(row)
        return _typed(pd.DataFrame.from_records(out, columns=[v.name for v in variables("DM")]))

    def _ld_doses(self) -> list[dict[str, Any]]:
        return [
            e
            for e in _rows(self.f.events)
            if e["type"] == "drug_given" and (e["drug"] or "").lower() in terms.LD_DRUGS
        ]

    # --- events -------------------------------------------------------------------------
    def ae(self) -> pd.DataFrame:
        rows = []
        missing: set[str] = set()
        meddra = {k.lower(): v for k, v in self.c.meddra.items()}
        for e in _rows(self.f.events):
            if e["type"] not in terms.AE_TYPES:
                continue
            term, category, scale = classify_ae(e["type"], e["term"])
            decod = meddra.get(term.lower())
            if not decod:
                missing.add(term)
                continue
            d = e["details"] or {}
            rows.append(
                {
                    "study_id": e["study_id"],
                    "AETERM": term,
                    "AEDECOD": decod,
                    "AECAT": category,
                    "AESER": _yn(d.get("serious")),
                    "AEREL": str(d.get("relatedness", "") or "").upper(),
                    "AEACN": str(d.get("action_taken", "") or "").upper(),
                    "AESEV": "",
                    "AETOXGR": "" if e["grade"] is None else str(int(e["grade"])),
                    "AESTDTC": self.dtc(e["onset_at"]),
                    "AEENDTC": self.dtc(e["end_at"]),
                    "_supp_tox": ("TOXSCALE", "Toxicity Grading Scale", scale),
                }
            )
        if missing:
            raise SdtmError(NO_MEDDRA_TERM.format(terms=", ".join(sorted(missing))))
        return self.finish("AE", rows)

    def fa(self, ae: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        rows = []
        for n, a in enumerate(_rows(self.f.assessments)):
            if a["instrument"] not in terms.FA_TESTS:
                continue
            obj = (
                self.c.meddra.get(terms.AE_TERMS[a["instrument"]])
                or terms.AE_TERMS[a["instrument"]]
            )
            t = self.dtc(a["effective_at"])
            tests = terms.FA_TESTS[a["instrument"]]
            grp = f"{a['instrument'].upper()}-{n + 1}"
            items = [(k, v) for k, v in (a["inputs"] or {}).items() if v is not None]
            items.append(("__grade", a["value"]))
            for k, v in items:
                cd, name, unit = (
                    ("GRADE", "Grade", "") if k == "__grade" else tests.get(k, _sponsor(k))
                )
                rows.append(
                    {
                        "study_id": a["study_id"],
                        "_k": f"{grp}-{cd}",
                        "FAGRPID": grp,
                        "FATESTCD": cd,
                        "FATEST": name,
                        "FAOBJ": obj,
                        "FACAT": a["instrument"].upper(),
                        **_result("FA", v, unit),
                        "FADTC": t,
                    }
                )
        fa = self.finish("FA", rows)
        return fa, self._relrec(ae, fa)

    def _relrec(self, ae: pd.DataFrame, fa: pd.DataFrame) -> list[dict[str, Any]]:
        """Each CRS/ICANS AE with the FA groups assessed during it (RELTYPE ONE / MANY)."""
        out: list[dict[str, Any]] = []
        if ae.empty or fa.empty:
            return out
        groups = fa.drop_duplicates("FAGRPID")[["USUBJID", "FAGRPID", "FACAT", "FADTC"]]
        for a in ae.to_dict("records"):
            cat = {"CYTOKINE RELEASE SYNDROME": "CRS", "ICANS": "ICANS"}.get(a["AECAT"])
            if cat is None:
                continue
            end = a["AEENDTC"] or "9999"
            hit = groups[
                (a["USUBJID"] == groups.USUBJID)
                & (cat == groups.FACAT)
                & (a["AESTDTC"][:10] <= groups.FADTC)
                & (end >= groups.FADTC)
            ]
            if hit.empty:
                continue
            relid = f"AE{int(a['AESEQ'])}"
            base = {"STUDYID": self.c.studyid, "USUBJID": a["USUBJID"], "RELID": relid}
            out.append(
                base
                | {"RDOMAIN": "AE", "IDVAR": "AESEQ", "IDVARVAL": str(a["AESEQ"]), "RELTYPE": "ONE"}
            )
            out += [
                base | {"RDOMAIN": "FA", "IDVAR": "FAGRPID", "IDVARVAL": g, "RELTYPE": "MANY"}
                for g in hit.FAGRPID
            ]
        return out

    def cm_ex_pr(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        cm, ex, pr = [], [], []
        courses = {r["study_id"]: r for r in _rows(self.f.courses)}
        for p in _rows(self.f.patients):
            for drug in p["prior_therapies"] or []:
                cm.append(
                    {
                        "study_id": p["study_id"],
                        "_k": drug,
                        "CMTRT": drug.replace("_", " ").upper(),
                        "CMCAT": "PRIOR THERAPY",
                        **_atc(drug),
                        "CMENRF": "BEFORE",
                    }
                )
        for e in _rows(self.f.events):
            d = e["details"] or {}
            drug = (e["drug"] or "").lower()
            if e["type"] == "drug_given" and drug in terms.LD_DRUGS:
                ex.append(
                    {
                        "study_id": e["study_id"],
                        "EXTRT": drug.upper(),
                        "EXCAT": "LYMPHODEPLETION",
                        "EXDOSE": d.get("dose"),
                        "EXDOSU": terms.unit(d.get("unit") or ""),
                        "EXROUTE": "INTRAVENOUS",
                        "EXLOT": "",
                        "EXSTDTC": self.dtc(e["onset_at"]),
                        "EXENDTC": self.dtc(e["end_at"] or e["onset_at"]),
                    }
                )
            elif e["type"] == "car_t_infusion":
                c = courses.get(e["study_id"], {})
                dose = d.get("dose_cells_per_kg", c.get("dose_cells_per_kg"))
                ex.append(
                    {
                        "study_id": e["study_id"],
                        "EXTRT": str(c.get("product") or "CAR-T").upper(),
                        "EXCAT": "CAR-T INFUSION",
                        "EXDOSE": dose,
                        "EXDOSU": "" if dose is None else "cells/kg",
                        "EXROUTE": "INTRAVENOUS",
                        "EXLOT": str(d.get("lot") or ""),
                        "EXSTDTC": self.dtc(e["onset_at"]),
                        "EXENDTC": self.dtc(e["end_at"] or e["onset_at"]),
                    }
                )
            elif e["type"] in ("drug_given", "maintenance_started"):
                cm.append(
                    {
                        "study_id": e["study_id"],
                        "CMTRT": drug.replace("_", " ").upper(),
                        "CMCAT": "CONCOMITANT" if e["type"] == "drug_given" else "MAINTENANCE",
                        **_atc(drug),
                        "CMDOSE": d.get("dose"),
                        "CMDOSU": terms.unit(d.get("unit") or ""),
                        "CMENRF": "",
                        "CMSTDTC": self.dtc(e["onset_at"]),
                        "CMENDTC": self.dtc(e["end_at"]),
                    }
                )
            elif e["type"] == "premedication":
                for agent in d.get("agents") or []:
                    cm.append(
                        {
                            "study_id": e["study_id"],
                            "_k": agent,
                            "CMTRT": str(agent).replace("_", " ").upper(),
                            "CMCAT": "PREMEDICATION",
                            **_atc(str(agent)),
                            "CMSTDTC": self.dtc(e["onset_at"]),
                            "CMENDTC": self.dtc(e["end_at"]),
                        }
                    )
            elif e["type"] in terms.PROCEDURES:
                pr.append(
                    {
                        "study_id": e["study_id"],
                        "PRTRT": terms.PROCEDURES[e["type"]],
                        "PRSTDTC": self.dtc(e["onset_at"]),
                        "PRENDTC": self.dtc(e["end_at"]),
                    }
                )
            elif e["type"] not in terms.AE_TYPES and e["type"] not in (
                "death",
                "relapse",
                "hospitalization",
            ):
                self.omitted[f"event {e['type']}"] += 1
        return self.finish("CM", cm), self.finish("EX", ex), self.finish("PR", pr)

    def ho(self) -> pd.DataFrame:
        """Hospital stays (SDTMIG 3.4 HO): the CAR-T admission and any readmission."""
        rows = [
            {
                "study_id": e["study_id"],
                "HOTERM": "HOSPITAL",
                "HODECOD": "HOSPITAL",
                "HOINDC": str((e["details"] or {}).get("reason") or "").replace("_", " ").upper(),
                "HOSTDTC": self.dtc(e["onset_at"]),
                "HOENDTC": self.dtc(e["end_at"]),
            }
            for e in _rows(self.f.events)
            if e["type"] == "hospitalization"
        ]
        return self.finish("HO", rows)

    def ds_mh_ce(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        ds, mh, ce = [], [], []
        courses = {r["study_id"]: r for r in _rows(self.f.courses)}
        for p in _rows(self.f.patients):
            c = courses.get(p["study_id"], {})
            if c.get("enrolment_at") is not None:
                ds.append(
                    {
                        "study_id": p["study_id"],
                        "DSTERM": "ENROLLED",
                        "DSDECOD": "ENROLLED",
                        "DSCAT": "PROTOCOL MILESTONE",
                        "DSSTDTC": self.dtc(c["enrolment_at"]),
                    }
                )
            dx = p["diagnosis"].upper() + (f" ({p['subtype'].upper()})" if p["subtype"] else "")
            mh.append(
                {
                    "study_id": p["study_id"],
                    "MHTERM": dx,
                    "MHCAT": "PRIMARY DIAGNOSIS",
                    "MHSTDTC": dtc_date(p["diagnosis_date"]),
                    "MHENDTC": "",
                }
            )
        for e in _rows(self.f.events):
            s = self.subjects[e["study_id"]]
            if e["type"] == "death":
                ds.append(
                    {
                        "study_id": e["study_id"],
                        "DSTERM": "DEATH",
                        "DSDECOD": "DEATH",
                        "DSCAT": "DISPOSITION EVENT",
                        "DSSTDTC": self.dtc(e["onset_at"]),
                    }
                )
            elif e["type"] == "relapse":
                before = s.infusion is None or local_date(e["onset_at"], self.zone) < s.infusion
                row = {"study_id": e["study_id"]}
                if before:
                    mh.append(
                        row
                        | {
                            "MHTERM": "RELAPSE",
                            "MHCAT": "RELAPSE",
                            "MHSTDTC": self.dtc(e["onset_at"]),
                            "MHENDTC": self.dtc(e["end_at"]),
                        }
                    )
                else:
                    ce.append(
                        row
                        | {
                            "CETERM": "RELAPSE",
                            "CECAT": "RELAPSE",
                            "CESTDTC": self.dtc(e["onset_at"]),
                            "CEENDTC": self.dtc(e["end_at"]),
                        }
                    )
        return self.finish("DS", ds), self.finish("MH", mh), self.finish("CE", ce)

    # --- findings -----------------------------------------------------------------------
    def observations(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        lb, vs, pc = [], [], []
        lloq = {"CARTCOPY": DEFAULT_LLOQ["copies"], "CARTCELL": DEFAULT_LLOQ["cells"]}
        for o in _rows(self.f.observations):
            code, unit = o["code"], o["unit"]
            base = {"study_id": o["study_id"], "_k": code}
            t = self.dtc(o["effective_at"])
            if code in terms.VS_TEST:
                cd, name = terms.VS_TEST[code]
                u = terms.RESP_UNIT if cd == "RESP" else terms.unit(unit)
                vs.append(
                    base
                    | {"VSTESTCD": cd, "VSTEST": name, **_result("VS", o["value"], u), "VSDTC": t}
                )
            elif code in terms.PC_TEST:
                cd, name, spec = terms.PC_TEST[code]
                s = self.subjects[o["study_id"]]
                hours = (
                    None
                    if s.infusion_at is None
                    else (o["effective_at"] - s.infusion_at).total_seconds() / 3600
                )
                pc.append(
                    base
                    | {
                        "PCTESTCD": cd,
                        "PCTEST": name,
                        **_result("PC", o["value"], terms.unit(unit)),
                        "PCSPEC": spec,
                        "PCLLOQ": lloq[cd],
                        "PCDTC": t,
                        "PCTPTREF": "CAR-T INFUSION",
                        "PCRFTDTC": s.infusion_dtc,
                        "PCELTM": "" if hours is None else iso_duration_hours(round(hours)),
                    }
                )
            elif code in terms.LB_TEST:
                cd, name = terms.LB_TEST[code]
                spec = "URINE" if code == "2106-3" else terms.SPECIMEN.get(o["specimen"], "")
                if o["specimen"] == "other" and code != "2106-3":
                    spec = ""
                system = LOCAL if code.startswith("local:") else LOINC
                lb.append(
                    base
                    | {
                        "LBTESTCD": cd,
                        "LBTEST": name,
                        **_result("LB", o["value"], terms.unit(unit), qual=unit == "{result}"),
                        "LBSPEC": spec,
                        "LBLOINC": code if system == LOINC and (LOINC, code) in CATALOGUE else "",
                        "LBTOXGR": lab_grade(code, o["value"]),
                        "LBDTC": t,
                    }
                )
            else:
                self.omitted[f"observation {code}"] += 1
        return self.finish("LB", lb), self.finish("VS", vs), self.finish("PC", pc)

    def pp(self) -> pd.DataFrame:
        rows = []
        measures: tuple[tuple[Literal["copies", "cells"], str], ...] = (
            ("copies", "CARTCOPY"),
            ("cells", "CARTCELL"),
        )
        for measure, cd in measures:
            k = kinetics(self.f.observations, self.f.courses, measure=measure)
            unit = terms.UNIT["copies/µg DNA" if measure == "copies" else "cells/µL"]
            for r in _rows(k):
                s = self.subjects[r["study_id"]]
                spec = "BLOOD" if r["compartment"] == "blood" else "CEREBROSPINAL FLUID"
                params = [
                    ("CMAX", "Max Conc", r["cmax"], unit, "", ""),
                    ("TMAX", "Time of CMAX", r["tmax_day"], "DAYS", "", ""),
                    ("AUCINT", "AUC from T1 to T2", r["auc_0_28"], f"day*{unit}", "P0D", "P28D"),
                    ("TLST", "Time of Last Nonzero Conc", r["last_detectable_day"], "DAYS", "", ""),
                ]
                for pcd, name, value, u, st, en in params:
                    if value is None:
                        continue
                    rows.append(
                        {
                            "study_id": r["study_id"],
                            "_k": f"{cd}{spec}{pcd}",
                            "PPTESTCD": pcd,
                            "PPTEST": f"{name} ({cd})"[:40],
                            "PPCAT": cd,
                            **_result("PP", float(value), u),
                            "PPSPEC": spec,
                            "PPSTINT": st,
                            "PPENINT": en,
                            "PPRFTDTC": s.infusion_dtc,
                        }
                    )
        return self.finish("PP", rows)

    def scales(self) -> dict[str, pd.DataFrame]:
        rows: dict[str, list[dict[str, Any]]] = {"RS": [], "QS": [], "FT": []}
        for n, a in enumerate(_rows(self.f.assessments)):
            inst = a["instrument"]
            if inst in terms.FA_TESTS:
                continue
            if inst not in terms.INSTRUMENTS:
                self.omitted[f"assessment {inst}"] += 1
                continue
            domain, cat, prefix = terms.INSTRUMENTS[inst]
            t = self.dtc(a["effective_at"])
            items = [(k, v) for k, v in _flat(a["inputs"] or {}) if v is not None]
            items.append(("total", a["value"]))
            for k, v in items:
                cd = f"{prefix}{_code_of(inst, k)}"
                name = f"{cat} {'Total Score' if k == 'total' else k.replace('_', ' ').title()}"
                rows[domain].append(
                    {
                        "study_id": a["study_id"],
                        "_k": f"{n:06d}{cd}",
                        f"{domain}TESTCD": cd,
                        f"{domain}TEST": name[:40],
                        f"{domain}CAT": cat,
                        **_result(domain, v, ""),
                        f"{domain}DTC": t,
                    }
                )
        return {d: self.finish(d, r) for d, r in rows.items()}

    # --- trial design -------------------------------------------------------------------
    def design(self) -> dict[str, pd.DataFrame]:
        sid: dict[str, Any] = {"STUDYID": self.c.studyid}
        ts_rows = [
            ("TITLE", "Trial Title", self.c.title),
            ("SDTIGVER", "SDTM IG Version", "3.4"),
            ("SDTMVER", "SDTM Version", "2.0"),
            ("TRT", "Investigational Therapy or Treatment", "BCMA CAR-T CELLS"),
            ("NARMS", "Planned Number of Arms", "1"),
            ("RANDOM", "Trial is Randomized", "N"),
            ("PROTID", "Protocol Identifier", self.c.protocol),
        ]
        ts = [
            sid | {"DOMAIN": "TS", "TSSEQ": 1, "TSPARMCD": cd, "TSPARM": p, "TSVAL": v}
            for cd, p, v in ts_rows
        ]
        elements = [
            (
                "SCRN",
                "Screening",
                "Informed consent / enrolment",
                "Start of apheresis",
                "SCREENING",
            ),
            (
                "LD",
                "Apheresis and lymphodepletion",
                "Start of apheresis",
                "CAR-T infusion",
                "TREATMENT",
            ),
            (
                "CART",
                "CAR-T infusion and follow-up",
                "CAR-T infusion (RFSTDTC)",
                "End of follow-up",
                "FOLLOW-UP",
            ),
        ]
        te = [
            sid | {"DOMAIN": "TE", "ETCD": e, "ELEMENT": n, "TESTRL": s, "TEENRL": en}
            for e, n, s, en, _ in elements
        ]
        ta = [
            sid
            | {
                "DOMAIN": "TA",
                "ARMCD": "CART",
                "ARM": "BCMA CAR-T",
                "TAETORD": i,
                "ETCD": e,
                "ELEMENT": n,
                "EPOCH": ep,
            }
            for i, (e, n, _, _, ep) in enumerate(elements, start=1)
        ]
        tv = [
            sid
            | {
                "DOMAIN": "TV",
                "VISITNUM": v.num,
                "VISIT": v.name,
                "VISITDY": v.visitdy,
                "TVSTRL": (
                    f"CAR-T day {v.cart_day} (SDTM day {v.visitdy})"
                    if v.cart_day is not None
                    else f"Anchor: {v.label.lower()}"
                ),
            }
            for v in VISITS
        ]
        return {
            name: _typed(pd.DataFrame.from_records(r, columns=[v.name for v in variables(name)]))
            for name, r in (("TS", ts), ("TA", ta), ("TE", te), ("TV", tv))
        }


def lab_grade(code: str, value: float) -> str:
    """LBTOXGR: the CTCAE v5.0 grade of a decreased count or hemoglobin ("" if not graded).

    Graded by neurocart's `ctcae_lab` calculator (National Cancer Institute, CTCAE v5.0, 2017)
    with its default lower limits of normal: the record holds no laboratory reference ranges.

    >>> lab_grade("751-8", 0.4), lab_grade("751-8", 2.5), lab_grade("1988-5", 80.0)
    ('4', '0', '')
    """
    term = terms.CTCAE_LAB.get(code)
    if term is None:
        return ""
    try:
        return str(int(calculate("ctcae_lab", {"term": term, "value": value}).number))
    except CalculatorInputError:
        return ""


def classify_ae(event_type: str, term: str | None) -> tuple[str, str, str]:
    """(AETERM, AECAT, grading scale) of an AE-type event.

    CRS and ICANS are graded by the ASTCT consensus (Lee et al., Biol Blood Marrow Transplant
    2019;25:625–638, doi:10.1016/j.bbmt.2018.12.758), ICAHT by the EHA/EBMT consensus (Rejeski
    et al., Blood 2023;142:865–877, doi:10.1182/blood.2023020578); everything else by CTCAE
    v5.0. A generic adverse event whose term is one of these ("crs") is categorized as it.

    >>> classify_ae("adverse_event", "crs")
    ('Cytokine release syndrome', 'CYTOKINE RELEASE SYNDROME', 'ASTCT 2019')
    >>> classify_ae("infection", "pneumonia")
    ('pneumonia', 'INFECTION', 'CTCAE V5.0')
    """
    key = (term or event_type).lower()
    text = terms.AE_TERMS.get(key) or term or terms.AE_TERMS.get(event_type, event_type)
    kind = key if event_type == "adverse_event" and key in terms.AE_TYPES else event_type
    scale = terms.TOXSCALE.get(key) or terms.TOXSCALE.get(event_type) or terms.CTCAE
    return text, terms.AE_TYPES[kind], scale


def _sponsor(name: str) -> tuple[str, str, str]:
    code = "".join(ch for ch in name.upper() if ch.isalnum())[:8] or "ITEM"
    return code, name.replace("_", " ").title()[:40], ""


def _code_of(instrument: str, item: str) -> str:
    """The item's number in the calculator's field order, two digits ("TOT" for the total)."""
    if item == "total":
        return "TOT"
    names = item_names(instrument)
    return f"{names.index(item) + 1:02d}" if item in names else _sponsor(item)[0][:5]


def item_names(instrument: str) -> list[str]:
    """The instrument's scalar input names in its calculator's order (nested ones joined by _)."""
    specs = walk_fields(REGISTRY[instrument].fields)
    return [s.name.replace(".", "_") for s in specs if s.kind not in ("list", "object")]


def _flat(inputs: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in inputs.items():
        if isinstance(v, Mapping):
            out += _flat(v, f"{prefix}{k}_")
        elif not isinstance(v, list | tuple):
            out.append((f"{prefix}{k}", v))
    return out


def _atc(drug: str) -> dict[str, str]:
    code = terms.ATC.get(drug.lower(), "")
    return {"CMCLASCD": code, "CMCLAS": ""} if code else {}


def _result(p: str, value: Any, unit: str, *, qual: bool = False) -> dict[str, Any]:
    """--ORRES / --STRESC / --STRESN / units for a value in its canonical unit."""
    if qual:
        text = "POSITIVE" if float(value) >= 1 else "NEGATIVE"
        return {
            f"{p}ORRES": text,
            f"{p}ORRESU": "",
            f"{p}STRESC": text,
            f"{p}STRESN": None,
            f"{p}STRESU": "",
        }
    if isinstance(value, bool):
        text = "Y" if value else "N"
        return {
            f"{p}ORRES": text,
            f"{p}ORRESU": "",
            f"{p}STRESC": text,
            f"{p}STRESN": None,
            f"{p}STRESU": "",
        }
    if isinstance(value, int | float):
        text = _num(float(value))
        return {
            f"{p}ORRES": text,
            f"{p}ORRESU": unit,
            f"{p}STRESC": text,
            f"{p}STRESN": float(value),
            f"{p}STRESU": unit,
        }
    text = str(value).upper()
    return {
        f"{p}ORRES": text,
        f"{p}ORRESU": "",
        f"{p}STRESC": text,
        f"{p}STRESN": None,
        f"{p}STRESU": "",
    }


NUMERIC_SUFFIXES = ("SEQ", "DY", "STDY", "ENDY", "STRESN", "DOSE", "LLOQ")
NUMERIC = frozenset({"AGE", "VISITNUM", "VISITDY", "TAETORD", "TSSEQ"})


def is_numeric(name: str) -> bool:
    """Whether a variable is numeric (SAS Num) rather than character."""
    return (
        name in NUMERIC
        or (len(name) > 2 and name[2:] in NUMERIC_SUFFIXES)
        or (name.endswith("SEQ") and name != "IDVARVAL")
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric variables as float64 (NaN missing), character ones as str ("" missing)."""
    for name in frame.columns:
        if is_numeric(name):
            frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        else:
            frame[name] = frame[name].map(lambda x: "" if _v(x) is None else str(x)).astype(object)
    return frame


def build_sdtm(frames: CohortFrames, config: SdtmConfig) -> SdtmData:
    """Every dataset for `frames` (current facts only), in define.xml order.

    Raises SdtmError when an adverse event's reported term has no MedDRA term in `config`.
    """
    b = _Builder(frames, config)
    data: dict[str, pd.DataFrame] = dict(b.design())
    data["DM"] = b.dm()
    data["AE"] = b.ae()
    data["DS"], data["MH"], data["CE"] = b.ds_mh_ce()
    data["HO"] = b.ho()
    data["CM"], data["EX"], data["PR"] = b.cm_ex_pr()
    fa, relrec = b.fa(data["AE"])
    data["FA"] = fa
    data["LB"], data["VS"], data["PC"] = b.observations()
    data["PP"] = b.pp()
    data.update(b.scales())
    data["RELREC"] = _typed(
        pd.DataFrame.from_records(relrec, columns=[v.name for v in variables("RELREC")])
    )
    names = [v.name for v in variables("SUPPAE")]
    for domain, rows in sorted(b.supp.items()):
        data[f"SUPP{domain}"] = _typed(pd.DataFrame.from_records(rows, columns=names))
    order = [d for d in DOMAINS if d in data] + sorted(d for d in data if d.startswith("SUPP"))
    kept = {d: data[d] for d in order if not data[d].empty}
    return SdtmData(kept, b.omitted)
