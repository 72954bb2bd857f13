"""Per-sample readouts on a cell table small enough to count by hand, and the comparison
across patients (one proportion per patient, exact Wilcoxon, the small-n caveat)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurocart.omics.readouts import (
    COLUMNS,
    caveat,
    compare_patients,
    paired_comparison,
    sample_readouts,
)


def _cells() -> pd.DataFrame:
    rows = []

    def add(sample: str, patient: str, tissue: str, day: int, lineage: str, car: bool = False,
            clone: str | None = None, receptor: str = "TCR", n: int = 1) -> None:  # fmt: skip
        for _ in range(n):
            rows.append({"sample_id": sample, "study_id": patient, "tissue": tissue,
                         "study_day": day, "lineage": lineage, "cell_type": lineage,
                         "car_positive": car, "clone_id": clone,
                         "receptor_type": receptor if clone else "no IR"})  # fmt: skip

    pre = ("A_pre", "A", "blood", -5)
    for c in ("c1", "c2", "c3", None):
        add(*pre, "T", clone=c)
    add(*pre, "B", n=1)
    add(*pre, "B", clone="b1", receptor="BCR")
    add(*pre, "plasma")
    add(*pre, "myeloid", n=2)
    add(*pre, "contaminant")
    d7 = ("A_b7", "A", "blood", 7)
    add(*d7, "T", car=True, clone="k1", n=2)
    add(*d7, "T", clone="e1")
    add(*d7, "T")
    add(*d7, "myeloid", n=2)
    csf = ("A_c7", "A", "csf", 7)
    add(*csf, "T", car=True, clone="k1")
    add(*csf, "T", clone="e1")
    add(*csf, "T", clone="e2", n=2)
    add(*csf, "T")
    prod = ("A_prod", "A", "product", 0)
    add(*prod, "T", car=True, clone="k1")
    add(*prod, "T", clone="p1")
    add("B_b7", "B", "blood", 7, "myeloid", n=3)
    return pd.DataFrame(rows)


def test_readouts_count_as_defined() -> None:
    table = sample_readouts(_cells()).set_index("sample_id")
    assert list(table.reset_index().columns) == list(COLUMNS)
    pre, b7, c7, prod = (table.loc[s] for s in ("A_pre", "A_b7", "A_c7", "A_prod"))
    assert pre["n_cells"] == 10
    assert pre["car_pct_of_t"] == 0.0
    assert pre["b_cell_pct"] == pytest.approx(100 * 2 / 9)  # the erythrocyte is not a leukocyte
    assert pre["plasma_cell_pct"] == pytest.approx(100 * 1 / 9)
    assert pre["expanded_clone_pct"] == 0.0  # three singleton TCRs; the BCR is not counted
    assert math.isnan(pre["product_overlap_pct"])  # before the infusion
    assert b7["car_pct_of_t"] == 50.0
    assert b7["expanded_clone_pct"] == pytest.approx(100 * 2 / 3)
    assert b7["product_overlap_pct"] == pytest.approx(100 * 2 / 3)
    assert c7["car_pct_of_t"] == 20.0
    assert c7["csf_blood_car_ratio"] == pytest.approx(0.4)
    assert c7["csf_blood_overlap_pct"] == 50.0  # k1 and e1 of k1, e1, e2, e2
    assert c7["product_overlap_pct"] == 25.0
    assert c7["expanded_clone_pct"] == 50.0  # e2 twice
    assert prod["car_pct_of_t"] == 50.0
    assert math.isnan(b7["csf_blood_car_ratio"])


def test_an_empty_denominator_is_empty_not_zero() -> None:
    row = sample_readouts(_cells()).set_index("sample_id").loc["B_b7"]
    assert row["n_t_cells"] == 0
    assert math.isnan(row["car_pct_of_t"])
    assert math.isnan(row["expanded_clone_pct"])
    assert row["b_cell_pct"] == 0.0


def test_no_ratio_when_blood_has_no_car_cells() -> None:
    cells = _cells()
    cells.loc[cells["sample_id"] == "A_b7", "car_positive"] = False
    row = sample_readouts(cells).set_index("sample_id").loc["A_c7"]
    assert math.isnan(row["csf_blood_car_ratio"])
    assert row["csf_blood_overlap_pct"] == 50.0


def _readouts(b_before: list[float], b_after: list[float]) -> pd.DataFrame:
    rows = []
    for i, (a, b) in enumerate(zip(b_before, b_after, strict=True)):
        for day, value in ((-5, a), (28, b)):
            rows.append({"sample_id": f"P{i}_{day}", "study_id": f"P{i}", "tissue": "blood",
                         "study_day": day, "b_cell_pct": value, "plasma_cell_pct": value / 10,
                         "car_pct_of_t": 0.0 if day < 0 else 10.0 + i})  # fmt: skip
        rows.append({"sample_id": f"P{i}_csf", "study_id": f"P{i}", "tissue": "csf",
                     "study_day": 28, "b_cell_pct": 0.0, "plasma_cell_pct": 0.0,
                     "car_pct_of_t": 20.0 + i})  # fmt: skip
    return pd.DataFrame(rows)


def test_comparisons_take_one_value_per_patient() -> None:
    found = {c.measure: c for c in compare_patients(_readouts([20, 15, 18], [0, 1, 0.5]))}
    b = found["blood b_cell_pct"]
    assert (b.n_patients, b.median_a, b.median_b) == (3, 18.0, 0.5)
    assert b.p_value == pytest.approx(0.25)  # the floor for 3 pairs, two-sided, exact
    assert "only 3 patient(s)" in b.caveat
    assert "never cells as replicates" in b.caveat
    car = found["car_pct_of_t"]
    assert (car.label_a, car.median_a, car.median_b) == ("CSF", 21.0, 11.0)
    assert "caveat" in car.text()


def test_the_caveat_goes_away_with_enough_patients() -> None:
    rng = np.random.default_rng(1)
    before = list(rng.uniform(10, 20, 12))
    c = paired_comparison(pd.Series(before), pd.Series([0.0] * 12), "b", "before", "after")
    assert c.caveat == ""
    assert c.p_value is not None
    assert c.p_value < 0.001
    assert caveat(1).startswith("only 1 patient(s)")


def test_identical_arms_or_one_patient_give_no_p_value() -> None:
    assert (
        paired_comparison(pd.Series([1.0, 2.0]), pd.Series([1.0, 2.0]), "m", "a", "b").p_value
        is None
    )
    assert paired_comparison(pd.Series([1.0]), pd.Series([0.0]), "m", "a", "b").p_value is None


def test_the_run_page_reads_in_chinese(tmp_path: Path) -> None:
    """The page of `neurocart --lang zh_CN omics run`: headings, summary, captions, the
    comparisons and their caveat in Chinese; column names and study IDs as they are."""
    from types import SimpleNamespace

    from neurocart import i18n
    from neurocart.omics.page import write_page
    from neurocart.omics.readouts import paired_comparison

    readouts = pd.DataFrame(
        {"study_id": ["NC-1", "NC-1"], "tissue": ["blood", "csf"], "study_day": [-3, 14],
         "car_pct_of_t": [0.0, 12.5]}
    )  # fmt: skip
    before, after = pd.Series({"NC-1": 4.0}), pd.Series({"NC-1": 0.5})
    comparison = paired_comparison(before, after, "blood b_cell_pct", "before", "after")
    result = SimpleNamespace(
        readouts=readouts, comparisons=[comparison], missing_genes=[],
        adata=SimpleNamespace(n_obs=1200),
    )  # fmt: skip
    picture = tmp_path / "figures" / "car_csf_blood.png"
    with i18n.using("zh_CN"):
        page = write_page(tmp_path / "index.html", result, {"car_csf_blood": picture})  # type: ignore[arg-type]
    text = page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text
    assert "<h1>单细胞读数</h1>" in text
    assert "质控后 1200 个细胞，2 个样本，1 名患者" in text
    assert "各研究日脑脊液与血液中 CAR+ 细胞占 T 细胞 %" in text
    assert "blood b_cell_pct：回输前 中位数 4，回输后 中位数 0.5" in text
    assert "Wilcoxon 符号秩检验（精确法）" in text
    assert "注意：" in text
    assert "car_pct_of_t" in text
    assert "NC-1" in text
    assert "cells after quality control" not in text


def test_the_run_figures_read_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from neurocart import i18n
    from neurocart.omics import figures

    drawn: list[Figure] = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig) or path)
    readouts = pd.DataFrame(
        {"study_id": ["NC-1", "NC-1"], "tissue": ["blood", "csf"], "study_day": [-3, 14],
         "car_pct_of_t": [0.0, 12.5], "b_cell_pct": [4.0, 0.5], "plasma_cell_pct": [1.0, 0.1]}
    )  # fmt: skip
    with i18n.using("zh_CN"):
        figures.car_csf_blood(readouts, tmp_path / "a.png")
        figures.b_plasma_fractions(readouts, tmp_path / "b.png")
    car, fractions = (fig.axes[0] for fig in drawn)
    for fig in drawn:
        plt.close(fig)
    assert car.get_title() == "CAR+ 细胞占 T 细胞 %：脑脊液与血液对比"
    assert car.get_xlabel() == "研究日（0 = 回输）"
    assert fractions.get_title() == "B 细胞，占白细胞 %"
