"""Controlled terminology: the CDISC SDTM CT terms neurocart writes, and its sponsor codes.

Terms from CDISC Controlled Terminology (SDTM CT, NCI EVS; the package named in define.xml):
SEX (C66731), SPEC specimen type (C78734), LBTESTCD (C65047), VSTESTCD (C66741), UNIT (C71620),
NY (C66742), TOXGR (C87491 values "1"–"5"). Codes neurocart could not find in CT (CAR-T
kinetics, the instrument items, CRS/ICANS components) are *sponsor codes*, declared as such in
define.xml. Units are written in CDISC's ASCII spelling ("ug/L", "10^9/L", "C").
"""

from __future__ import annotations

from types import MappingProxyType

SEX = MappingProxyType({"female": "F", "male": "M", "unknown": "U", "other": "U"})
"""neurocart sex → SEX. "other" has no CT term: U, with the original in SUPPDM."""
SEX_TERMS = frozenset({"F", "M", "U", "UNDIFFERENTIATED"})

SPECIMEN = MappingProxyType(
    {"serum": "SERUM", "blood": "BLOOD", "csf": "CEREBROSPINAL FLUID", "urine": "URINE"}
)
SPEC_TERMS = frozenset({"SERUM", "BLOOD", "PLASMA", "CEREBROSPINAL FLUID", "URINE"})

AESEV_TERMS = frozenset({"MILD", "MODERATE", "SEVERE"})
TOXGR_TERMS = frozenset({"1", "2", "3", "4", "5"})
"""AETOXGR: an adverse event has a grade of 1 or more."""
LBTOXGR_TERMS = frozenset({"0", "1", "2", "3", "4"})
"""LBTOXGR: a laboratory value may be grade 0 (not decreased)."""

CTCAE_LAB = MappingProxyType(
    {
        "751-8": "neutrophil_count_decreased",
        "777-3": "platelet_count_decreased",
        "731-0": "lymphocyte_count_decreased",
        "6690-2": "white_blood_cell_decreased",
        "718-7": "anemia",
    }
)
"""Laboratory codes graded for LBTOXGR by the CTCAE v5.0 decrease terms."""
NY_TERMS = frozenset({"Y", "N"})

UNIT = MappingProxyType(
    {
        "°C": "C",
        "mmHg": "mmHg",
        "/min": "beats/min",
        "%": "%",
        "L/min": "L/min",
        "mg/L": "mg/L",
        "µg/L": "ug/L",
        "ng/L": "ng/L",
        "×10⁹/L": "10^9/L",
        "g/L": "g/L",
        "U/L": "U/L",
        "µmol/L": "umol/L",
        "mmol/L": "mmol/L",
        "nmol/L": "nmol/L",
        "cells/µL": "cells/uL",
        "copies/µg DNA": "copies/ug",
        "IU/mL": "IU/mL",
        "titer": "titer",
        "{result}": "",
        "mg": "mg",
        "mg/m2": "mg/m2",
        "mg/kg": "mg/kg",
        "g": "g",
        "cells/kg": "cells/kg",
    }
)
"""Canonical unit → CDISC UNIT submission value ("" for a qualitative result)."""


def unit(canonical: str) -> str:
    """The CDISC UNIT spelling of a unit, ASCII (µ → u, ⁹ → ^9) for one the table lacks."""
    if canonical in UNIT:
        return UNIT[canonical]
    return canonical.replace("µ", "u").replace("×10⁹", "10^9").replace("°", "")


RESP_UNIT = "breaths/min"
"""The respiratory rate's unit (the store writes /min for both rates)."""

LB_TEST = MappingProxyType(
    {
        # code: (LBTESTCD, LBTEST) — CDISC LBTESTCD where one exists, else a sponsor code
        "1988-5": ("CRP", "C-Reactive Protein"),
        "2276-4": ("FERRITIN", "Ferritin"),
        "26881-3": ("IL6", "Interleukin 6"),
        "6690-2": ("WBC", "Leukocytes"),
        "751-8": ("NEUT", "Neutrophils"),
        "731-0": ("LYM", "Lymphocytes"),
        "777-3": ("PLAT", "Platelets"),
        "718-7": ("HGB", "Hemoglobin"),
        "2532-0": ("LDH", "Lactate Dehydrogenase"),
        "2160-0": ("CREAT", "Creatinine"),
        "2465-3": ("IGG", "Immunoglobulin G"),
        "3255-7": ("FIBRINO", "Fibrinogen"),
        "1742-6": ("ALT", "Alanine Aminotransferase"),
        "1920-8": ("AST", "Aspartate Aminotransferase"),
        "1975-2": ("BILI", "Bilirubin"),
        "2571-8": ("TRIG", "Triglycerides"),
        "2157-6": ("CK", "Creatine Kinase"),
        "5196-1": ("HBSAG", "Hepatitis B Virus Surface Antigen"),
        "16933-4": ("HBCAB", "Hepatitis B Virus Core Antibody"),
        "16128-1": ("HCAB", "Hepatitis C Virus Antibody"),
        "2106-3": ("HCG", "Choriogonadotropin"),
        "local:cd19_b_cells": ("CD19", "CD19 Cells"),
        "local:nfl_serum": ("NFL", "Neurofilament Light Chain"),
        "local:nfl_csf": ("NFL", "Neurofilament Light Chain"),
        "local:csf_leukocytes": ("WBC", "Leukocytes"),
        "local:aqp4_igg_titer": ("AQP4AB", "Aquaporin-4 IgG Antibody Titer"),
        "local:mog_igg_titer": ("MOGAB", "MOG IgG Antibody Titer"),
        "local:achr_ab": ("ACHRAB", "Acetylcholine Receptor Binding Antibody"),
        "local:autoantibody_titer": ("AUTOAB", "Disease Autoantibody Titer"),
        "local:hiv_ag_ab": ("HIV12AGB", "HIV-1/2 Antigen and Antibody"),
        "local:syphilis_ab": ("TPALLAB", "Treponema pallidum Antibody"),
        "local:tb_igra": ("TBIGRA", "M. tuberculosis IFN Gamma Release Assay"),
        "local:pregnancy_test": ("HCG", "Choriogonadotropin"),
        "local:hbv_dna": ("HBVDNA", "Hepatitis B Virus DNA"),
        "local:cmv_dna": ("CMVDNA", "Cytomegalovirus DNA"),
        "local:ebv_dna": ("EBVDNA", "Epstein-Barr Virus DNA"),
    }
)

VS_TEST = MappingProxyType(
    {
        "8310-5": ("TEMP", "Temperature"),
        "8867-4": ("HR", "Heart Rate"),
        "8480-6": ("SYSBP", "Systolic Blood Pressure"),
        "8462-4": ("DIABP", "Diastolic Blood Pressure"),
        "9279-1": ("RESP", "Respiratory Rate"),
        "59408-5": ("OXYSAT", "Oxygen Saturation"),
        "3150-0": ("FIO2", "Fraction of Inspired Oxygen"),
        "3151-8": ("O2FLOW", "Oxygen Flow Rate"),
    }
)

PC_TEST = MappingProxyType(
    {
        "local:cart_copies_blood": ("CARTCOPY", "CAR Transgene Copies", "BLOOD"),
        "local:cart_copies_csf": ("CARTCOPY", "CAR Transgene Copies", "CEREBROSPINAL FLUID"),
        "local:car_t_cells_blood": ("CARTCELL", "CAR-Positive T Cells", "BLOOD"),
        "local:car_t_cells_csf": ("CARTCELL", "CAR-Positive T Cells", "CEREBROSPINAL FLUID"),
    }
)

PROCEDURES = MappingProxyType(
    {
        "leukapheresis": "LEUKAPHERESIS",
        "lumbar_puncture": "LUMBAR PUNCTURE",
        "mri": "MAGNETIC RESONANCE IMAGING",
        "echocardiogram": "ECHOCARDIOGRAM",
        "ecg": "ELECTROCARDIOGRAM",
    }
)

AE_TYPES = MappingProxyType(
    {
        "crs": "CYTOKINE RELEASE SYNDROME",
        "icans": "ICANS",
        "infection": "INFECTION",
        "adverse_event": "ADVERSE EVENT",
        "seizure": "SEIZURE",
    }
)
"""Event types written to AE → AECAT."""

AE_TERMS = MappingProxyType(
    {
        "crs": "Cytokine release syndrome",
        "icans": "Immune effector cell-associated neurotoxicity syndrome",
        "icaht": "Immune effector cell-associated hematotoxicity",
        "iec_hs": "IEC-associated HLH-like syndrome",
        "seizure": "Seizure",
        "infection": "Infection",
    }
)
"""neurocart's short terms → AETERM (the reported term); other terms are written as recorded."""

TOXSCALE = MappingProxyType(
    {
        "crs": "ASTCT 2019",
        "icans": "ASTCT 2019",
        "icaht": "EHA/EBMT ICAHT 2023",
        "iec_hs": "ASTCT 2023 IEC-HS",
    }
)
CTCAE = "CTCAE V5.0"
"""The grading scale of every other AE (SUPPAE QNAM TOXSCALE)."""

LD_DRUGS = frozenset({"fludarabine", "cyclophosphamide"})
"""Lymphodepletion is study treatment: EX, not CM."""

ATC = MappingProxyType(
    {
        "fludarabine": "L01BB05",
        "cyclophosphamide": "L01AA01",
        "tocilizumab": "L04AC07",
        "dexamethasone": "H02AB02",
        "rituximab": "L01FA01",
        "ocrelizumab": "L04AG08",
        "natalizumab": "L04AG03",
        "eculizumab": "L04AJ01",
        "acyclovir": "J05AB01",
    }
)
"""ATC codes (WHO Collaborating Centre for Drug Statistics Methodology) neurocart knows."""

INSTRUMENTS = MappingProxyType(
    {
        # instrument: (domain, --CAT, test-code prefix)
        "edss": ("RS", "EDSS", "EDS"),
        "mg_composite": ("RS", "MG COMPOSITE", "MGC"),
        "incat": ("RS", "INCAT", "INC"),
        "mrc_sum": ("RS", "MRC SUM SCORE", "MRC"),
        "mg_adl": ("QS", "MG-ADL", "MGA"),
        "qmg": ("FT", "QMG", "QMG"),
        "ice": ("FT", "ICE", "ICE"),
    }
)
"""Scales and their domain: EDSS in RS (the CDISC QRS supplement moved it from QS), MG-ADL is
patient-reported (QS), QMG and ICE are performed tasks (FT), the clinician-rated ordinal
sums are clinical classifications (RS)."""

FA_TESTS = MappingProxyType(
    {
        "crs": {
            "temperature_c": ("MAXTEMP", "Maximum Temperature", "C"),
            "fever_masked": ("FEVMASK", "Fever Masked by Antipyretics", ""),
            "hypotension": ("HYPOTEN", "Hypotension", ""),
            "vasopressors": ("VASOPNUM", "Number of Vasopressors", ""),
            "oxygen_device": ("O2DEV", "Oxygen Delivery Device", ""),
            "oxygen_flow_l_min": ("O2FLOW", "Oxygen Flow Rate", "L/min"),
        },
        "icans": {
            "ice_score": ("ICESCORE", "ICE Score", ""),
            "baseline_ice_score": ("ICEBL", "Baseline ICE Score", ""),
            "consciousness": ("CONSC", "Depressed Level of Consciousness", ""),
            "seizure": ("SEIZURE", "Seizure", ""),
            "motor_findings": ("MOTOR", "Motor Findings", ""),
            "cerebral_edema": ("CEREDEMA", "Elevated ICP/Cerebral Edema", ""),
        },
    }
)
"""CRS and ICANS assessment inputs → FATESTCD, FATEST, unit (sponsor codes) — plus GRADE."""
