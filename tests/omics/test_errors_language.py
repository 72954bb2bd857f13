"""The pipeline's input errors past the sample sheet (a matrix, contigs, a marker panel, the
CAR feature, the grouping column, the file given to `omics summarize`) in Chinese: each said
by its key (`neurocart.omics.errors.MESSAGES`), the field, the file and the value kept;
English unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from neurocart import i18n
from neurocart.cli import app
from neurocart.omics import OmicsInputError
from tests.consoles import wide_consoles
from tests.omics.conftest import needs_extra

CJK = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_and_english_after() -> Iterator[None]:
    with wide_consoles(240):
        yield


def chinese(error: OmicsInputError) -> str:
    with i18n.using("zh_CN"):
        return i18n.error_text(error)


@pytest.mark.parametrize(
    ("body", "english", "said"),
    [
        (
            '[[cell_type]]\nname = "X"\nlineage = "alien"\nmarkers = ["A"]\nsource = "s"\n',
            "'alien' is not one of ('T', 'NK',",
            "cell_type[0].lineage：'alien' 不是 ('T', 'NK',",
        ),
        (
            '[[cell_type]]\nname = "X"\nlineage = "T"\nmarkers = []\nsource = "s"\n',
            "must be a non-empty list of gene names",
            "cell_type[0].markers：必须是非空的基因名称列表",
        ),
        (
            '[[cell_type]]\nname = "X"\nlineage = "T"\nmarkers = ["A"]\n',
            "must be a non-empty string",
            "cell_type[0].source：必须是非空字符串",
        ),
        ("[panel]\n", "names no [[cell_type]]", "panel bad.toml：未列出任何 [[cell_type]]"),
        ("[[cell_type]\n", "not valid TOML: ", "panel bad.toml：不是有效的 TOML："),
        (
            '[panel]\nmin_score = "high"\n[[cell_type]]\nname = "X"\nlineage = "T"\n'
            'markers = ["A"]\nsource = "s"\n',
            "panel.min_score: must be a number",
            "panel.min_score：必须是数字",
        ),
        (
            '[[cell_type]]\nname = "unassigned"\nlineage = "T"\nmarkers = ["A"]\nsource = "s"\n',
            "must be unique and not 'unassigned'",
            "细胞类型名称必须唯一，且不能为 'unassigned'",
        ),
    ],
)
def test_a_broken_panel_is_said_in_chinese(
    tmp_path: Path, body: str, english: str, said: str
) -> None:
    from neurocart.omics.panel import load_panel

    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(OmicsInputError) as caught:
        load_panel(path)
    assert english in str(caught.value)
    shown = chinese(caught.value)
    assert said in shown, shown
    with pytest.raises(OmicsInputError) as missing:
        load_panel(tmp_path / "none.toml")
    assert chinese(missing.value) == f"panel：文件不存在：{tmp_path / 'none.toml'}"


def _adata():  # type: ignore[no-untyped-def]
    import anndata as ad

    x = sp.csr_matrix(np.array([[5.0, 0.0], [5.0, 3.0]]))
    return ad.AnnData(X=x, obs=pd.DataFrame(index=["c0", "c1"]),
                      var=pd.DataFrame(index=["CD3E", "CAR"]))  # fmt: skip


@needs_extra
def test_a_matrix_the_car_feature_and_the_grouping_column_are_said_in_chinese(
    tmp_path: Path,
) -> None:
    from neurocart.omics.annotate import annotate
    from neurocart.omics.car import detect_car
    from neurocart.omics.panel import load_panel
    from neurocart.omics.readers import read_contigs, read_expression

    with pytest.raises(OmicsInputError) as caught:
        read_expression(tmp_path / "matrix.loom")
    assert chinese(caught.value) == "gex：matrix.loom：应为 10x .h5、mtx 文件夹、.h5ad 或 .h5mu"
    broken = tmp_path / "broken.h5ad"
    broken.write_text("not hdf5")
    with pytest.raises(OmicsInputError) as caught:
        read_expression(broken)
    assert chinese(caught.value).startswith(f"gex：无法读取 {broken}：")
    with pytest.raises(OmicsInputError) as caught:
        read_contigs(tmp_path / "contigs.txt")
    assert chinese(caught.value) == "contigs：contigs.txt：应为 10x contig 注释（.csv）或 AIRR .tsv"
    with pytest.raises(OmicsInputError) as caught:
        detect_car(_adata(), "BCMA-CAR")
    assert chinese(caught.value) == (
        "car_feature：'BCMA-CAR' 不是矩阵中的特征（请将其加入参考基因组）"
    )
    assert "is not a feature of the matrix" in str(caught.value)
    with pytest.raises(OmicsInputError) as caught:
        detect_car(_adata(), "CAR", min_umi=0)
    assert chinese(caught.value) == "car_min_umi：必须至少为 1"
    with pytest.raises(OmicsInputError) as caught:
        annotate(_adata(), load_panel(), by="leiden")
    assert chinese(caught.value) == "annotate_by：'leiden' 不是细胞的列（例如 leiden）"


@needs_extra
def test_omics_summarize_refuses_a_file_and_a_tissue_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("x\n")
    result = runner.invoke(app, ["--lang", "zh_CN", "omics", "summarize", str(path)])
    assert result.exit_code == 2
    flat = "".join(result.output.split())
    assert f"file：{path}：应为已存在的.h5ad文件" in flat, result.output
    result = runner.invoke(
        app, ["--lang", "zh_CN", "omics", "summarize", str(path), "--tissue", "urine"]
    )
    assert result.exit_code == 2
    assert "tissue：'urine' 不是 csf、blood、product 之一" in result.output, result.output
    i18n.activate("en")
    result = runner.invoke(app, ["omics", "summarize", str(path)])
    assert result.exit_code == 2
    assert "expected an existing .h5ad file" in " ".join(result.output.split()), result.output
    assert not CJK.search(result.output)
