"""The report's section on the neuro-immunology readouts (CSF indices, oligoclonal bands,
MRI activity, antibody titres, timed tests, nerve conduction, single-cell readouts): captions
and the order of its items."""

from __future__ import annotations

TITLE = (
    "Neuro-immunology readouts: CSF, oligoclonal bands, MRI, antibodies, timed tests, "
    "nerve conduction, single-cell"
)

CAPTIONS = {
    "csf_index_change": "κFLC index and IgG index before (last value in the 90 days before "
    "infusion) and after (last value after infusion) per disease: medians, patients lower "
    "after, and the two-sided Wilcoxon signed-rank test of the paired values. Indices are "
    "computed from each lumbar puncture's paired CSF and serum values (within 48 h).",
    "ocb_conversion": "Oligoclonal bands: patients with CSF-specific bands (pattern 2 or 3) "
    "before infusion, followed up, and without them (pattern 1 or 4) at the last puncture.",
    "mri_activity_free": "MRI activity-free at 12 and 24 months, read from the MRI scan "
    "records: no scan after infusion (up to the month + 30 days) with a new or enlarging T2 "
    "lesion against its comparator scan or a Gd-enhancing lesion, among patients with an "
    "evaluable scan at or after the month (− 30 days), with Wilson 95 % CI; lesions on the "
    "first scan after infusion are counted as reported.",
    "antibody_titre_course": "Disease autoantibody titre from before to the last after infusion, "
    "read in dilution steps (fall = ≥ 2 steps, rise = ≥ 1 step): patients per reading.",
    "timed_test_worsening": "Timed 25-foot walk, 9-hole peg test and SDMT: patients with a "
    "confirmed worsening (≥ 20 %; SDMT ≥ 4 points; confirmed after 12 weeks) from the last "
    "value before infusion.",
    "ncs_criteria": "Nerve conduction (CIDP): patients meeting the EAN/PNS 2021 "
    "electrodiagnostic criteria (strongly or weakly supportive) at baseline (last study in the "
    "90 days before infusion) and at the study nearest month 6 and 12 (± 60 days), among "
    "patients with both; criteria read from the per-nerve values and the lab's limits.",
    "ncs_velocity": "Nerve conduction (CIDP): median motor conduction velocity per nerve "
    "(m/s, sides pooled) at baseline and at months 6 and 12 among patients with both, and the "
    "patients whose velocity rose.",
    "single_cell_readouts": "Single-cell CSF and blood readouts (neurocart omics): each stored "
    "code, with patients and samples, the median of one proportion per patient before (last "
    "sample in the 90 days before infusion) and after (last sample after), and the exact "
    "Wilcoxon signed-rank test of the paired values — cells are never replicates; the caveat "
    "says when the patients are too few for a p-value to mean much.",
}
FIGURE_CAPTIONS = {
    "spider_kflc": "Percent change of the κFLC index from before the infusion, one line per "
    "patient (up to 40 per disease).",
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
