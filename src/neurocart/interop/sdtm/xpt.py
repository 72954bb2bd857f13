"""SAS transport (XPT) version 5 files, with the format's limits checked before writing.

The FDA's Study Data Technical Conformance Guide requires SAS transport version 5 for
submitted datasets, whose format allows dataset and variable names of at most 8 characters
(letters, digits, underscore; not starting with a digit), labels of at most 40 characters and
character values of at most 200 bytes; the FDA also requires ASCII. A dataset that breaks one
of these is refused with `XptLimitError` naming the dataset, the variable and the row — never
truncated silently. Files are written with pyreadstat (ReadStat).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyreadstat

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
MAX_LABEL = 40
MAX_VALUE = 200


DATASET_NAME = "dataset name must be 1–8 characters [A-Z][A-Z0-9_]*"
VARIABLE_NAME = "variable name must be 1–8 characters [A-Z][A-Z0-9_]*"
VALUE_NOT_ASCII = "value is not ASCII: {value}"
VALUE_TOO_LONG = "value is {n} bytes; at most {limit} (split it into SUPP--)"
LABEL_TOO_LONG = "label is {n} characters; at most {limit}"
LABEL_NOT_ASCII = "label is not ASCII: {label}"
ROWS_LOST = (
    "written with {n} rows but a transport reader sees {seen}: the last record is shorter than "
    "80 bytes and ends in blanks"
)
MESSAGES = tuple(
    "{where}: " + key
    for key in (
        DATASET_NAME, VARIABLE_NAME, VALUE_NOT_ASCII, VALUE_TOO_LONG, LABEL_TOO_LONG,
        LABEL_NOT_ASCII, ROWS_LOST,
    )
)  # fmt: skip
"""The transport limits' refusals as message keys (an XptLimitError says "{where}: " and the
message), like `neurocart.store.errors.MESSAGES`."""


class XptLimitError(ValueError):
    """A dataset breaks a SAS transport v5 limit; `where` names dataset.variable[row]."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def check_limits(name: str, frame: pd.DataFrame, labels: Mapping[str, str], label: str) -> None:
    """Raise XptLimitError for the first breach of the v5 limits (names, labels, values)."""
    if not NAME.match(name):
        raise XptLimitError(name, DATASET_NAME)
    _label(name, label)
    for column in frame.columns:
        where = f"{name}.{column}"
        if not NAME.match(str(column)):
            raise XptLimitError(where, VARIABLE_NAME)
        _label(where, labels.get(str(column), ""))
        if frame[column].dtype == object:
            for i, value in enumerate(frame[column]):
                text = "" if value is None else str(value)
                if not text.isascii():
                    raise XptLimitError(f"{where}[{i}]", VALUE_NOT_ASCII.format(value=repr(text)))
                if len(text.encode("ascii")) > MAX_VALUE:
                    raise XptLimitError(
                        f"{where}[{i}]", VALUE_TOO_LONG.format(n=len(text), limit=MAX_VALUE)
                    )


def _label(where: str, label: str) -> None:
    if len(label) > MAX_LABEL:
        raise XptLimitError(where, LABEL_TOO_LONG.format(n=len(label), limit=MAX_LABEL))
    if not label.isascii():
        raise XptLimitError(where, LABEL_NOT_ASCII.format(label=repr(label)))


def write_xpt(
    path: Path, name: str, frame: pd.DataFrame, labels: Mapping[str, str], label: str
) -> None:
    """Check the limits, then write `frame` as the v5 transport file `path` (member `name`)."""
    check_limits(name, frame, labels, label)
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=label,
        column_labels=[labels.get(str(c), "") for c in frame.columns],
        table_name=name,
        file_format_version=5,
    )
    # SAS transport pads the last 80-byte card with blanks, so a reader that infers the row
    # count from the file size (pandas does) loses a final short record ending in blanks.
    # Refuse to leave such a file behind rather than let a reviewer's tool drop a row.
    back = len(pd.read_sas(path, format="xport", encoding="ascii"))
    if back != len(frame):
        path.unlink()
        raise XptLimitError(name, ROWS_LOST.format(n=len(frame), seen=back))
