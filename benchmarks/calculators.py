"""Throughput of every calculator's vectorized path, against its target and a numpy limit.

For every registered calculator that grades tables (`calculate_frame`), builds N synthetic
rows (seeded): realistic ward mixes for `crs` and `icans` (omitted optional cells, as a CSV
export of a ward's observations has them), and for every other calculator rows drawn from its
own field specifications (ranges, choices, blanks where a field is optional) with the rows
that break a cross-field check dropped. Then measures, five times each (CPU seconds; numpy
does this work on one thread):

- `calculate_frame` rows/s — target ≥ 1,000,000 rows/s on one core, for every calculator;
- for `crs` and `icans`, a hand-written numpy expression of the same rule on the same
  DataFrame (no validation, no explanation: the limit of the arithmetic), measured in
  alternation with the frame path — target: frame time ÷ numpy time ≤ 2.

Before timing, the frame's values and labels are checked against a loop of `calculate` on a
leading subsample (and the numpy limit against the frame on every row), so a fast wrong
answer cannot pass.

    .venv/bin/python benchmarks/calculators.py [--rows N] [--loop-rows M] [--seed S]
                                               [--only NAME ...] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import _harness as h
from neurocart.standards import REGISTRY, calculate, calculate_frame, get
from neurocart.standards.fields import FieldSpec
from neurocart.standards.frame import frame_columns

TARGET_ROWS_PER_S = 1_000_000
LIMIT_FACTOR = 2.0
"""The frame path may take at most this many times the numpy expression of the same rule."""


def _choice(rng: np.random.Generator, n: int, weights: dict[str, float]) -> np.ndarray:
    names = np.asarray(list(weights), dtype=object)
    p = np.asarray(list(weights.values()), dtype=float)
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def _omit(rng: np.random.Generator, values: np.ndarray, fraction: float) -> np.ndarray:
    """Blank a fraction of cells (NaN), as empty CSV cells: the default applies there."""
    out = values.astype(object) if values.dtype != np.float64 else values.copy()
    out[rng.random(len(values)) < fraction] = np.nan
    return out


def crs_rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """CRS inputs: mostly afebrile or grade 1–2, a tail of vasopressors and positive pressure."""
    temperature = np.round(np.clip(rng.normal(37.9, 0.9, n), 35.0, 41.5), 1)
    temperature[rng.random(n) < 0.15] = np.nan  # no temperature recorded in the window
    masked = rng.random(n) < 0.08
    pressors = rng.choice(4, size=n, p=[0.92, 0.05, 0.025, 0.005]).astype(np.float64)
    vasopressin = rng.random(n) < 0.02
    hypotension = (rng.random(n) < 0.08) | (pressors > 0)
    device = _choice(
        rng,
        n,
        {
            "none": 0.74,
            "blow_by": 0.01,
            "nasal_cannula": 0.13,
            "high_flow_nasal_cannula": 0.03,
            "facemask": 0.03,
            "nonrebreather": 0.015,
            "venturi": 0.01,
            "cpap": 0.01,
            "bipap": 0.01,
            "mechanical_ventilation": 0.015,
        },
    )
    flow = np.full(n, np.nan)
    nc = device == "nasal_cannula"
    flow[nc] = np.round(rng.uniform(0.5, 8.0, nc.sum()) * 2) / 2
    hf = device == "high_flow_nasal_cannula"
    flow[hf] = np.round(rng.uniform(20, 60, hf.sum()))
    fm = device == "facemask"
    flow[fm] = np.round(rng.uniform(5, 10, fm.sum()))
    flow[rng.random(n) < 0.2] = np.nan  # flow not charted
    device_cells = _omit(rng, device, 0.1)
    charted = ~pd.isna(device_cells)  # an omitted device defaults to "none"
    airway = charted & (device == "mechanical_ventilation") & (rng.random(n) < 0.3)
    masked_cells = _omit(rng, masked, 0.05)  # an omitted flag defaults to false
    fever = (temperature >= 38.0) | (masked_cells == True)  # noqa: E712 (object column)
    died = fever & (rng.random(n) < 0.0005)
    return pd.DataFrame(
        {
            "temperature_c": temperature,
            "fever_masked": masked_cells,
            "hypotension": hypotension,
            "vasopressors": _omit(rng, pressors, 0.2),
            "vasopressin": vasopressin,
            "oxygen_device": device_cells,
            "oxygen_flow_l_min": np.where(charted & (device != "none"), flow, np.nan),
            "intubated_for_airway_protection_only": airway,
            "died_of_crs": _omit(rng, died, 0.05),
        }
    )


def icans_rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """ICANS inputs: most ICE 10, a tail of encephalopathy, rare seizures and edema."""
    consciousness = _choice(
        rng,
        n,
        {
            "normal": 0.9,
            "awakens_spontaneously": 0.05,
            "awakens_to_voice": 0.03,
            "awakens_to_tactile": 0.015,
            "unarousable": 0.005,
        },
    )
    ice = rng.choice(11, size=n, p=[0.01] * 7 + [0.04, 0.06, 0.13, 0.70]).astype(np.float64)
    ice[consciousness == "unarousable"] = 0.0
    ice[rng.random(n) < 0.1] = np.nan  # ICE not assessable / not done
    baseline = rng.choice([6, 7, 8, 9, 10], size=n, p=[0.05, 0.1, 0.15, 0.2, 0.5]).astype(float)
    baseline[(rng.random(n) < 0.7) | np.isnan(ice)] = np.nan
    return pd.DataFrame(
        {
            "ice_score": ice,
            "consciousness": _omit(rng, consciousness, 0.1),
            "seizure": _omit(
                rng,
                _choice(
                    rng,
                    n,
                    {"none": 0.99, "resolves_rapidly": 0.008, "prolonged_or_repetitive": 0.002},
                ),
                0.1,
            ),
            "motor": _omit(
                rng, _choice(rng, n, {"none": 0.995, "deep_focal_weakness": 0.005}), 0.1
            ),
            "cerebral_edema": _omit(
                rng, _choice(rng, n, {"none": 0.995, "focal": 0.004, "diffuse": 0.001}), 0.1
            ),
            "baseline_ice_score": baseline,
        }
    )


def _bound_low(spec: FieldSpec) -> float:
    if spec.ge is not None:
        return spec.ge
    if spec.gt is not None:
        return spec.gt + (1.0 if spec.kind == "int" else 1e-3 * max(1.0, abs(spec.gt)))
    return 0.0


def _bound_high(spec: FieldSpec, low: float) -> float:
    if spec.le is not None:
        return spec.le
    if spec.lt is not None:
        return spec.lt - (1.0 if spec.kind == "int" else 1e-3)
    return low + 100.0


def spec_rows(name: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows drawn from the calculator's field specs; rows breaking a check are replaced.

    Numbers uniform over their range (whole numbers for int fields), choices uniform,
    booleans fair, and a tenth of the cells of a field that may be omitted left blank.
    """
    calc = get(name)
    draw = 2 * n
    columns: dict[str, Any] = {}
    for spec in calc.fields:
        blank = (spec.optional or not spec.required) and spec.default is None
        if spec.kind in ("float", "int"):
            low = _bound_low(spec)
            high = _bound_high(spec, low)
            if spec.kind == "int":
                values = rng.integers(math.ceil(low), math.floor(high) + 1, draw)
                values = values.astype(np.float64)
            else:
                values = np.round(rng.uniform(low, high, draw), 2)
                values = np.clip(values, low, high)
        elif spec.kind == "bool":
            values = rng.random(draw) < 0.5
        elif all(type(c) is int for c in spec.choices):
            values = np.asarray(spec.choices, dtype=np.float64)[
                rng.integers(0, len(spec.choices), draw)
            ]
        else:
            values = np.asarray(spec.choices, dtype=object)[
                rng.integers(0, len(spec.choices), draw)
            ]
        if blank or (not spec.required and spec.kind != "bool"):
            values = _omit(rng, values, 0.1)
        columns[spec.name] = values
    frame = pd.DataFrame(columns)
    cols, problems = frame_columns(calc.name, calc.fields, (), frame)
    if problems:
        raise RuntimeError(f"{name}: generated rows do not validate: {problems[:3]}")
    ok = np.ones(draw, dtype=bool)
    for check in calc.checks:
        ok &= ~np.broadcast_to(np.asarray(check.violated(cols), dtype=bool), (draw,))
    valid = np.flatnonzero(ok)
    if len(valid) == 0:
        raise RuntimeError(f"{name}: no generated row passes the cross-field checks")
    picks = valid[rng.integers(0, len(valid), n)]
    return frame.iloc[picks].reset_index(drop=True)


def _records(name: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as `calculate` inputs: blank cells omitted, whole numbers as int."""
    ints = {
        s.name
        for s in get(name).fields
        if s.kind == "int" or (s.choices and all(type(c) is int for c in s.choices))
    }
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, np.generic):
                value = value.item()
            row[str(key)] = int(value) if key in ints else value
        rows.append(row)
    return rows


def _agrees(name: str, frame: pd.DataFrame, graded: pd.DataFrame, loop_rows: int) -> int:
    """Check the frame's answer against `calculate` on the leading rows; how many checked."""
    records = _records(name, frame.iloc[:loop_rows])
    for position, row in enumerate(records):
        expected = calculate(name, row)
        value = graded["value"].iloc[position]
        same = (
            math.isclose(float(value), expected.value, rel_tol=1e-12)
            if isinstance(expected.value, float)
            else value == expected.value
        )
        if not same or graded["label"].iloc[position] != expected.label:
            raise AssertionError(
                f"{name} row {position}: frame {graded.iloc[position]!r}, "
                f"calculate {expected.value!r} {expected.label!r} for {row}"
            )
    return len(records)


# ---- the numpy limits: the same rule, hand-written on the same DataFrame, no validation ----

_CRS_DEVICE = {
    "blow_by": 2, "nasal_cannula": 2, "high_flow_nasal_cannula": 3, "facemask": 3,
    "nonrebreather": 3, "venturi": 3, "cpap": 4, "bipap": 4, "mechanical_ventilation": 4,
}  # fmt: skip


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy() == True  # noqa: E712 - blank (NaN) cells are false


def crs_numpy(frame: pd.DataFrame) -> np.ndarray:
    """ASTCT CRS grade in plain numpy: fever, then the worse of hypotension and hypoxia."""
    t = frame["temperature_c"].to_numpy(dtype=np.float64)
    crs = (t >= 38.0) | _flag(frame, "fever_masked")
    n = np.nan_to_num(frame["vasopressors"].to_numpy(dtype=np.float64))
    pressin = _flag(frame, "vasopressin")
    hypotension = np.where(
        n >= 2, 4, np.where((n >= 1) | pressin, 3, np.where(_flag(frame, "hypotension"), 2, 0))
    )
    device = frame["oxygen_device"].to_numpy()
    hypoxia = np.zeros(len(t), dtype=np.int64)
    for choice, grade in _CRS_DEVICE.items():
        hypoxia[device == choice] = grade
    flow = frame["oxygen_flow_l_min"].to_numpy(dtype=np.float64)
    hypoxia[(device == "nasal_cannula") & (flow > 6.0)] = 3
    hypoxia[_flag(frame, "intubated_for_airway_protection_only")] = 0
    grade = np.maximum(np.maximum(hypotension, hypoxia), 1)
    grade[_flag(frame, "died_of_crs")] = 5
    return np.where(crs, grade, 0)


_ICANS_DOMAINS = {
    "consciousness": {
        "awakens_spontaneously": 1, "awakens_to_voice": 2, "awakens_to_tactile": 3,
        "unarousable": 4,
    },
    "seizure": {"resolves_rapidly": 3, "prolonged_or_repetitive": 4},
    "motor": {"deep_focal_weakness": 4},
    "cerebral_edema": {"focal": 3, "diffuse": 4},
}  # fmt: skip
_ICE_GRADE = np.array([3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 0])


def icans_numpy(frame: pd.DataFrame) -> np.ndarray:
    """ASTCT ICANS grade in plain numpy, baseline-adjusted where a baseline ICE is given."""
    ice = frame["ice_score"].to_numpy(dtype=np.float64)
    ice_int = np.where(np.isnan(ice), 10, ice).astype(np.int64)
    others = np.zeros(len(ice), dtype=np.int64)
    for column, table in _ICANS_DOMAINS.items():
        cells = frame[column].to_numpy()
        for choice, grade in table.items():
            np.maximum(others, np.where(cells == choice, grade, 0), out=others)
    baseline = frame["baseline_ice_score"].to_numpy(dtype=np.float64)
    effective = np.where(
        np.isnan(baseline), ice_int, np.clip(10 - (baseline - ice_int), 0, 10)
    ).astype(np.int64)
    return np.maximum(_ICE_GRADE[effective], others)


LIMITS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "crs": crs_numpy,
    "icans": icans_numpy,
}


def titre_rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Antibody titres as laboratories report them: on the dilution series 1:10, 1:20, ...
    (1:10 × 2^k up to 1:10,240) or negative (0) in a fifth of the samples; uniform numbers
    are almost never on a series, so the field specs cannot generate them."""

    def titres() -> np.ndarray:
        k = rng.integers(0, 11, n)
        return np.where(rng.random(n) < 0.2, 0, 10 * 2**k)

    return pd.DataFrame({"baseline_titre": titres(), "follow_up_titre": titres()})


ROWS: dict[str, Callable[[int, np.random.Generator], pd.DataFrame]] = {
    "crs": crs_rows,
    "icans": icans_rows,
    "titre_change": titre_rows,
}


def _alternate(
    first: Callable[[], Any], second: Callable[[], Any], runs: int
) -> tuple[h.Sample, h.Sample]:
    """CPU seconds of `first` and `second`, run by turns so both see the same machine."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for fn, out in ((first, a), (second, b)):
            start = time.process_time()
            fn()
            out.append(time.process_time() - start)
    return h.sample(a), h.sample(b)


def bench(name: str, frame: pd.DataFrame, loop_rows: int, runs: int, profile: bool) -> None:
    n = len(frame)
    graded = calculate_frame(name, frame)
    checked = _agrees(name, frame, graded, loop_rows)
    limit = LIMITS.get(name)
    if limit is not None:
        exact = limit(frame)
        if not np.array_equal(exact, graded["value"].to_numpy()):
            raise AssertionError(f"{name}: the numpy limit disagrees with calculate_frame")
        frame_s, numpy_s = _alternate(
            lambda: calculate_frame(name, frame), lambda: limit(frame), runs
        )
    else:
        frame_s, _ = h.timed(lambda: calculate_frame(name, frame), runs=runs, cpu=True)
    rate = h.rates(n, frame_s)
    h.at_least(
        "calculators",
        f"{name} calculate_frame ≥ {TARGET_ROWS_PER_S / 1e6:g} M rows/s (one core, {n:,} rows)",
        h.sample([r / 1e6 for r in rate.values]),
        TARGET_ROWS_PER_S / 1e6,
        fmt=".2f",
        unit=" M rows/s",
        baseline=f"agrees with calculate() on {checked:,} rows",
    )
    if limit is not None:
        ratio = h.ratios(frame_s, numpy_s)
        h.at_most(
            "calculators",
            f"{name} frame time ÷ numpy expression of the same rule ≤ {LIMIT_FACTOR:g}",
            ratio,
            LIMIT_FACTOR,
            fmt=".2f",
            unit="×",
            baseline=f"numpy {n / numpy_s.median / 1e6:.1f} M rows/s",
        )
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        calculate_frame(name, frame)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
        print(text.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per calculator")
    parser.add_argument(
        "--loop-rows", type=int, default=2_000, help="rows checked against calculate()"
    )
    parser.add_argument("--runs", type=int, default=h.RUNS)
    parser.add_argument("--seed", type=int, default=20190401)
    parser.add_argument("--only", nargs="*", help="calculators to measure (default: all)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each frame")
    args = parser.parse_args()
    names = [
        name
        for name, calc in REGISTRY.items()
        if calc.vectorized is not None and (not args.only or name in args.only)
    ]
    print(
        f"neurocart calculator benchmark — {len(names)} calculators, {args.rows:,} synthetic "
        f"rows each, seed {args.seed}, {args.runs} runs; one process, CPU time"
    )
    for name in names:
        rng = np.random.default_rng(args.seed)
        make = ROWS.get(name)
        frame = make(args.rows, rng) if make else spec_rows(name, args.rows, rng)
        bench(name, frame, args.loop_rows, args.runs, args.profile)


if __name__ == "__main__":
    main()
