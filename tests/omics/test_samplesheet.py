"""The sample sheet: good rows are read with resolved paths; a bad one names row and column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from neurocart.omics import OmicsInputError, Tissue, read_samplesheet

HEADER = "sample_id,study_id,tissue,study_day,gex,contigs,collected_at\n"


def _sheet(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    (tmp_path / "a.h5").write_bytes(b"")
    (tmp_path / "c.csv").write_text("")
    path = tmp_path / "sheet.csv"
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def test_a_good_sheet_resolves_paths_and_types(tmp_path: Path) -> None:
    sheet = read_samplesheet(_sheet(
        tmp_path,
        "S1,NC-001,CSF,7,a.h5,c.csv,2025-03-10T09:30:00+08:00",
        "S2,NC-001,blood,-5,a.h5,,",
        "S3,NC-002,product,0,a.h5,,",
    ))  # fmt: skip
    assert len(sheet) == 3
    first, second, _ = sheet
    assert first.tissue is Tissue.CSF
    assert first.study_day == 7
    assert first.gex == tmp_path / "a.h5"
    assert first.contigs == tmp_path / "c.csv"
    assert first.collected_at == datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    assert second.contigs is None
    assert second.collected_at is None
    assert second.study_day == -5
    assert sheet.patients() == ["NC-001", "NC-002"]


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("S1,NC-001,saliva,7,a.h5,,", "row 2: tissue", "not one of csf, blood, product"),
        ("S1,NC-001,csf,seven,a.h5,,", "row 2: study_day", "not an integer"),
        ("S1,NC-001,csf,7,missing.h5,,", "row 2: gex", "no such file"),
        ("S1,NC-001,csf,7,,,", "row 2: gex", "must not be empty"),
        ("S1,,csf,7,a.h5,,", "row 2: study_id", "must not be empty"),
        ("S 1,NC-001,csf,7,a.h5,,", "row 2: sample_id", "letters, digits"),
        ("S1,NC-001,csf,7,a.h5,nope.csv,", "row 2: contigs", "no such file"),
        ("S1,NC-001,csf,7,a.h5,,2025-03-10T09:30", "row 2: collected_at", "time zone"),
        ("S1,NC-001,csf,7,a.h5,,yesterday", "row 2: collected_at", "ISO 8601"),
    ],
)
def test_a_bad_row_names_its_row_and_column(
    tmp_path: Path, row: str, field: str, words: str
) -> None:
    with pytest.raises(OmicsInputError) as caught:
        read_samplesheet(_sheet(tmp_path, row))
    assert caught.value.field == field
    assert words in caught.value.message


def test_duplicates_missing_and_unknown_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OmicsInputError, match="row 3: sample_id: duplicate 'S1'"):
        read_samplesheet(_sheet(tmp_path, "S1,P,csf,7,a.h5,,", "S1,P,blood,7,a.h5,,"))
    with pytest.raises(OmicsInputError, match=r"missing column.*tissue"):
        read_samplesheet(
            _sheet(tmp_path, "S1,P,7,a.h5", header="sample_id,study_id,study_day,gex\n")
        )
    with pytest.raises(OmicsInputError, match=r"unknown column.*donor"):
        read_samplesheet(
            _sheet(
                tmp_path,
                "S1,P,csf,7,a.h5,x",
                header="sample_id,study_id,tissue,study_day,gex,donor\n",
            )
        )
    with pytest.raises(OmicsInputError, match="no samples"):
        read_samplesheet(_sheet(tmp_path))
    with pytest.raises(OmicsInputError, match="no such file"):
        read_samplesheet(tmp_path / "absent.csv")
