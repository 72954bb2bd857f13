"""The catalogue of observation codes neurocart knows, with unit, specimens and possible range.

One entry per measured quantity: its code (LOINC where DESIGN.md fixes one, a neurocart local
code otherwise), display name, canonical SI unit, the specimens it is measured in, and the
*physiologically possible* range in the canonical unit. A value outside that range is rejected
at ingest: it cannot come from a living patient, so it is a unit slip (98.6 sent as °C), a
typing error (3.7 for 37) or a device fault, and storing it would poison every trend, grade and
alert computed from it. The bounds are deliberately generous — they are not reference ranges
and never reject a value that is merely extreme (a ferritin of 200,000 µg/L in IEC-HS is real);
the reasoning is in the comment beside each entry. Nothing here is cited: where a bound rests
on an extreme case it says so in words.

Local codes live in the code system `LOCAL`. CD19 B cells are local until the LOINC mapping is
checked against the LOINC table (candidate: 8116-6, "CD19 cells [#/volume] in Blood").

Specimens: the first listed is the default when a row does not say. Vital signs have no
specimen ("other", the store's value for none). Blood counts and cell-associated DNA are whole
blood only; serum/plasma chemistry is "serum" or "blood" (the store has no "plasma": "blood"
stands for any blood-derived sample); CSF quantities have their own codes, so a trend never
mixes blood and CSF. Urine (the pregnancy test) and imaging results (LVEF) are "other".

Qualitative results (screening serology, IGRA, pregnancy tests) are stored as the value 0
(negative) or 1 (positive) in the unit "{result}"; any other number is refused. Viral loads
are in WHO international units per mL.

Every code a shipped care-pathway protocol names in `completed_by.observations` is here (a
test holds them), so a recorded result can complete its task.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from neurocart.ingest.errors import CODE_ELSEWHERE, UNKNOWN_CODE, UnknownCodeError
from neurocart.ingest.units import BEATS, BREATHS, Conversion, UnitTable, build_table, unit_key

LOINC = "http://loinc.org"
LOCAL = "urn:neurocart:local"


class Specimen(enum.StrEnum):
    """Where a value was measured. The store imports this enum (one definition)."""

    BLOOD = "blood"
    CSF = "csf"
    SERUM = "serum"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ObservationCode:
    """One known quantity. `low`–`high` is the possible range, inclusive, in `unit`."""

    key: str
    """A stable short name for code (monitor rules, simulator): "temperature", "crp"."""
    code: str
    system: str
    display: str
    unit: str
    specimens: tuple[Specimen, ...]
    low: float
    high: float
    units: UnitTable
    values: tuple[float, ...] = ()
    """When not empty, the only values possible (qualitative results: 0 negative, 1 positive)."""

    @property
    def default_specimen(self) -> Specimen:
        return self.specimens[0]

    def range_text(self) -> str:
        return f"{number(self.low)}–{number(self.high)} {self.unit}"


RESULT_UNIT = "{result}"
"""The unit of qualitative results (UCUM-style annotation): 0 = negative, 1 = positive."""

VITAL = (Specimen.OTHER,)
SERUM = (Specimen.SERUM, Specimen.BLOOD)
BLOOD = (Specimen.BLOOD,)
CSF = (Specimen.CSF,)
ANTIBODY = (Specimen.SERUM, Specimen.BLOOD, Specimen.CSF)
URINE = (Specimen.OTHER,)
"""The store has no urine specimen: "other" stands for it (urine hCG)."""
PREGNANCY = (Specimen.OTHER, Specimen.SERUM, Specimen.BLOOD)
VIRAL_LOAD = (Specimen.BLOOD, Specimen.SERUM)
"""CMV/EBV DNA: whole blood or plasma ("blood"), or serum."""


def number(value: float) -> str:
    """A value for a message: up to 10 significant digits, thousands separated (1,000,000)."""
    return format(value, ",.10g")


def _code(
    key: str,
    code: str,
    display: str,
    unit: str,
    specimens: tuple[Specimen, ...],
    low: float,
    high: float,
    *,
    system: str = LOINC,
    bridges: tuple[tuple[str, float], ...] = (),
) -> ObservationCode:
    if not low < high:
        raise ValueError(f"{key}: empty range {low}–{high}")
    return ObservationCode(
        key, code, system, display, unit, specimens, low, high, build_table(unit, bridges)
    )


def _qualitative(
    key: str, code: str, display: str, specimens: tuple[Specimen, ...], *, system: str = LOINC
) -> ObservationCode:
    """A negative/positive result: value 0 (negative) or 1 (positive), unit "{result}".

    Indeterminate or equivocal results are not values: the test is repeated (or the
    laboratory's report is filed as a document) rather than stored as a number.
    """
    return ObservationCode(
        key, code, system, display, RESULT_UNIT, specimens, 0.0, 1.0,
        build_table(RESULT_UNIT), (0.0, 1.0),
    )  # fmt: skip


RATIO_UNIT = "{ratio}"
"""A dimensionless ratio of two like quantities (CSF/blood CAR+ share)."""


def _ratio_table() -> UnitTable:
    same = [Conversion(u, RATIO_UNIT, 1.0) for u in (RATIO_UNIT, "ratio", "1")]
    return UnitTable(
        RATIO_UNIT,
        MappingProxyType({c.unit: c for c in same}),
        MappingProxyType({unit_key(c.unit): c for c in same}),
    )


def _single_cell(
    key: str, display: str, specimens: tuple[Specimen, ...], unit: str = "%", high: float = 100.0
) -> ObservationCode:
    """A single-cell readout (neurocart.omics): a share of cells of one sample, or a ratio."""
    units = _ratio_table() if unit == RATIO_UNIT else build_table(unit)
    return ObservationCode(key, f"local:{key}", LOCAL, display, unit, specimens, 0.0, high, units)


def _coded(
    key: str,
    code: str,
    display: str,
    specimens: tuple[Specimen, ...],
    allowed: tuple[float, ...],
    *,
    system: str = LOCAL,
) -> ObservationCode:
    """A coded result (e.g. a pattern type 1–5): only the listed numbers, unit "{type}"."""
    return ObservationCode(
        key, code, system, display, CODED_UNIT, specimens, min(allowed), max(allowed),
        build_table(CODED_UNIT), allowed,
    )  # fmt: skip


CODED_UNIT = "{type}"
"""The unit of coded results whose allowed values are listed with the code."""


# fmt: off
_ENTRIES = (
    # --- vital signs ---------------------------------------------------------------------
    # Survived accidental hypothermia has been reported with core temperatures in the low
    # teens °C and survived heat stroke at about 46–47 °C; no living patient lies outside.
    _code("temperature", "8310-5", "Body temperature", "°C", VITAL, 14.0, 47.0),
    # 0 is asystole (a real, recordable finding); the fastest ventricular rates reported (pre-
    # excited atrial fibrillation) stay well below 500/min.
    _code("heart_rate", "8867-4", "Heart rate", "/min", VITAL, 0.0, 500.0, bridges=BEATS),
    # 0 in arrest; intra-arterial peaks during maximal straining stay below 400 mmHg.
    _code("systolic_bp", "8480-6", "Systolic blood pressure", "mmHg", VITAL, 0.0, 400.0),
    _code("diastolic_bp", "8462-4", "Diastolic blood pressure", "mmHg", VITAL, 0.0, 300.0),
    # A saturation is a share: 0–100 %. Fractions (0.97) are not accepted, to keep 0.97 % and
    # 97 % from being confused.
    _code("spo2", "59408-5", "Oxygen saturation (SpO₂)", "%", VITAL, 0.0, 100.0),
    # 0 is apnoea; even neonates do not breathe faster than ~100/min.
    _code("respiratory_rate", "9279-1", "Respiratory rate", "/min", VITAL, 0.0, 120.0,
          bridges=BREATHS),
    # Oxygen therapy, for CRS grading and the monitor: high-flow nasal cannulae deliver up to
    # 60–80 L/min. FiO₂ as a percentage (room air 21 %); a fraction (0.4) is refused, as for
    # SpO₂, so that 0.4 and 40 % cannot be confused. Below 21 % no clinical gas is given.
    _code("oxygen_flow", "3151-8", "Inhaled oxygen flow rate", "L/min", VITAL, 0.0, 100.0),
    _code("fio2", "3150-0", "Inhaled oxygen concentration (FiO₂)", "%", VITAL, 20.0, 100.0),
    # --- cardiac function ----------------------------------------------------------------
    # Ejection fraction is a share of end-diastolic volume: 0–100 % by definition.
    _code("lvef", "10230-1", "Left ventricular ejection fraction", "%", VITAL, 0.0, 100.0),
    # --- inflammation --------------------------------------------------------------------
    # The highest CRPs (sepsis, severe CRS) are a few hundred mg/L.
    _code("crp", "1988-5", "C-reactive protein", "mg/L", SERUM, 0.0, 1000.0),
    # HLH / IEC-HS ferritin reaches the hundreds of thousands µg/L; 10⁶ leaves margin.
    _code("ferritin", "2276-4", "Ferritin", "µg/L", SERUM, 0.0, 1_000_000.0),
    # Severe CRS and sepsis reach IL-6 of 10⁴–10⁵ ng/L (= pg/mL).
    _code("il6", "26881-3", "Interleukin-6", "ng/L", SERUM, 0.0, 1_000_000.0),
    # --- blood counts --------------------------------------------------------------------
    # Leukocyte subsets cannot exceed the leukocyte ceiling: hyperleukocytosis in leukaemia
    # reaches several hundred ×10⁹/L; 1000 leaves margin.
    _code("wbc", "6690-2", "Leukocytes", "×10⁹/L", BLOOD, 0.0, 1000.0),
    _code("neutrophils", "751-8", "Neutrophils", "×10⁹/L", BLOOD, 0.0, 1000.0),
    _code("lymphocytes", "731-0", "Lymphocytes", "×10⁹/L", BLOOD, 0.0, 1000.0),
    # Extreme thrombocytosis stays below a few thousand ×10⁹/L.
    _code("platelets", "777-3", "Platelets", "×10⁹/L", BLOOD, 0.0, 5000.0),
    # Survived extreme anaemia has been reported around 15–20 g/L; polycythaemia stays below
    # ~250 g/L. mmol/L is the haem-monomer convention (molar mass 16,114.5 g/mol).
    _code("hemoglobin", "718-7", "Hemoglobin", "g/L", BLOOD, 5.0, 300.0,
          bridges=(("mmol/L", 16.1145),)),
    # CD19 B cells: aplasia is the expected effect of anti-CD19 CAR-T; the ceiling is the
    # leukocyte ceiling (10⁶/µL) since B-cell leukaemia can dominate the count.
    _code("cd19_b_cells", "local:cd19_b_cells", "CD19+ B cells", "cells/µL", BLOOD,
          0.0, 1_000_000.0, system=LOCAL),
    # --- chemistry -----------------------------------------------------------------------
    # Massive haemolysis or tumour lysis reaches LDH of tens of thousands U/L.
    _code("ldh", "2532-0", "Lactate dehydrogenase", "U/L", SERUM, 0.0, 200_000.0),
    # End-stage renal failure before dialysis stays below ~3000 µmol/L. 1 mg/dL = 88.42 µmol/L
    # (the clinical convention also used by the EASIX calculator; molar mass 113.12 g/mol).
    _code("creatinine", "2160-0", "Creatinine", "µmol/L", SERUM, 0.0, 5000.0,
          bridges=(("mg/dL", 88.42),)),
    # IgG myeloma stays below ~150 g/L; after CAR-T, hypogammaglobulinaemia approaches 0.
    _code("igg", "2465-3", "Immunoglobulin G", "g/L", SERUM, 0.0, 150.0),
    # Fibrinogen above ~10 g/L is rare; 20 leaves margin.
    _code("fibrinogen", "3255-7", "Fibrinogen", "g/L", SERUM, 0.0, 20.0),
    # Ischaemic or toxic hepatitis reaches transaminases of several tens of thousands U/L.
    _code("alt", "1742-6", "Alanine aminotransferase", "U/L", SERUM, 0.0, 100_000.0),
    _code("ast", "1920-8", "Aspartate aminotransferase", "U/L", SERUM, 0.0, 100_000.0),
    # Severe cholestasis stays below ~1000 µmol/L. 1 mg/dL = 17.104 µmol/L (584.66 g/mol).
    _code("bilirubin", "1975-2", "Bilirubin, total", "µmol/L", SERUM, 0.0, 1500.0,
          bridges=(("mg/dL", 17.104),)),
    # Chylomicronaemia reaches TG of 100+ mmol/L. mmol/L because the IEC-HS calculator takes
    # mmol/L; 1 mg/dL = 1/88.57 mmol/L (triolein, 885.7 g/mol, the laboratory convention).
    _code("triglycerides", "2571-8", "Triglycerides", "mmol/L", SERUM, 0.0, 200.0,
          bridges=(("mg/dL", 1 / 88.57),)),
    # Rhabdomyolysis reaches CK of several hundred thousand U/L; IMNM flares tens of thousands.
    _code("ck", "2157-6", "Creatine kinase", "U/L", SERUM, 0.0, 2_000_000.0),
    # --- neurological biomarkers ---------------------------------------------------------
    # Serum NfL is tens of ng/L, thousands after acute axonal injury; CSF NfL runs far higher
    # than serum, tens of thousands in rapidly progressive disease.
    _code("nfl_serum", "local:nfl_serum", "Neurofilament light chain (serum)", "ng/L", SERUM,
          0.0, 100_000.0, system=LOCAL),
    _code("nfl_csf", "local:nfl_csf", "Neurofilament light chain (CSF)", "ng/L", CSF,
          0.0, 1_000_000.0, system=LOCAL),
    # Purulent meningitis reaches CSF leukocytes of tens of thousands /µL.
    _code("csf_leukocytes", "local:csf_leukocytes", "Leukocytes in CSF", "cells/µL", CSF,
          0.0, 100_000.0, system=LOCAL),
    # --- CSF and serum proteins (paired by lumbar puncture: see services.csf_indices) -----
    # CSF albumin is 100–350 mg/L in health; severe barrier disruption (bacterial meningitis,
    # Froin syndrome) reaches several g/L; 30,000 mg/L leaves margin. Labs send mg/L or mg/dL.
    _code("albumin_csf", "1746-7", "Albumin (CSF)", "mg/L", CSF, 0.0, 30_000.0),
    # Serum albumin below ~5 g/L or above ~80 g/L is not compatible with life; the floor also
    # catches g/dL sent as g/L (4.0 "g/L" for 4.0 g/dL).
    _code("albumin_serum", "1751-7", "Albumin (serum)", "g/L", SERUM, 5.0, 100.0),
    # CSF IgG is 10–40 mg/L in health, hundreds in SSPE or meningitis.
    _code("igg_csf", "2464-6", "Immunoglobulin G (CSF)", "mg/L", CSF, 0.0, 20_000.0),
    # κ and λ free light chains: CSF values stay below ~100 mg/L even with strong intrathecal
    # synthesis; serum FLC in light-chain myeloma reaches tens of thousands of mg/L.
    _code("kflc_csf", "local:kflc_csf", "κ free light chains (CSF)", "mg/L", CSF,
          0.0, 10_000.0, system=LOCAL),
    _code("kflc_serum", "local:kflc_serum", "κ free light chains (serum)", "mg/L", SERUM,
          0.0, 200_000.0, system=LOCAL),
    _code("lflc_csf", "local:lflc_csf", "λ free light chains (CSF)", "mg/L", CSF,
          0.0, 10_000.0, system=LOCAL),
    _code("lflc_serum", "local:lflc_serum", "λ free light chains (serum)", "mg/L", SERUM,
          0.0, 200_000.0, system=LOCAL),
    # Total CSF protein: 0.15–0.45 g/L in health; Froin syndrome reaches tens of g/L.
    _code("protein_csf", "local:protein_csf", "Total protein (CSF)", "g/L", CSF,
          0.0, 100.0, system=LOCAL),
    # Derived CSF indices, computed by neurocart from one lumbar puncture's paired samples
    # (and accepted when a laboratory reports them). Qalb × 10³ cannot reach 1000 (CSF albumin
    # would equal serum albumin); the indices are ratios of quotients.
    _code("qalb", "1756-6", "Albumin quotient CSF/serum (× 10⁻³)", "×10⁻³", CSF,
          0.0, 1000.0),
    _code("igg_index", "14117-6", "IgG index (CSF/serum)", "{index}", CSF, 0.0, 100.0),
    _code("kflc_index", "local:kflc_index", "κ free light chain index", "{index}", CSF,
          0.0, 10_000.0, system=LOCAL),
    _code("lflc_index", "local:lflc_index", "λ free light chain index", "{index}", CSF,
          0.0, 10_000.0, system=LOCAL),
    _code("igg_if", "local:igg_if", "Intrathecal IgG fraction (Reiber)", "%", CSF,
          0.0, 100.0, system=LOCAL),
    _coded("reibergram_igg", "local:reibergram_igg", "Reibergram region (IgG), 1–5", CSF,
           (1.0, 2.0, 3.0, 4.0, 5.0)),
    # --- oligoclonal bands (isoelectric focusing + immunoblot) --------------------------
    # The counts are stored, never only "positive": the pattern type follows from them.
    _code("ocb_csf_bands", "49852-7", "Oligoclonal bands restricted to CSF (number)",
          "{bands}", CSF, 0.0, 100.0),
    _code("ocb_identical_bands", "local:ocb_identical_bands",
          "Oligoclonal bands identical in CSF and serum (number)", "{bands}", CSF,
          0.0, 100.0, system=LOCAL),
    _qualitative("ocb_monoclonal", "local:ocb_monoclonal",
                 "Monoclonal band(s) in CSF and serum", CSF, system=LOCAL),
    _coded("ocb_pattern", "local:ocb_pattern", "Oligoclonal band pattern type, 1–5", CSF,
           (1.0, 2.0, 3.0, 4.0, 5.0)),
    # --- timed performance tests and disability scales -----------------------------------
    # The 25-foot walk stops at 180 s and the 9-hole peg test at 300 s by test convention;
    # a patient who cannot finish is recorded as not done, not as a time.
    _code("t25fw", "local:t25fw", "Timed 25-foot walk (mean of 2 trials)", "s", VITAL,
          0.5, 180.0, system=LOCAL),
    _code("nhpt", "local:nhpt", "9-hole peg test (per-visit summary)", "s", VITAL,
          1.0, 300.0, system=LOCAL),
    _code("sdmt", "local:sdmt", "Symbol Digit Modalities Test (correct responses)", "{score}",
          VITAL, 0.0, 110.0, system=LOCAL),
    _code("irods_centile", "local:irods_centile", "I-RODS centile (as entered)", "{score}",
          VITAL, 0.0, 100.0, system=LOCAL),
    # --- CAR-T kinetics ------------------------------------------------------------------
    # 1 µg of human genomic DNA is ~150,000 diploid cells (6.6 pg each): even if every cell
    # were a CAR-T cell carrying ~10 integrated copies the ceiling is ~1.5 × 10⁶ copies/µg.
    _code("cart_transgene_blood", "local:cart_copies_blood", "CAR transgene copies in blood",
          "copies/µg DNA", BLOOD, 0.0, 10_000_000.0, system=LOCAL),
    _code("cart_transgene_csf", "local:cart_copies_csf", "CAR transgene copies in CSF",
          "copies/µg DNA", CSF, 0.0, 10_000_000.0, system=LOCAL),
    # CAR+ cells cannot exceed the leukocyte ceiling (10⁶/µL in blood, 10⁵/µL in CSF).
    _code("cart_cells_blood", "local:car_t_cells_blood", "CAR+ cells in blood", "cells/µL", BLOOD,
          0.0, 1_000_000.0, system=LOCAL),
    _code("cart_cells_csf", "local:car_t_cells_csf", "CAR+ cells in CSF", "cells/µL", CSF,
          0.0, 100_000.0, system=LOCAL),
    # --- autoantibodies ------------------------------------------------------------------
    # Titres are reciprocal dilutions (1:160 → 160); cell-based assays end far below 10⁷.
    _code("aqp4_igg_titer", "local:aqp4_igg_titer", "AQP4-IgG titre", "titer", ANTIBODY,
          0.0, 10_000_000.0, system=LOCAL),
    _code("mog_igg_titer", "local:mog_igg_titer", "MOG-IgG titre", "titer", ANTIBODY,
          0.0, 10_000_000.0, system=LOCAL),
    # AChR-binding antibodies by radioimmunoassay: typically up to hundreds of nmol/L.
    _code("achr_ab", "local:achr_ab", "Acetylcholine receptor binding antibodies", "nmol/L",
          ANTIBODY, 0.0, 100_000.0, system=LOCAL),
    # The disease-defining autoantibody of the patient (AQP4, AChR, MuSK, HMGCR...) as a
    # reciprocal titre, for the pathway's follow-up; the specific codes above when known.
    _code("autoantibody_titer", "local:autoantibody_titer", "Disease autoantibody titre",
          "titer", ANTIBODY, 0.0, 10_000_000.0, system=LOCAL),
    # Disease antibodies under the LOINC codes reference laboratories use (titres from
    # different methods or laboratories are never compared: the source names the lab/method).
    _code("aqp4_igg_cba_titer", "63439-4", "AQP4-IgG titre, serum (cell-based assay)", "titer",
          SERUM, 0.0, 10_000_000.0),
    _code("achr_binding_ab", "11034-6", "AChR binding antibodies (RIA)", "nmol/L", ANTIBODY,
          0.0, 100_000.0),
    # MuSK antibodies by RIA, nmol/L like AChR.
    _code("musk_ab", "local:musk_ab", "MuSK antibodies", "nmol/L", ANTIBODY,
          0.0, 100_000.0, system=LOCAL),
    # HMGCR in assay units (CIA CU, ELISA units, ALBIA AU/mL): strong positives are in the
    # hundreds to low thousands.
    _code("hmgcr_ab", "93493-5", "HMGCR antibodies IgG", "{units}", ANTIBODY, 0.0, 100_000.0),
    _code("srp_ab_titer", "33921-8", "SRP antibodies (titre)", "titer", ANTIBODY,
          0.0, 10_000_000.0),
    # --- screening serology and pregnancy (qualitative: 0 negative, 1 positive) ----------
    _qualitative("hbsag", "5196-1", "Hepatitis B virus surface antigen", SERUM),
    _qualitative("anti_hbc", "16933-4", "Hepatitis B virus core antibody", SERUM),
    _qualitative("hcv_ab", "16128-1", "Hepatitis C virus antibody", SERUM),
    _qualitative("hiv_ag_ab", "local:hiv_ag_ab", "HIV-1/2 antigen and antibody", SERUM,
                 system=LOCAL),
    _qualitative("syphilis_ab", "local:syphilis_ab", "Treponema pallidum antibody", SERUM,
                 system=LOCAL),
    _qualitative("tb_igra", "local:tb_igra", "Tuberculosis interferon-γ release assay", BLOOD,
                 system=LOCAL),
    _qualitative("hcg_urine", "2106-3", "Choriogonadotropin (pregnancy test), urine", URINE),
    _qualitative("pregnancy_test", "local:pregnancy_test", "Pregnancy test (hCG)", PREGNANCY,
                 system=LOCAL),
    # --- viral loads (WHO international units) -------------------------------------------
    # Untreated HBeAg-positive hepatitis B reaches 10⁹–10¹⁰ IU/mL; CMV and EBV DNAemia stay
    # far below. 10¹¹ leaves margin for all three.
    _code("hbv_dna", "local:hbv_dna", "Hepatitis B virus DNA", "IU/mL", SERUM,
          0.0, 1e11, system=LOCAL),
    _code("cmv_dna", "local:cmv_dna", "Cytomegalovirus DNA", "IU/mL", VIRAL_LOAD,
          0.0, 1e11, system=LOCAL),
    _code("ebv_dna", "local:ebv_dna", "Epstein–Barr virus DNA", "IU/mL", VIRAL_LOAD,
          0.0, 1e11, system=LOCAL),
    # --- single-cell readouts (neurocart.omics) ------------------------------------------
    # Shares of one sample's cells, 0–100 % by definition: CAR+ of T cells, B and plasma
    # cells of leukocytes, T cells in expanded clonotypes (≥ 2 cells) of T cells with a TCR,
    # CSF T cells whose clonotype is in the same day's blood. The CSF/blood ratio of CAR+
    # shares is unbounded in principle; 10⁶ is a blood share of 0.0001 % under a CSF of 100 %.
    _single_cell("sc_car_pct_t_blood", "CAR+ cells, % of T cells in blood (single-cell)", BLOOD),
    _single_cell("sc_car_pct_t_csf", "CAR+ cells, % of T cells in CSF (single-cell)", CSF),
    _single_cell("sc_car_csf_blood_ratio", "CSF/blood ratio of CAR+ % of T cells (single-cell)",
                 CSF, RATIO_UNIT, 1_000_000.0),
    _single_cell("sc_b_cell_pct_blood", "B cells, % of leukocytes in blood (single-cell)", BLOOD),
    _single_cell("sc_b_cell_pct_csf", "B cells, % of leukocytes in CSF (single-cell)", CSF),
    _single_cell("sc_plasma_cell_pct_blood",
                 "Plasmablasts and plasma cells, % of leukocytes in blood (single-cell)", BLOOD),
    _single_cell("sc_plasma_cell_pct_csf",
                 "Plasmablasts and plasma cells, % of leukocytes in CSF (single-cell)", CSF),
    _single_cell("sc_expanded_clone_pct_blood",
                 "T cells in expanded clonotypes, % of T cells with a TCR in blood", BLOOD),
    _single_cell("sc_expanded_clone_pct_csf",
                 "T cells in expanded clonotypes, % of T cells with a TCR in CSF", CSF),
    _single_cell("sc_csf_blood_clone_overlap",
                 "CSF T cells whose clonotype is found in blood, % of CSF T cells with a TCR", CSF),
)
# fmt: on


def _index() -> tuple[Mapping[tuple[str, str], ObservationCode], Mapping[str, ObservationCode]]:
    by_code: dict[tuple[str, str], ObservationCode] = {}
    by_key: dict[str, ObservationCode] = {}
    for entry in _ENTRIES:
        if (entry.system, entry.code) in by_code or entry.key in by_key:
            raise ValueError(f"duplicate catalogue entry {entry.key} ({entry.code})")
        by_code[entry.system, entry.code] = entry
        by_key[entry.key] = entry
    return MappingProxyType(by_code), MappingProxyType(by_key)


CATALOGUE, BY_KEY = _index()
"""(system, code) → entry, and key → entry."""
_SYSTEMS_OF: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {c: tuple(e.system for e in _ENTRIES if e.code == c) for c in {e.code for e in _ENTRIES}}
)


def codes() -> list[ObservationCode]:
    """Every known code, in catalogue order (vitals, labs, biomarkers, CAR-T, antibodies)."""
    return list(_ENTRIES)


def lookup(code: str, system: str = LOINC) -> ObservationCode:
    """The entry for (system, code); UnknownCodeError naming `code` or `code_system` if none."""
    entry = CATALOGUE.get((system, code))
    if entry is not None:
        return entry
    elsewhere = _SYSTEMS_OF.get(code)
    if elsewhere:
        raise UnknownCodeError(
            "code_system",
            CODE_ELSEWHERE.format(given=repr(code), system=system, systems=", ".join(elsewhere)),
            system,
        )
    raise UnknownCodeError("code", UNKNOWN_CODE.format(system=system), code)


def names() -> list[str]:
    """The display name of every entry, for the catalogues (`locale/sources.toml`): the faces
    name a code in their reader's language, in a refusal as elsewhere."""
    return sorted({entry.display for entry in CATALOGUE.values()})


def by_key(key: str) -> ObservationCode:
    """The entry with short name `key` ("temperature", "crp" ...); KeyError if none."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no observation code with key {key!r}") from None
