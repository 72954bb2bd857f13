"""2016 ACR/EULAR total improvement score (adult DM/PM).

Sources of the expected values: Aggarwal R et al. Arthritis Rheumatol 2017;69:898–910 / Ann
Rheum Dis 2017;76:792–801 — the conjoint-analysis points table (verified
against PMC5577002 Table 3), absolute percent change for all core set measures but the muscle
enzyme (relative), adult thresholds minimal ≥ 20, moderate ≥ 40, major ≥ 60. Neurocart rules
tested here: a band's upper edge belongs to the lower band; the percentage is rounded to 6
decimals before banding; worsening scores 0.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, NotVectorizedError, calculate, calculate_frame
from neurocart.standards.imacs_tis import improvement_percent

STABLE: dict[str, Any] = {
    "physician_global": {"baseline": 5.0, "follow_up": 5.0},
    "patient_global": {"baseline": 5.0, "follow_up": 5.0},
    "mmt8": {"baseline": 100.0, "follow_up": 100.0},
    "haq": {"baseline": 1.5, "follow_up": 1.5},
    "muscle_enzyme": {"baseline": 1000.0, "follow_up": 1000.0},
    "extramuscular": {"baseline": 5.0, "follow_up": 5.0},
}


def tis(**measures: tuple[float, float] | int) -> Any:
    inputs: dict[str, Any] = dict(STABLE)
    for name, value in measures.items():
        if isinstance(value, tuple):
            inputs[name] = {"baseline": value[0], "follow_up": value[1]}
        else:
            inputs[name] = value
    return calculate("imacs_tis", inputs)


def points(result: Any, name: str) -> float:
    return float(result.details["measures"][name]["points"])


def test_no_change_scores_zero() -> None:
    result = tis()
    assert result.value == 0
    assert result.label == "none"
    assert "Aggarwal" in result.citation


# (baseline, follow_up) on a 0–10 scale → improvement % → band
PHYSICIAN = [
    ((10, 10), 0),
    ((10, 9.5), 0),  # exactly 5 %: upper edge of the lowest band
    ((10, 9.4), 7.5),  # 6 %
    ((10, 8.5), 7.5),  # exactly 15 %
    ((10, 8.4), 15),
    ((10, 7.5), 15),  # exactly 25 %
    ((10, 7.4), 17.5),
    ((10, 6), 17.5),  # exactly 40 %
    ((10, 5.9), 20),
    ((10, 0), 20),
    ((2, 9), 0),  # worsening scores 0
]


@pytest.mark.parametrize(("change", "expected"), PHYSICIAN)
def test_physician_global_bands(change: tuple[float, float], expected: float) -> None:
    assert points(tis(physician_global=change), "physician_global") == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("physician_global", (0, 7.5, 15, 17.5, 20)),
        ("patient_global", (0, 2.5, 5, 7.5, 10)),
        ("extramuscular", (0, 7.5, 12.5, 15, 20)),  # verified row, not the 7.5/15/20/20 memory
    ],
)
def test_published_points_rows_for_0_to_10_measures(name: str, expected: tuple[float, ...]) -> None:
    # improvements of 5 %, 15 %, 25 %, 40 % (band edges) and 100 %
    follow_ups = (9.5, 8.5, 7.5, 6.0, 0.0)
    got = [points(tis(**{name: (10.0, f)}), name) for f in follow_ups]
    assert got == [expected[0], expected[1], expected[2], expected[3], expected[4]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((3.0, 2.85), 0),  # 5 %
        ((3.0, 2.7), 5),  # 10 %
        ((3.0, 2.4), 7.5),  # 20 %
        ((3.0, 2.1), 7.5),  # 30 %
        ((3.0, 1.5), 10),  # 50 %
        ((1.0, 2.0), 0),  # worse
    ],
)
def test_haq_is_absolute_change_over_3(change: tuple[float, float], expected: float) -> None:
    assert points(tis(haq=change), "haq") == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((1000, 950), 0),  # 5 % relative
        ((1000, 900), 2.5),  # 10 %
        ((1000, 800), 5),  # 20 %
        ((1000, 700), 7.5),  # 30 %
        ((1000, 100), 7.5),  # 90 %: top band is still 7.5
        ((200, 100), 7.5),  # 50 % relative — a change of 100 U/L, whatever its scale
        ((20000, 19000), 0),  # 1000 U/L drop is only 5 % of this baseline
        ((100, 5000), 0),  # worse
    ],
)
def test_muscle_enzyme_is_relative_change(change: tuple[float, float], expected: float) -> None:
    assert points(tis(muscle_enzyme=change), "muscle_enzyme") == expected


@pytest.mark.parametrize(
    ("mmt8_max", "change", "expected"),
    [
        (150, (100, 103), 0),  # exactly 2 % of 150
        (150, (100, 104), 10),
        (150, (100, 115), 10),  # exactly 10 %
        (150, (100, 116), 20),
        (150, (100, 130), 20),  # exactly 20 %
        (150, (100, 145), 27.5),  # exactly 30 %
        (150, (100, 146), 32.5),
        (150, (120, 100), 0),  # weaker: worsening
        (80, (60, 70), 20),  # 12.5 % of 80 ...
        (150, (60, 70), 10),  # ... but 6.7 % of 150
        (80, (50, 74), 27.5),  # exactly 30 % of 80
        (80, (50, 75), 32.5),
    ],
)
def test_mmt8_bands_and_scale_maximum(
    mmt8_max: int, change: tuple[float, float], expected: float
) -> None:
    assert points(tis(mmt8=change, mmt8_max=mmt8_max), "mmt8") == expected


@pytest.mark.parametrize(
    ("name", "baseline", "follow_up", "mmt8_max", "expected"),
    [
        # each of these is one ulp above the band edge in IEEE doubles
        ("physician_global", 2.2, 0.7, 150, 7.5),  # 15.000000000000002 % → 15 %
        ("physician_global", 8.05, 4.05, 150, 17.5),  # 40.00000000000001 % → 40 %
        ("haq", 0.54, 0.09, 150, 5),  # 15.000000000000002 % → 15 %
        ("mmt8", 15, 16.6, 80, 0),  # 2.0000000000000018 % → 2 %
    ],
)
def test_percentage_rounded_before_banding(
    name: str, baseline: float, follow_up: float, mmt8_max: int, expected: float
) -> None:
    pct = improvement_percent(name, baseline, follow_up, mmt8_max)
    assert pct in (2.0, 15.0, 40.0)
    kwargs: dict[str, Any] = {name: (baseline, follow_up), "mmt8_max": mmt8_max}
    assert points(tis(**kwargs), name) == expected


@pytest.mark.parametrize(
    ("measures", "total", "label"),
    [
        ({"physician_global": (10, 7.4)}, 17.5, "none"),
        ({"physician_global": (10, 0)}, 20, "minimal"),  # exactly 20
        ({"physician_global": (10, 6), "extramuscular": (10, 0)}, 37.5, "minimal"),
        ({"physician_global": (10, 0), "extramuscular": (10, 0)}, 40, "moderate"),  # exactly 40
        (
            {
                "physician_global": (10, 0),
                "extramuscular": (10, 0),
                "patient_global": (10, 0),
                "muscle_enzyme": (1000, 100),
            },
            57.5,
            "moderate",
        ),
        (
            {
                "physician_global": (10, 0),
                "extramuscular": (10, 0),
                "patient_global": (10, 0),
                "haq": (3, 0),
            },
            60,
            "major",
        ),  # exactly 60
    ],
)
def test_total_thresholds(measures: dict[str, Any], total: float, label: str) -> None:
    result = tis(**measures)
    assert result.value == total
    assert result.label == label


def test_maximum_is_100() -> None:
    result = tis(
        physician_global=(10, 0),
        patient_global=(10, 0),
        mmt8=(0, 150),
        haq=(3, 0),
        muscle_enzyme=(10000, 100),
        extramuscular=(10, 0),
    )
    assert result.value == 100
    assert result.label == "major"
    assert result.details["worsening_measures"] == 0


def test_worked_example_with_a_worsening_measure() -> None:
    result = tis(
        physician_global=(6, 3),  # 30 % → 17.5
        patient_global=(6, 4),  # 20 % → 5
        mmt8=(110, 125),  # 10 % of 150 → 10
        haq=(1.5, 1.2),  # 10 % → 5
        muscle_enzyme=(3000, 1500),  # 50 % → 7.5
        extramuscular=(2, 3),  # worse → 0
    )
    assert result.value == 45
    assert result.label == "moderate"
    assert result.details["worsening_measures"] == 1
    assert any("extramuscular" in w for w in result.warnings)
    assert any("worsened" in r and "extramuscular" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("measure", "value", "field"),
    [
        ("physician_global", {"baseline": 11, "follow_up": 5}, "physician_global.baseline"),
        ("patient_global", {"baseline": 5, "follow_up": -1}, "patient_global.follow_up"),
        ("haq", {"baseline": 3.5, "follow_up": 1}, "haq.baseline"),
        ("extramuscular", {"baseline": 5, "follow_up": 10.5}, "extramuscular.follow_up"),
        ("muscle_enzyme", {"baseline": 0, "follow_up": 100}, "muscle_enzyme.baseline"),
        ("mmt8", {"baseline": 100, "follow_up": 151}, "mmt8.follow_up"),
        ("haq", {"baseline": 1}, "haq.follow_up"),
        ("haq", {"baseline": 1, "follow_up": 1, "week": 12}, "haq.week"),
        ("haq", {"baseline": "1", "follow_up": 1}, "haq.baseline"),
    ],
)
def test_bad_measure_names_field(measure: str, value: Any, field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("imacs_tis", {**STABLE, measure: value})
    assert info.value.fields == [field]


@pytest.mark.parametrize("mmt", [(81, 60), (60, 80.5)])
def test_mmt8_above_mmt8_max_80_rejected_naming_mmt8(mmt: tuple[float, float]) -> None:
    with pytest.raises(CalculatorInputError) as info:
        tis(mmt8=mmt, mmt8_max=80)
    assert info.value.fields == ["mmt8"]


def test_mmt8_at_max_80_accepted() -> None:
    assert tis(mmt8=(80, 80), mmt8_max=80).value == 0


@pytest.mark.parametrize("bad", [100, 0, "150"])
def test_mmt8_max_is_80_or_150(bad: Any) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("imacs_tis", {**STABLE, "mmt8_max": bad})
    assert info.value.fields == ["mmt8_max"]


def test_no_vectorized_path() -> None:
    with pytest.raises(NotVectorizedError):
        calculate_frame("imacs_tis", pd.DataFrame([{"mmt8_max": 150}]))


vas = st.floats(0, 10, allow_nan=False)
measure_names = [
    "physician_global",
    "patient_global",
    "mmt8",
    "haq",
    "muscle_enzyme",
    "extramuscular",
]
inputs_st = st.fixed_dictionaries(
    {
        "physician_global": st.tuples(vas, vas),
        "patient_global": st.tuples(vas, vas),
        "mmt8": st.tuples(st.floats(0, 150), st.floats(0, 150)),
        "haq": st.tuples(st.floats(0, 3), st.floats(0, 3)),
        "muscle_enzyme": st.tuples(st.floats(1, 50000), st.floats(1, 50000)),
        "extramuscular": st.tuples(vas, vas),
    }
)


@given(inputs_st, st.sampled_from(measure_names), st.floats(0, 1))
def test_total_in_range_and_never_falls_when_follow_up_improves(
    measures: dict[str, tuple[float, float]], name: str, fraction: float
) -> None:
    before = tis(**measures)
    assert 0 <= before.value <= 100
    assert before.value % 2.5 == 0
    expected_label = (
        "major"
        if before.value >= 60
        else "moderate"
        if before.value >= 40
        else "minimal"
        if before.value >= 20
        else "none"
    )
    assert before.label == expected_label
    base, follow = measures[name]
    best = {"mmt8": 150.0, "muscle_enzyme": 1.0}.get(name, 0.0)
    better = follow + (best - follow) * fraction  # moves follow-up towards the best value
    after = tis(**{**measures, name: (base, better)})
    assert after.value >= before.value


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "imacs_tis" in listed.output
    assert runner.invoke(app, ["calc", "imacs_tis", "--help"]).exit_code == 0
    ran = runner.invoke(app, ["calc", "imacs_tis", "--json", json.dumps(STABLE)])
    assert ran.exit_code == 0, ran.output
    assert '"label": "none"' in ran.output
