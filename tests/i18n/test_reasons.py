"""Every calculator's reasons, warnings, labels and input errors render in Chinese from their
message keys, and in English exactly as stored (the core's text is the record)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from neurocart import i18n
from neurocart.standards import CalculatorInputError, calculate
from neurocart.standards import reason as reasons
from neurocart.standards.reason import Items, Reason

LATIN_KEPT = {
    # scale, score and test abbreviations, units and proper names stay Latin in Chinese
    *("EDSS", "FS", "ICE", "QMG", "MG-ADL", "MGC", "INCAT", "MRC", "ICAHT", "ANC", "CRS", "ICANS"),
    *("IgG", "IgG_IF", "QAlb", "Qalb", "QIgG", "Qlim", "Qlow", "FLC", "Gd", "T2", "MRI", "PBVC"),
    *("NEDA-3", "NEDA-4", "CDW", "CDI", "LLN", "ULN", "CTCAE", "v5.0", "EASIX", "m-EASIX", "LDH"),
    *("CRP", "CAR-HEMATOTOX", "IEC-HS", "IEC", "ALT", "AST", "CMAP", "F-wave", "MMT-8", "HAQ"),
    *("ASTCT", "Neurostatus", "Kurtzke", "McDonald", "Rasch", "Hines", "neurocart", "max", "MS"),
    *("CSF", "CPAP", "BiPAP", "VI", "CIDP", "IVIg", "BCMA", "ARR", "ELISA", "SDMT", "custom"),
    *("mg", "dL", "g", "L", "U", "mL", "ms", "mV", "m", "s", "T", "min", "mmol", "µmol", "µg"),
    *("nmol", "mol", "units", "Hz", "h", "x", "e", "Reiber", "CAR-T", "v5"),
}


def english_left(text: str) -> list[str]:
    """Latin words of a Chinese rendering that are neither kept abbreviations or units nor
    field names and codes (`oxygen_device`, `'nasal_cannula'`)."""
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", unquoted)
    return [
        w
        for w in words
        if w not in LATIN_KEPT and "_" not in w and not re.fullmatch(r"[a-g]|e-?\d+|[A-Z]\d*", w)
    ]


def texts_of(name: str, inputs: dict[str, Any]) -> list[str]:
    result = calculate(name, inputs)
    return [result.label, *result.reasons, *result.warnings]


ANC = [(0, 2.0), (2, 0.4), (3, 0.05), (5, 0.3), (6, 0.3), (6, 0.2), (9, 0.6), (10, 0.7)]
CASES: list[tuple[str, dict[str, Any]]] = [
    ("edss", {"visual": 4, "brainstem": 2, "pyramidal": 3, "cerebellar": 2, "sensory": 1,
              "bowel_bladder": 0, "cerebral": 1, "walking_range_m": 250}),
    ("edss", {"visual": 0, "brainstem": 0, "pyramidal": 5, "cerebellar": 5, "sensory": 0,
              "bowel_bladder": 0, "cerebral": 0, "assistance": "wheelchair_self",
              "walking_range_m": 30}),
    ("mg_adl", {"talking": 1, "chewing": 0, "swallowing": 2, "breathing": 0,
                "brushing_teeth_or_combing_hair": 1, "arising_from_chair": 0,
                "double_vision": 3, "eyelid_droop": 0, "previous_total": 11}),
    ("mg_adl", {"talking": 0, "chewing": 0, "swallowing": 0, "breathing": 0,
                "brushing_teeth_or_combing_hair": 0, "arising_from_chair": 0,
                "double_vision": 1, "eyelid_droop": 0, "previous_total": 0}),
    ("incat", {"arm": 0, "leg": 2, "previous_arm": 2, "previous_leg": 2}),
    ("mrc_sum", {f"{g}_{s}": 4 for g in ("shoulder_abduction", "elbow_flexion",
                 "wrist_extension", "hip_flexion", "knee_extension", "ankle_dorsiflexion")
                 for s in ("left", "right")} | {"previous_total": 40}),
    ("icaht", {"anc_series": [{"day": d, "anc_10e9_l": v} for d, v in ANC]}),
    ("icaht", {"anc_series": [{"day": d, "anc_10e9_l": v} for d, v in ANC],
               "interpolate_gaps": True, "duration_mode": "longest_episode"}),
    ("icaht", {"anc_series": [{"day": 40, "anc_10e9_l": 0.3}, {"day": 50, "anc_10e9_l": 1.2}],
               "phase": "late"}),
    ("qalb", {"csf_albumin_mg_l": 420, "serum_albumin_g_l": 40, "age_years": 45}),
    ("igg_index", {"csf_albumin_mg_dl": 30, "serum_albumin_g_l": 40, "csf_igg_mg_l": 60,
                   "serum_igg_g_l": 5}),
    ("igg_if", {"csf_albumin_mg_l": 300, "serum_albumin_g_l": 40, "csf_igg_mg_l": 60,
                "serum_igg_g_l": 10}),
    ("reibergram_igg", {"csf_albumin_mg_l": 500, "serum_albumin_g_l": 40,
                        "csf_igg_mg_l": 80, "serum_igg_g_l": 10, "age_years": 30}),
    ("kflc_index", {"csf_kflc_mg_l": 2.1, "serum_kflc_mg_l": 15, "csf_albumin_mg_l": 250,
                    "serum_albumin_g_l": 42, "kflc_index_cutoff": 5.0}),
    ("ocb_pattern", {"csf_restricted_bands": 1, "identical_bands": 1, "monoclonal": True,
                     "csf_specific_threshold": 3}),
    ("mri_activity", {"scan_date": "2025-07-10", "comparator_date": "2025-01-10",
                      "new_t2_lesions": 2, "enlarging_t2_lesions": 1, "gd_enhancing_lesions": 1,
                      "brain_volume_ml": 1180, "comparator_brain_volume_ml": 1190,
                      "field_strength_t": 1.0, "comparator_field_strength_t": 3.0}),
    ("timed_change", {"test": "t25fw", "assessments": [{"day": 0, "value": 6.0},
                      {"day": 90, "value": 8.0}, {"day": 200, "value": 8.4}]}),
    ("timed_change", {"test": "sdmt", "sdmt_rule": "either", "assessments": [
        {"day": 0, "value": 50}, {"day": 90, "value": 40}, {"day": 120, "value": 49}]}),
    ("disability_change", {"assessments": [{"day": 0, "edss": 2.0}, {"day": 20, "edss": 3.0},
                           {"day": 120, "edss": 3.5}, {"day": 300, "edss": 3.0}],
                           "baseline": "roving", "relapses": [-10]}),
    ("titre_change", {"baseline_titre": 320, "follow_up_titre": 40}),
    ("ctcae_lab", {"term": "neutrophil_count_decreased", "value": 0.7, "lln": 1.2}),
    ("car_hematotox", {"anc_10e9_l": 1.0, "hemoglobin_g_l": 95, "platelets_10e9_l": 60,
                       "crp_mg_l": 12, "ferritin_ug_l": 2500}),
    ("iec_hs", {"attributable_to_iec_therapy": True, "onset": "as_crs_resolves",
                "ferritin_ug_l": 9000, "ferritin_uln_ug_l": 300, "alt_u_l": 400,
                "alt_uln_u_l": 40, "fibrinogen_g_l": 1.1, "respiratory_support":
                "supplemental_oxygen", "iec_hs_directed_therapy": True}),
    ("cidp_ncs_ean_pns_2021", {"nerves": [
        {"nerve": "median", "side": "left", "distal_latency_ms": 7.0,
         "distal_latency_uln_ms": 4.2, "conduction_velocity_m_s": 30,
         "conduction_velocity_lln_m_s": 49, "limb_temperature_c": 31},
        {"nerve": "ulnar", "side": "right", "conduction_velocity_m_s": 28,
         "conduction_velocity_lln_m_s": 50, "cmap_distal_mv": 6, "cmap_proximal_mv": 3,
         "cmap_lln_mv": 5}]}),
    ("imacs_tis", {"physician_global": {"baseline": 6, "follow_up": 2},
                   "patient_global": {"baseline": 7, "follow_up": 8},
                   "mmt8": {"baseline": 110, "follow_up": 130},
                   "haq": {"baseline": 1.5, "follow_up": 1.0},
                   "muscle_enzyme": {"baseline": 3000, "follow_up": 900},
                   "extramuscular": {"baseline": 3, "follow_up": 1}}),
    ("antibody_level", {"assay": "hmgcr_elisa_units", "value": 45}),
    ("easix", {"ldh_u_l": 300, "creatinine_umol_l": 90, "platelets_10e9_l": 150}),
    ("arr", {"relapses": 2, "follow_up_days": 200}),
    ("neda3", {"relapses": 1, "confirmed_worsening": True, "new_or_enlarging_t2": 2,
               "gd_enhancing": 0}),
    ("crs", {"temperature_c": 39.0, "oxygen_device": "cpap", "oxygen_flow_l_min": 8}),
    ("icans", {"ice_score": 6, "baseline_ice_score": 8, "motor": "deep_focal_weakness"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "inputs"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_every_text_renders_in_chinese_with_no_english_left(
    name: str, inputs: dict[str, Any]
) -> None:
    for text in texts_of(name, inputs):
        with i18n.using("zh_CN"):
            shown = i18n.core_text(text)
        assert shown != text or not english_left(text), text
        assert english_left(shown) == [], f"{text!r} → {shown!r}"


@pytest.mark.parametrize(
    ("name", "inputs"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_the_english_rendering_is_the_stored_text(name: str, inputs: dict[str, Any]) -> None:
    texts = texts_of(name, inputs)
    for text in texts:
        assert reasons.find(text) is not None or i18n.translated(text) is not None, text
    with i18n.using("en"):
        assert [i18n.core_text(t) for t in texts] == texts


@pytest.mark.parametrize(
    ("name", "inputs", "reason_zh"),
    [
        (CASES[0][0], CASES[0][1], "FS分值 4.0（规则 F10：两个FS为3级，另有一个或以上为2级）"
         "［计入的分级——3级：视觉、锥体系；2级：脑干、小脑；1级：感觉］"),
        (CASES[0][0], CASES[0][1], "EDSS 5.0 = max（FS分值 4.0，步行分值 5.0）：由步行能力决定"),
        (CASES[2][0], CASES[2][1], "MG-ADL总分 7/24（说话 1、吞咽 2、刷牙或梳头 1、复视 3）"),
        (CASES[2][0], CASES[2][1], "上次MG-ADL 11 → 本次 7：变化 -4；改善 4 分 ≥ 2（越低越好）："
         "有临床意义的改善"),
        (CASES[4][0], CASES[4][1], "上次INCAT 4 → 本次 2：变化 -2（校正INCAT变化 -1）；改善 1 分 ≥ "
         "1（越低越好）：有临床意义的改善"),
        (CASES[4][0], CASES[4][1], "上肢 2 → 0：校正INCAT不计0与1之间的变化（上肢计入 -1）"),
        (CASES[6][0], CASES[6][1], "ANC ≤ 0.5 ×10⁹/L：计入 5 天（累计，所有发作）；发作：第2–6天"),
        (CASES[8][0], CASES[8][1], "第50天第二个数值 1.2 ×10⁹/L（≤ 1.5）予以确认：最低值 0.3 ≤ "
         "0.5 ×10⁹/L：3级"),
        (CASES[10][0], CASES[10][1], "IgG指数 = （脑脊液IgG 60 mg/L ÷ 血清IgG 5 g/L）÷"
         "（脑脊液白蛋白 30 mg/dL（× 10） ÷ 血清白蛋白 40 g/L）= 1.6"),
        (CASES[14][0], CASES[14][1], "脑脊液特异性区带 1 条，脑脊液与血清相同区带 1 条，"
         "有单克隆区带；脑脊液特异性区带 ≥ 3 条为阳性"),
        (CASES[15][0], CASES[15][1], "与 2025年1月10日 的扫描相比（181 天）：新发T2病灶 2 个，"
         "增大T2病灶 1 个"),
        (CASES[16][0], CASES[16][1], "参照为第0天：6 s；恶化 = 较参照值慢 ≥ 20 %"),
    ],
)  # fmt: skip
def test_representative_reasons_in_chinese(
    name: str, inputs: dict[str, Any], reason_zh: str
) -> None:
    with i18n.using("zh_CN"):
        shown = [i18n.core_text(t) for t in texts_of(name, inputs)]
    assert reason_zh in shown, shown


BAD_INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("crs", {"temperature_c": 39.0, "oxygen_flow_l_min": 3}),
    ("crs", {"temperature_c": 50, "hypotension": "maybe", "oxygen_device": "tent"}),
    ("ice", {"orientation": 4, "unarousable": True}),
    ("edss", {"visual": 0, "brainstem": 0, "pyramidal": 0, "cerebellar": 0, "sensory": 0,
              "bowel_bladder": 0, "cerebral": 0, "assistance": "bilateral", "extra": 1}),
    ("qalb", {"csf_albumin_mg_l": 300, "csf_albumin_mg_dl": 30, "serum_albumin_g_l": 40}),
    ("disability_change", {"assessments": [{"day": 0, "edss": 0.5}], "confirmation_days": 10}),
    ("mg_composite", {"ptosis": 5}),
    ("incat", {"arm": 1, "leg": 1, "previous_arm": 2}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "inputs"), BAD_INPUTS, ids=[n for n, _ in BAD_INPUTS])
def test_input_errors_render_in_chinese(name: str, inputs: dict[str, Any]) -> None:
    with pytest.raises(CalculatorInputError) as caught:
        calculate(name, inputs)
    for problem in caught.value.problems:
        with i18n.using("zh_CN"):
            shown = i18n.core_text(problem.message)
        assert english_left(shown) == [], f"{problem.message!r} → {shown!r}"
        with i18n.using("en"):
            assert i18n.core_text(problem.message) == problem.message


def test_an_error_message_in_chinese() -> None:
    with pytest.raises(CalculatorInputError) as caught:
        calculate("arr", {"relapses": 1, "follow_up_days": 0})
    with i18n.using("zh_CN"):
        assert i18n.core_text(caught.value.problems[0].message) == "应为 > 0 且 ≤ 36525 天"


def test_a_list_parameter_is_rendered_item_by_item() -> None:
    item = Reason("{word} {n}", numbers=("n",), registered=False)
    listing = Reason("test listing: {items}", lists={"items": Items(", ", item)})
    text = listing(items="talking 2, double vision 3")
    assert item.match("double vision 3") == {"word": "double vision", "n": "3"}
    assert reasons.find("double vision 3") is None  # an item template is not looked up alone
    assert reasons.find(text) == (listing, {"items": "talking 2, double vision 3"})


def test_a_number_field_takes_only_a_number() -> None:
    template = Reason("test {a} {b} points", numbers=("b",))
    assert template.match("test one two 3 points") == {"a": "one two", "b": "3"}
    assert template.match("test one two points") is None


def test_every_registered_key_is_in_the_chinese_catalogue() -> None:
    with i18n.using("zh_CN"):
        untranslated = [k for k in reasons.keys() if i18n.translated(k) is None]  # noqa: SIM118
    assert [k for k in untranslated if not k.startswith("test ")] == []
