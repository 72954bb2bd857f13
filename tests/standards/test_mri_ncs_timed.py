"""mri_activity, cidp_ncs_ean_pns_2021, timed_change.

Sources: Wattjes MP, et al. Lancet Neurol 2021 (MAGNIMS–CMSC–NAIMS); Guevara C, et al. Front
Neurol 2019 (NEDA-4, 0.4 %/year); Van den Bergh PYK, et al. Eur J Neurol 2021 (EAN/PNS CIDP
criteria a–g and their combinations); Hobart J, et al. Neurology 2013 (T25FW 20 %); Benedict
RHB, et al. Mult Scler 2017 (SDMT 4 points / 10 %). Worked examples M1–M8, N1–N10, T1–T8 (the
nerve examples use illustrative lab limits, not reference values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate
from neurocart.standards.timed_change import confirmed_onsets

D = {"comparator_date": "2025-01-10", "scan_date": "2025-07-10"}


@pytest.mark.parametrize(
    ("inputs", "value"),
    [
        ({**D, "new_t2_lesions": 2, "enlarging_t2_lesions": 0, "gd_enhancing_lesions": 0},
         "active"),
        ({**D, "new_t2_lesions": 0, "enlarging_t2_lesions": 0}, "inactive"),
        ({"scan_date": "2025-07-10", "gd_enhancing_lesions": 1}, "active"),
        ({"scan_date": "2025-07-10", "gd_enhancing_lesions": 0}, "not_evaluable"),
        ({**D, "new_t2_lesions": 0, "enlarging_t2_lesions": 1}, "active"),
        ({"scan_date": "2025-07-10"}, "not_evaluable"),
    ],
    ids=["M1", "M2", "M3", "M4", "M5", "nothing"],
)  # fmt: skip
def test_mri_activity_worked_examples(inputs: dict[str, Any], value: str) -> None:
    result = calculate("mri_activity", inputs)
    assert result.value == value


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"scan_date": "2025-07-10", "new_t2_lesions": 0}, "new_t2_lesions"),
        ({"comparator_date": "2025-08-01", "scan_date": "2025-07-10", "new_t2_lesions": 0,
          "enlarging_t2_lesions": 0}, "comparator_date"),
        ({**D, "new_t2_lesions": 0}, "enlarging_t2_lesions"),
        ({**D, "scan_date": "10/07/2025"}, "scan_date"),
        ({**D, "new_t2_lesions": -1, "enlarging_t2_lesions": 0}, "new_t2_lesions"),
        ({**D, "new_t2_lesions": 0, "enlarging_t2_lesions": 0, "brain_volume_ml": 1400},
         "brain_volume_ml"),
    ],
    ids=["M6", "M7", "missing-count", "date-format", "negative", "one-volume"],
)  # fmt: skip
def test_mri_activity_errors_name_the_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mri_activity", inputs)
    assert field in info.value.fields


def test_m8_brain_volume_loss() -> None:
    result = calculate(
        "mri_activity",
        {"comparator_date": "2024-07-10", "scan_date": "2025-07-10", "new_t2_lesions": 0,
         "enlarging_t2_lesions": 0, "brain_volume_ml": 1441.3,
         "comparator_brain_volume_ml": 1450},
    )  # fmt: skip
    assert result.value == "inactive"
    assert result.extras["pbvc_percent"] == pytest.approx(-0.6)
    assert result.extras["annualized_pbvc_percent"] == pytest.approx(-0.600411, abs=1e-6)
    assert result.extras["neda4_volume_loss"] is True


def test_mri_field_strength_warnings() -> None:
    result = calculate("mri_activity", {**D, "new_t2_lesions": 0, "enlarging_t2_lesions": 0,
                                        "field_strength_t": 1.0,
                                        "comparator_field_strength_t": 3.0})  # fmt: skip
    assert len(result.warnings) == 2


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))
def test_mri_more_lesions_never_less_active(new: int, enl: int, gd: int, more: int) -> None:
    def active(n: int) -> bool:
        r = calculate("mri_activity", {**D, "new_t2_lesions": n, "enlarging_t2_lesions": enl,
                                       "gd_enhancing_lesions": gd})  # fmt: skip
        return r.value == "active"

    assert active(new + more) >= active(new)


LIMITS = {
    "median": {"distal_latency_uln_ms": 4.4, "cmap_lln_mv": 4.0,
               "conduction_velocity_lln_m_s": 49, "f_wave_uln_ms": 31},
    "ulnar": {"distal_latency_uln_ms": 3.3, "cmap_lln_mv": 6.0,
              "conduction_velocity_lln_m_s": 49, "f_wave_uln_ms": 32},
    "peroneal": {"distal_latency_uln_ms": 6.5, "cmap_lln_mv": 2.0,
                 "conduction_velocity_lln_m_s": 44, "f_wave_uln_ms": 56},
    "tibial": {"distal_latency_uln_ms": 5.8, "cmap_lln_mv": 4.0,
               "conduction_velocity_lln_m_s": 41, "f_wave_uln_ms": 56},
}  # fmt: skip


def nerve(name: str, side: str = "right", **values: Any) -> dict[str, Any]:
    return {"nerve": name, "side": side, **LIMITS[name], **values}


NCS = {
    "N1": ([nerve("median", distal_latency_ms=6.6, cmap_distal_mv=6),
            nerve("ulnar", distal_latency_ms=5.0, cmap_distal_mv=8)], "strongly_supportive"),
    "N2": ([nerve("median", distal_latency_ms=6.6), nerve("ulnar", distal_latency_ms=3.0)],
           "weakly_supportive"),
    "N3": ([nerve("ulnar", conduction_velocity_m_s=34.3),
            nerve("peroneal", conduction_velocity_m_s=30.0)], "strongly_supportive"),
    "N4": ([nerve("median", f_wave_latency_ms=38.0, cmap_distal_mv=3.0),
            nerve("ulnar", f_wave_latency_ms=39.0, cmap_distal_mv=7.0)], "weakly_supportive"),
    "N5": ([nerve("ulnar", cmap_distal_mv=7.0, cmap_proximal_mv=4.5),
            nerve("median", distal_latency_ms=6.8)], "strongly_supportive"),
    "N6": ([nerve("tibial", cmap_distal_mv=8.0, cmap_proximal_mv=3.0),
            nerve("peroneal", cmap_distal_mv=3.0, cmap_proximal_mv=2.9)], "not_met"),
    "N7": ([nerve("median", cmap_duration_distal_ms=7.0)], "weakly_supportive"),
    "N8": ([nerve("peroneal", f_waves_absent=True, cmap_distal_mv=1.0),
            nerve("tibial", f_waves_absent=True, cmap_distal_mv=2.0),
            nerve("ulnar", conduction_velocity_m_s=33)], "strongly_supportive"),
    "N9": ([nerve("median", distal_latency_ms=7.0, carpal_tunnel=True),
            nerve("ulnar", distal_latency_ms=5.2)], "weakly_supportive"),
    "N10": ([nerve("tibial", cmap_duration_distal_ms=6.0, cmap_duration_proximal_ms=11.4),
             nerve("peroneal", cmap_duration_distal_ms=5.0, cmap_duration_proximal_ms=6.6)],
            "weakly_supportive"),
}  # fmt: skip
FINDINGS = {
    "N1": [["a"], ["a"]], "N2": [["a"], []], "N3": [["b"], ["b"]], "N4": [[], ["c"]],
    "N5": [["e"], ["a"]], "N6": [[], []], "N7": [["g"]], "N8": [["d"], ["d"], ["b"]],
    "N9": [[], ["a"]], "N10": [[], ["f"]],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NCS))
def test_cidp_worked_examples(case: str) -> None:
    nerves, value = NCS[case]
    result = calculate("cidp_ncs_ean_pns_2021", {"nerves": nerves})
    assert result.value == value
    assert list(result.details["findings"].values()) == FINDINGS[case]
    assert "Van den Bergh" in result.citation


def test_cidp_left_and_right_are_two_nerves() -> None:
    both = [nerve("median", "left", distal_latency_ms=6.6), nerve("median", distal_latency_ms=6.6)]
    assert calculate("cidp_ncs_ean_pns_2021", {"nerves": both}).value == "strongly_supportive"


def test_cidp_block_needs_distal_cmap_of_20_percent_lln() -> None:
    weak = [nerve("ulnar", cmap_distal_mv=1.0, cmap_proximal_mv=0.5),
            nerve("median", cmap_distal_mv=0.7, cmap_proximal_mv=0.3)]  # fmt: skip
    assert calculate("cidp_ncs_ean_pns_2021", {"nerves": weak}).value == "not_met"


def test_cidp_sensory_extras() -> None:
    result = calculate("cidp_ncs_ean_pns_2021", {
        "nerves": [nerve("median")],
        "sensory_nerves": [{"nerve": "median", "side": "right", "abnormal": True},
                           {"nerve": "sural", "side": "right", "abnormal": True}]})  # fmt: skip
    assert result.details["sensory_abnormal_nerves"] == 2
    assert result.details["sensory_two_nerves"] is True


@pytest.mark.parametrize(
    ("nerves", "field"),
    [
        ([nerve("median"), nerve("median")], "nerves"),
        ([{"nerve": "radial", "side": "right"}], "nerves.0.nerve"),
        ([nerve("ulnar", f_waves_absent=True, f_wave_latency_ms=30)], "nerves.0"),
        ([nerve("ulnar", cmap_duration_distal_ms=7.0, lff_hz=2.0)], "nerves.0"),
        ([], "nerves"),
    ],
    ids=["duplicate", "unknown-nerve", "f-absent-with-latency", "filter", "empty"],
)
def test_cidp_bad_input(nerves: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("cidp_ncs_ean_pns_2021", {"nerves": nerves})
    assert field in info.value.fields


@given(st.floats(2.0, 10.0), st.floats(0, 5), st.floats(2.0, 10.0))
def test_cidp_longer_latency_never_weakens(dl: float, more: float, other: float) -> None:
    order = {"not_met": 0, "weakly_supportive": 1, "strongly_supportive": 2}

    def grade(x: float) -> int:
        nerves = [nerve("median", distal_latency_ms=x), nerve("ulnar", distal_latency_ms=other)]
        return order[str(calculate("cidp_ncs_ean_pns_2021", {"nerves": nerves}).value)]

    assert grade(dl + more) >= grade(dl)


def timed(test: str, pairs: list[tuple[int, float]], **extra: Any) -> Any:
    inputs = {"test": test, "assessments": [{"day": d, "value": v} for d, v in pairs], **extra}
    return calculate("timed_change", inputs).value


SDMT_T7 = [(0, 55), (90, 51), (180, 50)]
SDMT_T8 = [(0, 30), (90, 27), (180, 27)]


def test_timed_change_worked_examples() -> None:
    assert timed("t25fw", [(0, 6.0), (90, 7.4), (180, 7.5), (270, 7.3)]) == 90  # T1
    assert timed("t25fw", [(0, 6.0), (90, 7.4), (180, 6.8), (270, 7.6), (360, 7.5)]) == 270
    assert timed("t25fw", [(0, 10.0), (90, 12.5)]) is None  # T3
    assert timed("t25fw", [(0, 8.0), (60, 10.0), (100, 9.0), (150, 10.0)]) is None  # T4
    assert timed("t25fw", [(0, 5.0), (100, 6.0), (200, 6.0)]) == 100  # T5: exactly 20 %
    assert timed("nhpt", [(0, 20.0), (84, 24.0), (168, 24.5)]) == 84  # T6
    assert timed("sdmt", SDMT_T7) == 90  # T7
    assert timed("sdmt", SDMT_T7, sdmt_rule="percent") is None
    assert timed("sdmt", SDMT_T7, sdmt_rule="either") == 90
    assert timed("sdmt", SDMT_T8) is None  # T8
    assert timed("sdmt", SDMT_T8, sdmt_rule="percent") == 90


def test_timed_change_order_and_options() -> None:
    assert timed("t25fw", [(180, 7.5), (0, 6.0), (270, 7.3), (90, 7.4)]) == 90
    assert timed("t25fw", [(0, 6.0), (90, 7.4), (180, 7.5)], confirmation_days=168) is None
    assert timed("t25fw", [(0, 6.0)]) is None
    assert timed("t25fw", [(0, 6.0), (90, 6.9), (180, 6.9)], threshold_percent=15) == 90


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"test": "t25fw", "assessments": [{"day": 0, "value": 6}, {"day": 0, "value": 7}]},
         "assessments"),
        ({"test": "sdmt", "assessments": [{"day": 0, "value": 120}]}, "assessments"),
        ({"test": "t25fw", "assessments": [{"day": 0, "value": 0}]}, "assessments"),
        ({"test": "walk", "assessments": []}, "test"),
    ],
)  # fmt: skip
def test_timed_change_bad_input(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("timed_change", inputs)
    assert field in info.value.fields


@given(st.lists(st.floats(4.0, 12.0), min_size=2, max_size=6), st.floats(0, 3))
def test_timed_slower_visits_never_undo_a_confirmed_worsening(
    values: list[float], slower: float
) -> None:
    pairs = [(90 * i, v) for i, v in enumerate(values)]
    worse = [(d, v + slower if d > 0 else v) for d, v in pairs]
    base = timed("t25fw", pairs)
    if base is not None:
        got = timed("t25fw", worse)
        assert got is not None
        assert got <= base


# many series at once (the cohort's path): the same onset as the calculator, series by series
one_series = st.dictionaries(
    st.integers(-120, 900),
    st.one_of(st.sampled_from([5.0, 6.0, 6.1, 7.0, 40.0, 44.0, 36.0]), st.floats(1, 60)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200)
@given(st.sampled_from(["t25fw", "nhpt", "sdmt"]), st.lists(one_series, min_size=1, max_size=6))
def test_confirmed_onsets_of_many_series_are_the_calculator_s(
    test: str, many: list[dict[int, float]]
) -> None:
    if test == "sdmt":
        many = [{d: float(round(v)) for d, v in s.items()} for s in many]
    rows = [(i, d, v) for i, s in enumerate(many) for d, v in s.items()]
    series, day, value = (np.array(c) for c in zip(*rows, strict=True))
    got = confirmed_onsets(
        test,  # type: ignore[arg-type]
        series.astype(np.intp)[::-1],  # rows in any order
        day.astype(np.int64)[::-1],
        value.astype(float)[::-1],
    )
    for i, s in enumerate(many):
        points = [{"day": d, "value": v} for d, v in s.items()]
        expected = calculate("timed_change", {"test": test, "assessments": points}).value
        assert (np.isnan(got[i]) and expected is None) or got[i] == expected, (s, got[i])


def test_confirmed_onsets_refuse_what_the_calculator_refuses() -> None:
    with pytest.raises(CalculatorInputError):
        confirmed_onsets(
            "t25fw",
            np.array([0, 0], dtype=np.intp),
            np.array([0, 0], dtype=np.int64),  # two results on one day
            np.array([5.0, 6.0]),
        )


# The EAN/PNS 2021 thresholds at their edges (Van den Bergh et al. 2021, motor conduction
# criteria a–g): "≥" limits hold at the limit, "> 30 %" temporal dispersion does not; each
# pair is the limit and a hair on the other side of it (illustrative lab limits as above).
EDGES = {
    "block-30": (nerve("ulnar", cmap_distal_mv=10.0, cmap_proximal_mv=7.0), "e", True),
    "block-29.9": (nerve("ulnar", cmap_distal_mv=10.0, cmap_proximal_mv=7.01), "e", False),
    "dispersion-30": (nerve("ulnar", cmap_duration_distal_ms=5.0, cmap_duration_proximal_ms=6.5),
                      "f", False),
    "dispersion-30.2": (nerve("ulnar", cmap_duration_distal_ms=5.0,
                              cmap_duration_proximal_ms=6.51), "f", True),
    "tibial-dispersion-100": (nerve("tibial", cmap_duration_distal_ms=5.0,
                                    cmap_duration_proximal_ms=10.0), "f", True),
    "tibial-dispersion-99.8": (nerve("tibial", cmap_duration_distal_ms=5.0,
                                     cmap_duration_proximal_ms=9.99), "f", False),
    "f-wave-20-cmap-80": (nerve("median", f_wave_latency_ms=37.2, cmap_distal_mv=3.2), "c", True),
    "f-wave-20-cmap-79.75": (nerve("median", f_wave_latency_ms=37.2, cmap_distal_mv=3.19), "c",
                             False),
    "f-wave-50-cmap-79.75": (nerve("median", f_wave_latency_ms=46.5, cmap_distal_mv=3.19), "c",
                             True),
    "f-wave-19.7": (nerve("median", f_wave_latency_ms=37.1, cmap_distal_mv=4.0), "c", False),
    "f-absent-cmap-20": (nerve("median", f_waves_absent=True, cmap_distal_mv=0.8), "d", True),
    "f-absent-cmap-19.75": (nerve("median", f_waves_absent=True, cmap_distal_mv=0.79), "d",
                            False),
    "duration-6.6": (nerve("median", cmap_duration_distal_ms=6.6), "g", True),
    "duration-6.59": (nerve("median", cmap_duration_distal_ms=6.59), "g", False),
    "latency-49.8": (nerve("median", distal_latency_ms=6.59), "a", False),
    "velocity-29.8": (nerve("ulnar", conduction_velocity_m_s=34.4), "b", False),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(EDGES))
def test_cidp_thresholds_at_their_limits(case: str) -> None:
    one, letter, found = EDGES[case]
    result = calculate("cidp_ncs_ean_pns_2021", {"nerves": [one]})
    assert (letter in next(iter(result.details["findings"].values()))) is found


COMBINED = {
    # e in one nerve + another finding, absent F-waves excepted, in another nerve
    "e+d": ([nerve("ulnar", cmap_distal_mv=7.0, cmap_proximal_mv=4.5),
             nerve("peroneal", f_waves_absent=True, cmap_distal_mv=2.0)], "weakly_supportive"),
    "e+g": ([nerve("ulnar", cmap_distal_mv=7.0, cmap_proximal_mv=4.5),
             nerve("median", cmap_duration_distal_ms=7.0)], "strongly_supportive"),
    # g in one nerve + any other finding (absent F-waves included) in another nerve
    "g+d": ([nerve("median", cmap_duration_distal_ms=7.0),
             nerve("peroneal", f_waves_absent=True, cmap_distal_mv=2.0)], "strongly_supportive"),
    "g+g": ([nerve("median", cmap_duration_distal_ms=7.0),
             nerve("ulnar", cmap_duration_distal_ms=7.0)], "weakly_supportive"),
    # absent F-waves in two nerves need another finding in a third nerve
    "d+d": ([nerve("peroneal", f_waves_absent=True, cmap_distal_mv=2.0),
             nerve("tibial", f_waves_absent=True, cmap_distal_mv=4.0)], "weakly_supportive"),
    # two different findings in two nerves are not one finding in two nerves
    "a+b": ([nerve("median", distal_latency_ms=6.6),
             nerve("ulnar", conduction_velocity_m_s=34.0)], "weakly_supportive"),
    # findings in one nerve only, however many
    "a+b+c in one": ([nerve("median", distal_latency_ms=7.0, conduction_velocity_m_s=30.0,
                            f_wave_latency_ms=40.0, cmap_distal_mv=4.0)], "weakly_supportive"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(COMBINED))
def test_cidp_combinations_of_findings_across_nerves(case: str) -> None:
    nerves, value = COMBINED[case]
    assert calculate("cidp_ncs_ean_pns_2021", {"nerves": nerves}).value == value
