"""The shipped marker panel loads, cites its sources, and covers the cell types the readouts
need; an edited panel with a mistake is refused naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocart.omics import OmicsInputError
from neurocart.omics.panel import LINEAGES, load_panel


def test_the_default_panel_has_every_population_of_the_readouts() -> None:
    panel = load_panel()
    names = {c.name for c in panel.cell_types}
    assert {"CD4 T", "CD8 T", "Treg", "NK", "B naive", "B memory", "plasmablast",
            "plasma cell", "monocyte", "border-associated macrophage", "dendritic cell",
            "erythrocyte", "platelet"} <= names  # fmt: skip
    plasma = {g for c in panel.cell_types if c.lineage == "plasma" for g in c.markers}
    assert {"JCHAIN", "MZB1", "SDC1", "TNFRSF17", "PRDM1"} <= plasma
    assert {p.name for p in panel.phenotypes} == {
        "proliferation",
        "cytotoxicity",
        "exhaustion",
        "memory",
    }
    assert all(c.lineage in LINEAGES for c in panel.cell_types)
    assert all(c.source and c.markers for c in panel.cell_types)


def test_the_shipped_file_cites_each_source_with_a_doi() -> None:
    text = (Path(__file__).parents[2] / "src/neurocart/omics/panels/default.toml").read_text()
    for doi in ("10.1016/j.cell.2021.04.048", "10.1038/s41467-019-14118-w",
                "10.1038/s41392-022-01278-3", "10.1126/science.aad0501",
                "10.1016/j.cell.2017.05.035", "10.1016/j.cell.2018.10.038"):  # fmt: skip
        assert doi in text


def test_an_edited_panel_is_used(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[panel]\nmin_score = 1.5\n[[cell_type]]\nname = "T"\nlineage = "T"\n'
        'markers = ["CD3E"]\nsource = "local"\n'
    )
    panel = load_panel(path)
    assert [c.name for c in panel.cell_types] == ["T"]
    assert panel.min_score == 1.5


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            '[[cell_type]]\nname = "X"\nlineage = "alien"\nmarkers = ["A"]\nsource = "s"\n',
            "lineage",
        ),
        ('[[cell_type]]\nname = "X"\nlineage = "T"\nmarkers = []\nsource = "s"\n', "markers"),
        ('[[cell_type]]\nname = "X"\nlineage = "T"\nmarkers = ["A"]\n', "source"),
        ("[panel]\n", "names no [[cell_type]]"),
        ("[[cell_type]\n", "not valid TOML"),
    ],
)
def test_a_broken_panel_names_the_entry(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(OmicsInputError, match=words.replace("[", r"\[")):
        load_panel(path)
