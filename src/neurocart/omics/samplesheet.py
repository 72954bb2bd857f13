"""The sample sheet: one row per sample = patient × tissue × study day, and where its files are.

A CSV with a header::

    sample_id,study_id,tissue,study_day,gex,contigs,collected_at
    P01_B_m5,NC-001,blood,-5,P01_B_m5/filtered_feature_bc_matrix.h5,P01_B_m5/contigs.csv,
    P01_CSF_d7,NC-001,csf,7,P01_CSF_d7/filtered_feature_bc_matrix/,P01_CSF_d7/airr.tsv,

- ``sample_id``: unique, letters, digits, ``_``, ``-``, ``.``; it prefixes the cell barcodes.
- ``study_id``: the patient's study ID in neurocart (links the readouts to the record).
- ``tissue``: ``csf``, ``blood`` or ``product`` (the infusion product).
- ``study_day``: an integer, the day relative to the CAR-T infusion (day 0; the day before
  is -1). The product is usually given day 0.
- ``gex``: Cell Ranger's ``filtered_feature_bc_matrix.h5``, its ``filtered_feature_bc_matrix/``
  folder (matrix.mtx.gz, features.tsv.gz, barcodes.tsv.gz), an ``.h5ad`` or an ``.h5mu``.
- ``contigs`` (optional): ``filtered_contig_annotations.csv`` (10x VDJ) or an AIRR
  rearrangement ``.tsv`` (TCR and/or BCR); empty when the h5mu/h5ad already carries AIRR data
  or no VDJ library was sequenced.
- ``collected_at`` (optional): when sampled, ISO 8601 with a time zone; when empty the
  stored readout is dated from the infusion date and the study day.

Relative paths are taken from the sheet's folder. Pure (pandas only): reading a sheet needs no
scanpy, so a bad sheet is refused before anything heavy is imported.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from neurocart.omics.errors import OmicsInputError

NO_FILE = "no such file: {path}"
NOT_CSV = "not a readable CSV: {error}"
MISSING_COLUMNS = "missing column(s): {columns}"
UNKNOWN_COLUMNS = "unknown column(s): {columns}"
NO_SAMPLES = "no samples"
DUPLICATE = "duplicate {value}"
SAMPLE_ID = "{value} must be 1–64 letters, digits, _ - ."
NOT_EMPTY = "must not be empty"
NOT_A_TISSUE = "{value} is not one of csf, blood, product"
NOT_AN_INTEGER = "{value} is not an integer"
NOT_A_TIME = "{value} is not an ISO 8601 time"
NEEDS_ZONE = "needs a time zone (e.g. +08:00)"
NO_FILE_OR_FOLDER = "no such file or folder: {path}"
MESSAGES = (
    NO_FILE, NOT_CSV, MISSING_COLUMNS, UNKNOWN_COLUMNS, NO_SAMPLES, DUPLICATE, SAMPLE_ID,
    NOT_EMPTY, NOT_A_TISSUE, NOT_AN_INTEGER, NOT_A_TIME, NEEDS_ZONE, NO_FILE_OR_FOLDER,
)  # fmt: skip
"""What is wrong with a sample sheet, as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): `neurocart omics` says them in its reader's language
(`neurocart.i18n.error_text`), the column, the row and the value given kept."""

REQUIRED = ("sample_id", "study_id", "tissue", "study_day", "gex")
OPTIONAL = ("contigs", "collected_at")
_SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class Tissue(enum.StrEnum):
    """Where a sample came from: CSF, blood, or the infused product."""

    CSF = "csf"
    BLOOD = "blood"
    PRODUCT = "product"


@dataclass(frozen=True, slots=True)
class Sample:
    """One row of the sheet, with paths resolved."""

    sample_id: str
    study_id: str
    tissue: Tissue
    study_day: int
    gex: Path
    contigs: Path | None = None
    collected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SampleSheet:
    """The samples of one sheet, in file order."""

    samples: tuple[Sample, ...]
    path: Path | None = None

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)

    def patients(self) -> list[str]:
        """Study IDs in order of first appearance."""
        return list(dict.fromkeys(s.study_id for s in self.samples))


def read_samplesheet(path: str | Path, *, check_files: bool = True) -> SampleSheet:
    """Read and check a sample sheet; OmicsInputError naming the row and column if bad."""
    path = Path(path)
    if not path.is_file():
        raise OmicsInputError("samplesheet", NO_FILE.format(path=path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise OmicsInputError("samplesheet", NOT_CSV.format(error=exc)) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise OmicsInputError("samplesheet", MISSING_COLUMNS.format(columns=", ".join(missing)))
    unknown = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise OmicsInputError("samplesheet", UNKNOWN_COLUMNS.format(columns=", ".join(unknown)))
    if frame.empty:
        raise OmicsInputError("samplesheet", NO_SAMPLES)
    base = path.parent
    samples = [
        _sample({str(k): str(v) for k, v in row.items()}, f"row {i + 2}", base, check_files)
        for i, row in enumerate(frame.to_dict("records"))
    ]
    seen: set[str] = set()
    for i, s in enumerate(samples):
        if s.sample_id in seen:
            raise OmicsInputError(
                f"row {i + 2}: sample_id", DUPLICATE.format(value=repr(s.sample_id))
            )
        seen.add(s.sample_id)
    return SampleSheet(tuple(samples), path)


def _sample(row: dict[str, str], where: str, base: Path, check_files: bool) -> Sample:
    def text(name: str) -> str:
        return str(row.get(name, "") or "").strip()

    sample_id = text("sample_id")
    if not _SAMPLE_ID.match(sample_id):
        raise OmicsInputError(f"{where}: sample_id", SAMPLE_ID.format(value=repr(sample_id)))
    study_id = text("study_id")
    if not study_id:
        raise OmicsInputError(f"{where}: study_id", NOT_EMPTY)
    try:
        tissue = Tissue(text("tissue").lower())
    except ValueError:
        raise OmicsInputError(
            f"{where}: tissue", NOT_A_TISSUE.format(value=repr(text("tissue")))
        ) from None
    try:
        day = int(text("study_day"))
    except ValueError:
        raise OmicsInputError(
            f"{where}: study_day", NOT_AN_INTEGER.format(value=repr(text("study_day")))
        ) from None
    gex = _path(base, text("gex"), f"{where}: gex", check_files, required=True)
    assert gex is not None
    contigs = _path(base, text("contigs"), f"{where}: contigs", check_files, required=False)
    collected = None
    if text("collected_at"):
        try:
            collected = datetime.fromisoformat(text("collected_at"))
        except ValueError:
            raise OmicsInputError(
                f"{where}: collected_at", NOT_A_TIME.format(value=repr(text("collected_at")))
            ) from None
        if collected.tzinfo is None:
            raise OmicsInputError(f"{where}: collected_at", NEEDS_ZONE)
    return Sample(sample_id, study_id, tissue, day, gex, contigs, collected)


def _path(base: Path, value: str, field: str, check: bool, *, required: bool) -> Path | None:
    if not value:
        if required:
            raise OmicsInputError(field, NOT_EMPTY)
        return None
    path = Path(value)
    if not path.is_absolute():
        path = base / path
    if check and not path.exists():
        raise OmicsInputError(field, NO_FILE_OR_FOLDER.format(path=path))
    return path
