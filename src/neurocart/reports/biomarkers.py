"""The report's section on the neuro-immunology readouts (CSF indices, oligoclonal bands,
MRI activity, antibody titres, timed tests, nerve conduction, single-cell readouts): captions,
column headings, the words of its cells and the order of its items, all in the catalogues."""

from __future__ import annotations

from neurocart.i18n import N_

TITLE = N_(
    "Neuro-immunology readouts: CSF, oligoclonal bands, MRI, antibodies, timed tests, "
    "nerve conduction, single-cell"
)

CAPTIONS = {
    "csf_index_change": N_(
        "κFLC index and IgG index before (last value in the 90 days before "
        "infusion) and after (last value after infusion) per disease: medians, patients lower "
        "after, and the two-sided Wilcoxon signed-rank test of the paired values. Indices are "
        "computed from each lumbar puncture's paired CSF and serum values (within 48 h)."
    ),
    "ocb_conversion": N_(
        "Oligoclonal bands: patients with CSF-specific bands (pattern 2 or 3) "
        "before infusion, followed up, and without them (pattern 1 or 4) at the last puncture."
    ),
    "mri_activity_free": N_(
        "MRI activity-free at 12 and 24 months, read from the MRI scan "
        "records: no scan after infusion (up to the month + 30 days) with a new or enlarging T2 "
        "lesion against its comparator scan or a Gd-enhancing lesion, among patients with an "
        "evaluable scan at or after the month (− 30 days), with Wilson 95 % CI; lesions on the "
        "first scan after infusion are counted as reported."
    ),
    "antibody_titre_course": N_(
        "Disease autoantibody titre from before to the last after infusion, "
        "read in dilution steps (fall = ≥ 2 steps, rise = ≥ 1 step): patients per reading."
    ),
    "timed_test_worsening": N_(
        "Timed 25-foot walk, 9-hole peg test and SDMT: patients with a "
        "confirmed worsening (≥ 20 %; SDMT ≥ 4 points; confirmed after 12 weeks) from the last "
        "value before infusion."
    ),
    "ncs_criteria": N_(
        "Nerve conduction (CIDP): patients meeting the EAN/PNS 2021 "
        "electrodiagnostic criteria (strongly or weakly supportive) at baseline (last study in the "
        "90 days before infusion) and at the study nearest month 6 and 12 (± 60 days), among "
        "patients with both; criteria read from the per-nerve values and the lab's limits."
    ),
    "ncs_velocity": N_(
        "Nerve conduction (CIDP): median motor conduction velocity per nerve "
        "(m/s, sides pooled) at baseline and at months 6 and 12 among patients with both, and the "
        "patients whose velocity rose."
    ),
    "single_cell_readouts": N_(
        "Single-cell CSF and blood readouts (neurocart omics): each stored "
        "code, with patients and samples, the median of one proportion per patient before (last "
        "sample in the 90 days before infusion) and after (last sample after), and the exact "
        "Wilcoxon signed-rank test of the paired values — cells are never replicates; the caveat "
        "says when the patients are too few for a p-value to mean much."
    ),
}
FIGURE_CAPTIONS = {
    "spider_kflc": N_(
        "Percent change of the κFLC index from before the infusion, one line per "
        "patient (up to 40 per disease)."
    ),
}
ITEMS = (
    ("table", "csf_index_change"),
    ("figure", "spider_kflc"),
    ("table", "ocb_conversion"),
    ("table", "mri_activity_free"),
    ("table", "antibody_titre_course"),
    ("table", "timed_test_worsening"),
    ("table", "ncs_criteria"),
    ("table", "ncs_velocity"),
    ("table", "single_cell_readouts"),
)
"""The section's items in order (each shown only when the analysis produced it)."""

TABLE_TITLES = {
    "csf_index_change": N_("κFLC index and IgG index before vs after infusion"),
    "ocb_conversion": N_("Oligoclonal bands: conversion to negative"),
    "mri_activity_free": N_("MRI activity-free at 12 and 24 months"),
    "antibody_titre_course": N_("Disease autoantibody titre course"),
    "timed_test_worsening": N_("Timed tests: confirmed worsening"),
    "ncs_criteria": N_("Nerve conduction: EAN/PNS 2021 criteria, baseline vs months 6 and 12"),
    "ncs_velocity": N_("Nerve conduction: motor conduction velocity per nerve"),
    "single_cell_readouts": N_("Single-cell readouts before vs after infusion"),
}
FIGURE_TITLES = {"spider_kflc": N_("κFLC index change per patient")}
"""A short title of each item, the heading it has on the cohort page (the report gives it the
caption)."""

HEADINGS = {
    "group": N_("Disease"),
    "measure": N_("Index"),
    "n": N_("Patients (n)"),
    "n_paired": N_("Paired patients (n)"),
    "median_before": N_("Median before"),
    "median_after": N_("Median after"),
    "median_change": N_("Median change"),
    "patients_lower_after": N_("Lower after (n)"),
    "wilcoxon_p": N_("Wilcoxon p"),
    "with_baseline_ocb": N_("With OCB before (n)"),
    "csf_specific_before": N_("CSF-specific bands before (n)"),
    "followed_up": N_("Followed up (n)"),
    "converted_to_negative": N_("Without CSF-specific bands at last puncture (n)"),
    "month": N_("Month"),
    "activity_free": N_("MRI activity-free (n)"),
    "proportion": N_("Proportion"),
    "ci_low": N_("95 % CI low"),
    "ci_high": N_("95 % CI high"),
    "test": N_("Test"),
    "patients_assessed": N_("Assessed (n)"),
    "confirmed_worsening": N_("Confirmed worsening (n)"),
    "strongly_supportive_baseline": N_("Strongly supportive at baseline (n)"),
    "strongly_supportive_after": N_("Strongly supportive after (n)"),
    "met_baseline": N_("Criteria met at baseline (n)"),
    "met_after": N_("Criteria met after (n)"),
    "no_longer_met": N_("No longer met (n)"),
    "nerve": N_("Nerve"),
    "median_before_m_s": N_("Median before (m/s)"),
    "median_after_m_s": N_("Median after (m/s)"),
    "patients_faster_after": N_("Faster after (n)"),
    "code": N_("Code"),
    "readout": N_("Readout"),
    "patients": N_("Patients (n)"),
    "samples": N_("Samples (n)"),
    "caveat": N_("Caveat"),
}
"""The heading of each column of the section's tables (the CSVs keep the column names)."""

CELLS = {
    "measure": {"kflc_index": N_("κFLC index"), "igg_index": N_("IgG index")},
    "test": {"t25fw": N_("T25FW"), "nhpt": N_("9-hole peg test"), "sdmt": N_("SDMT")},
    "nerve": {
        "median": N_("median nerve"),
        "ulnar": N_("ulnar nerve"),
        "peroneal": N_("peroneal nerve"),
        "tibial": N_("tibial nerve"),
    },
}
"""Codes in the section's cells and the words a reader sees for them."""
TRANSLATED_CELLS = ("group", "caveat", "readout")
"""Columns whose values are texts of the catalogues (disease names, caveats, the names of the
single-cell readouts)."""
