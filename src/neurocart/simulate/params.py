"""Every number the simulator draws from, in one place, each with the source it is tuned to.

Targets come from the published reports of the Tongji BCMA CAR-T programme (Qin C et al.
Signal Transduct Target Ther 2023, NMOSD; the group's MG, IMNM and CIDP reports; Cell 2025
doi:10.1016/j.cell.2025.09.020, progressive MS; Müller F et al. NEJM 2024, CD19 CAR-T in
autoimmune disease) and from the shipped care protocol (docs/pathway.md). A center re-tunes the
simulator by passing its own `SimParams` (e.g. `dataclasses.replace(DEFAULT, crs_incidence=0.7)`);
no other module holds a distribution parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Choice = dict[str, float]


@dataclass(frozen=True)
class SimParams:
    """Every distribution the simulator draws from, with its source beside it; replace fields to
    re-tune it for a center."""

    # --- cohort (the programme's published cohorts) -----------------------------------------
    diseases: Choice = field(
        default_factory=lambda: {"ms": 0.3, "nmosd": 0.2, "mg": 0.25, "imnm": 0.1, "cidp": 0.15}
    )
    subtypes: dict[str, Choice] = field(
        default_factory=lambda: {
            "ms": {"ppms": 0.35, "spms": 0.35, "rrms": 0.3},
            "nmosd": {"aqp4_igg_pos": 0.9, "aqp4_igg_neg": 0.1},
            "mg": {"achr": 0.8, "musk": 0.15, "seronegative": 0.05},
            "imnm": {"srp": 0.5, "hmgcr": 0.4, "seronegative": 0.1},
            "cidp": {"typical": 0.7, "variant": 0.3},
        }
    )
    # "NMOSD and MG mostly women" (the programme's reports); MS ~2:1; CIDP male-predominant.
    female_share: Choice = field(
        default_factory=lambda: {"ms": 0.65, "nmosd": 0.9, "mg": 0.7, "imnm": 0.6, "cidp": 0.35}
    )
    # "adults 18–65, median around 40–45"
    age_mean: float = 43.0
    age_sd: float = 11.0
    age_range: tuple[float, float] = (18.0, 65.0)
    # "disease duration median several years (3–10)"
    duration_median_years: float = 6.0
    duration_sigma: float = 0.55
    duration_range_years: tuple[float, float] = (1.0, 30.0)
    # "refractory to ≥ 2 prior therapies"
    prior_therapies: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "ms": ("interferon_beta", "fingolimod", "natalizumab", "ocrelizumab", "ofatumumab",
                   "cladribine", "alemtuzumab"),
            "nmosd": ("azathioprine", "mycophenolate", "rituximab", "tocilizumab",
                      "eculizumab", "inebilizumab"),
            "mg": ("pyridostigmine", "prednisone", "azathioprine", "mycophenolate",
                   "rituximab", "efgartigimod", "eculizumab", "ivig"),
            "imnm": ("prednisone", "methotrexate", "ivig", "rituximab", "tacrolimus"),
            "cidp": ("ivig", "prednisone", "plasma_exchange", "rituximab", "azathioprine"),
        }
    )  # fmt: skip
    prior_therapies_count: tuple[int, int] = (2, 5)
    anti_cd20: tuple[str, ...] = ("ocrelizumab", "ofatumumab", "rituximab", "inebilizumab")
    sites: Choice = field(default_factory=lambda: {"site-01": 0.5, "site-02": 0.3, "site-03": 0.2})
    # --- product and protocol (published dose; the protocol's lymphodepletion) -------------
    product: str = "equecabtagene autoleucel"
    target: str = "BCMA"
    protocol_id: str = "nad-cart-2025"
    dose_cells_per_kg: Choice = field(default_factory=lambda: {"1.0e6": 0.7, "0.5e6": 0.3})
    # Tongji basket trial NCT04561557: flu 30 + cy 300 mg/m² on days −4..−2; common: −5..−3.
    ld_regimens: Choice = field(
        default_factory=lambda: {"flu30_cy300_d-4_-2": 0.7, "flu25_cy250_d-5_-3": 0.3}
    )
    screening_to_apheresis_days: tuple[float, float] = (7.0, 14.0)
    apheresis_to_ld_days: tuple[float, float] = (10.0, 18.0)
    # --- stages relative to `now` (issue 6: patients at every stage) -----------------------
    stages: Choice = field(
        default_factory=lambda: {
            "screening": 0.1,
            "acute": 0.1,
            "subacute": 0.1,
            "follow_up": 0.6,
            "completed": 0.1,
        }
    )
    follow_up_days: float = 730.0  # 24 months of data
    # --- CRS (published acute phase; Qin 2023: CRS in 12/12, grade 1–2) ---------------------
    crs_incidence: float = 0.85
    crs_grades: Choice = field(default_factory=lambda: {"1": 0.68, "2": 0.27, "3": 0.04, "4": 0.01})
    crs_onset_median_days: float = 2.5  # "onset typically days 1–7"
    crs_onset_sigma: float = 0.6
    crs_onset_range_days: tuple[float, float] = (0.3, 9.0)
    crs_duration_days: tuple[float, float] = (1.0, 5.0)  # "lasts 1–5 days"
    fever_peak_c: dict[int, tuple[float, float]] = field(
        default_factory=lambda: {1: (38.2, 39.2), 2: (38.6, 39.8), 3: (38.8, 40.2), 4: (39.0, 40.5)}
    )
    # "tocilizumab in a minority (grade ≥ 2 or persistent fever)"
    tocilizumab_grade1_long_fever: float = 0.4  # grade 1 lasting > 3 days
    dexamethasone_grade2: float = 0.15
    grade2_hypotension: float = 0.5
    grade2_hypoxia: float = 0.6
    # --- ICANS (published: rare 0–5 %, grade 1–2, after CRS) --------------------------------
    icans_given_crs: float = 0.035
    icans_grade2_share: float = 0.3
    icans_delay_days: tuple[float, float] = (0.5, 3.0)
    icans_duration_days: tuple[float, float] = (0.5, 3.0)
    # Baseline ICE < 10 from neuro deficits (see icans in docs/calculators.md): share by disease.
    baseline_ice_deficit: Choice = field(
        default_factory=lambda: {"ms": 0.2, "nmosd": 0.25, "mg": 0.05, "imnm": 0.0, "cidp": 0.1}
    )
    # --- vitals (physiological baselines; thresholds from Lee DW et al. 2019) ---------------
    temp_base: tuple[float, float] = (36.7, 0.2)  # mean, sd
    hr_base: tuple[float, float] = (76.0, 8.0)
    sbp_base: tuple[float, float] = (122.0, 11.0)
    dbp_base: tuple[float, float] = (76.0, 7.0)
    spo2_base: tuple[float, float] = (97.5, 0.8)
    rr_base: tuple[float, float] = (15.0, 1.5)
    # --- cytopenias (published: neutropenia ≥ 3 in most, recovery days 10–21, ≈10 % longer) ---
    anc_base_median: float = 4.0
    anc_nadir_median: float = 0.15
    anc_nadir_sigma: float = 0.9
    anc_nadir_day: tuple[float, float] = (3.0, 7.0)
    anc_recovery_day: tuple[float, float] = (7.0, 14.0)
    anc_prolonged_share: float = 0.1
    anc_prolonged_recovery_day: tuple[float, float] = (25.0, 45.0)
    platelet_base: tuple[float, float] = (250.0, 50.0)
    platelet_nadir_fraction: tuple[float, float] = (0.3, 0.7)
    hb_base: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"female": (130.0, 10.0), "male": (146.0, 10.0)}
    )
    lymph_base_median: float = 1.6
    lymph_nadir: tuple[float, float] = (0.05, 0.3)
    # --- inflammation markers with CRS (published: CRP/ferritin rise and fall; IL-6 peaks) ---
    crp_peak_by_grade: dict[int, tuple[float, float]] = field(
        default_factory=lambda: {0: (3.0, 15.0), 1: (20.0, 90.0), 2: (50.0, 160.0),
                                 3: (100.0, 250.0), 4: (150.0, 320.0)}
    )  # fmt: skip
    ferritin_fold_by_grade: dict[int, tuple[float, float]] = field(
        default_factory=lambda: {0: (0.2, 1.0), 1: (1.0, 5.0), 2: (3.0, 12.0),
                                 3: (8.0, 30.0), 4: (15.0, 50.0)}
    )  # fmt: skip
    il6_peak_by_grade: dict[int, tuple[float, float]] = field(
        default_factory=lambda: {0: (3.0, 15.0), 1: (20.0, 200.0), 2: (100.0, 1000.0),
                                 3: (500.0, 5000.0), 4: (1000.0, 10000.0)}
    )  # fmt: skip
    # --- CAR-T kinetics (published: peak days 7–14, Cmax 10⁴–10⁵ copies/µg DNA) ------------
    cmax_log10: tuple[float, float] = (4.4, 0.35)
    non_responder_cmax_shift_log10: float = -0.5
    tmax_days: tuple[float, float] = (7.0, 14.0)
    decay_fast_log10_per_day: tuple[float, float] = (0.04, 0.008)  # to day 60
    decay_slow_log10_per_day: tuple[float, float] = (0.006, 0.0015)
    cart_lloq_copies: float = 10.0
    # "CSF lower than blood; ratio varies widely": log10(CSF/blood) ~ N(mean, sd)
    csf_ratio_log10: tuple[float, float] = (-1.0, 0.45)
    non_responder_no_csf_cart: float = 0.7
    # --- B cells and IgG (published follow-up) ---------------------------------------------
    cd19_base_median: float = 150.0
    cd19_after_anti_cd20: tuple[float, float] = (2.0, 20.0)
    cd19_recovery_day: tuple[float, float] = (100.0, 30.0)  # mean, sd (late relapse: earlier)
    igg_base_median: float = 10.5
    igg_base_sigma: float = 0.2
    igg_nadir_fraction: tuple[float, float] = (0.5, 0.1)  # "falls by roughly half"
    igg_nadir_day: tuple[float, float] = (60.0, 120.0)  # "nadir around months 2–4"
    igg_recovery_tau_days: float = 250.0
    ivig_threshold_g_l: float = 4.0  # Hill JA et al. Blood 2019 (IgG replacement)
    # --- response (published: ≈ 15–20 % non-responders; 83 % relapse-free drug-free 2 y) ----
    non_responder_share: float = 0.17
    non_responder_duration_log_odds_per_year: float = 0.12
    late_relapse_share_of_non_responders: float = 0.5
    primary_relapse_day: tuple[float, float] = (45.0, 365.0)
    late_relapse_day: tuple[float, float] = (270.0, 720.0)
    maintenance_restart_after_relapse: float = 0.6
    maintenance_drug: dict[str, str] = field(
        default_factory=lambda: {"ms": "ocrelizumab", "nmosd": "inebilizumab", "mg": "efgartigimod",
                                 "imnm": "ivig", "cidp": "ivig"}
    )  # fmt: skip
    # --- scales (published baseline scales) ------------------------------------------------
    edss_baseline: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"ppms": (4.0, 6.5), "spms": (4.0, 6.5), "rrms": (3.0, 5.5),
                                 "nmosd": (2.0, 7.0)}
    )  # fmt: skip
    mg_adl_baseline: tuple[int, int] = (6, 16)
    qmg_baseline: tuple[int, int] = (10, 25)
    ck_baseline: tuple[float, float] = (2000.0, 15000.0)
    mmt8_baseline: tuple[float, float] = (90.0, 130.0)
    incat_baseline: tuple[int, int] = (3, 7)
    mrc_baseline: tuple[int, int] = (40, 56)
    responder_gain: tuple[float, float] = (0.45, 0.9)  # fraction of the deficit recovered
    non_responder_gain: tuple[float, float] = (-0.1, 0.25)
    gain_ramp_days: tuple[float, float] = (60.0, 180.0)
    scale_days: tuple[int, ...] = (28, 60, 90, 180, 270, 365, 540, 730)
    # --- MRI (published: new lesions rare after infusion in MS and NMOSD) -------------------
    mri_days: tuple[int, ...] = (90, 180, 365, 730)
    mri_baseline_new_t2: Choice = field(
        default_factory=lambda: {"rrms": 2.0, "ppms": 0.4, "spms": 0.4, "nmosd": 0.8}
    )
    mri_responder_rate: float = 0.05
    mri_non_responder_rate: float = 0.5
    mri_after_relapse_rate: float = 1.5
    # --- infections and deaths (published: ≈ 20–40 % mostly mild; Qin 2023: 58 %, no G4) ---
    infection_share: float = 0.32
    infection_second_share: float = 0.25
    infection_early_share: float = 0.3
    infection_grades: Choice = field(
        default_factory=lambda: {"1": 0.4, "2": 0.5, "3": 0.09, "4": 0.01}
    )
    infection_terms: Choice = field(default_factory=lambda: {
        "upper respiratory tract infection": 0.4, "urinary tract infection": 0.25,
         "herpes zoster": 0.15, "pneumonia": 0.1, "cmv reactivation": 0.1,
    })  # fmt: skip
    death_share: float = 0.01
    death_causes: Choice = field(
        default_factory=lambda: {
            "infection": 0.5,
            "disease progression": 0.3,
            "cardiovascular": 0.2,
        }
    )
    measurement_cv: float = 0.08  # multiplicative lab noise
    # --- the care protocol's procedural tasks (simulate/protocol.py; docs/pathway.md) -------
    # After the clinical course, every slot of the protocol (`protocol_id`) that the clinical
    # facts leave open gets its completing facts — or, with probability 1 − adherence, not.
    follow_protocol: bool = True
    protocol_adherence: float = 0.97
    protocol_adherence_critical: float = 0.995  # tasks marked critical (vitals, ICE)
    protocol_late_share: float = 0.05  # done in the last quarter of the window
    # Results the clinical model does not produce, one latent value per patient, in the
    # catalogue's canonical units (neurocart.ingest.codes). Kinds: ("lognormal", median,
    # sigma), ("uniform", low, high), ("positive", share) for qualitative 0/1 results,
    # ("viral_load", detectable share, low, high) in IU/mL (0 = not detected).
    result_draws: dict[str, tuple[str, float, float, float]] = field(
        default_factory=lambda: {
            "1975-2": ("lognormal", 9.0, 0.35, 0.0),  # bilirubin µmol/L (reference 3–21)
            "10230-1": ("uniform", 55.0, 70.0, 0.0),  # LVEF %: normal function is enrolled
            "5196-1": ("positive", 0.0, 0.0, 0.0),  # HBsAg+: excluded
            # anti-HBc+ HBsAg− (resolved HBV) is enrolled with entecavir prophylaxis (typical)
            "16933-4": ("positive", 0.12, 0.0, 0.0),
            "16128-1": ("positive", 0.0, 0.0, 0.0),  # HCV, HIV, syphilis, active TB: excluded
            "local:hiv_ag_ab": ("positive", 0.0, 0.0, 0.0),
            "local:syphilis_ab": ("positive", 0.0, 0.0, 0.0),
            "local:tb_igra": ("positive", 0.0, 0.0, 0.0),
            "2106-3": ("positive", 0.0, 0.0, 0.0),  # pregnancy excludes
            "local:pregnancy_test": ("positive", 0.0, 0.0, 0.0),
            "local:hbv_dna": ("viral_load", 0.0, 10.0, 100.0),
            "local:cmv_dna": ("viral_load", 0.05, 50.0, 500.0),  # low-level DNAemia, untreated
            "local:ebv_dna": ("viral_load", 0.1, 50.0, 1000.0),
        }
    )
    # A repeated measurement near an existing one: additive noise (sd, canonical unit) for
    # vital signs; every other code varies by `measurement_cv`.
    repeat_sd: dict[str, float] = field(
        default_factory=lambda: {"8310-5": 0.1, "8867-4": 3.0, "8480-6": 4.0, "8462-4": 3.0,
                                 "9279-1": 1.0, "59408-5": 0.5}
    )  # fmt: skip
    result_digits: dict[str, int] = field(
        default_factory=lambda: {"8310-5": 1, "8867-4": 0, "8480-6": 0, "8462-4": 0,
                                 "9279-1": 0, "59408-5": 0, "718-7": 0, "777-3": 0,
                                 "1988-5": 1, "2276-4": 0, "2532-0": 0, "2160-0": 0,
                                 "1742-6": 0, "1920-8": 0, "1975-2": 0, "10230-1": 0,
                                 "local:cd19_b_cells": 1, "local:cart_copies_blood": 0,
                                 "local:cart_copies_csf": 0, "local:autoantibody_titer": 0,
                                 "local:hbv_dna": 0, "local:cmv_dna": 0, "local:ebv_dna": 0}
    )  # fmt: skip
    # Disease autoantibody (reciprocal titre) at screening, log10 range by subtype; subtypes
    # not listed are seronegative for a disease-defining antibody (0). Plasma-cell-directed
    # BCMA CAR-T lowers titres in responders (reported), over the months of `gain_ramp_days`.
    titer_baseline_log10: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"aqp4_igg_pos": (1.5, 3.5), "achr": (1.5, 3.0),
                                 "musk": (1.5, 3.0), "srp": (2.0, 3.5), "hmgcr": (2.0, 3.5)}
    )  # fmt: skip
    titer_drop_log10: tuple[float, float] = (1.0, 2.5)
    titer_drop_log10_non_responder: tuple[float, float] = (0.0, 0.5)
    titer_relapse_log10: float = 0.3  # below baseline after a relapse
    diagnostic_criteria: dict[str, str] = field(
        default_factory=lambda: {"ms": "2017 McDonald", "nmosd": "2015 IPND",
                                 "mg": "MGFA clinical classification", "imnm": "ENMC 2016 IMNM",
                                 "cidp": "2021 EAN/PNS"}
    )  # fmt: skip
    bridging_share: float = 0.1  # "only when disease activity demands"
    bridging_agents: Choice = field(
        default_factory=lambda: {"ivig": 0.5, "plasma_exchange": 0.3, "methylprednisolone": 0.2}
    )
    # Events whose content the clinical model owns (MRI lesion counts in MS/NMOSD): not
    # synthesized for a patient who already has such events, only for the others.
    clinical_event_types: tuple[str, ...] = ("mri",)
    # Doses of the drugs a protocol task names (`drug_given:<drug>`), per administration.
    drug_doses: dict[str, tuple[float, str]] = field(
        default_factory=lambda: {"acyclovir": (400.0, "mg"), "valacyclovir": (500.0, "mg"),
                                 "trimethoprim_sulfamethoxazole": (960.0, "mg"),
                                 "entecavir": (0.5, "mg"), "fludarabine": (30.0, "mg/m2"),
                                 "cyclophosphamide": (300.0, "mg/m2")}
    )  # fmt: skip
    premedication: tuple[str, ...] = ("paracetamol", "diphenhydramine")  # no steroids


DEFAULT = SimParams()
