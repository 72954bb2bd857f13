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


class XptLimitError(ValueError):
    """A dataset breaks a SAS transport v5 limit; `where` names dataset.variable[row]."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def check_limits(name: str, frame: pd.DataFrame, labels: Mapping[str, str], label: str) -> None:
    """Raise XptLimitError for the first breach of the v5 limits (names, labels, values)."""
    if not NAME.match(name):
        raise XptLimitError(name, "dataset name must be 1–8 characters [A-Z][A-Z0-9_]*")
    _label(name, label)
    for column in frame.columns:
        where = f"{name}.{column}"
        if not NAME.match(str(column)):
            raise XptLimitError(where, "variable name must be 1–8 characters [A-Z][A-Z0-9_]*")
        _label(where, labels.get(str(column), ""))
        if frame[column].dtype == object:
            for i, value in enumerate(frame[column]):
                text = "" if value is None else str(value)
                if not text.isascii():
                    raise XptLimitError(f"{where}[{i}]", f"value is not ASCII: {text!r}")
                if len(text.encode("ascii")) > MAX_VALUE:
                    raise XptLimitError(
                        f"{where}[{i}]",
                        f"value is {len(text)} bytes; at most {MAX_VALUE} (split it into SUPP--)",
                    )


def _label(where: str, label: str) -> None:
    if len(label) > MAX_LABEL:
        raise XptLimitError(where, f"label is {len(label)} characters; at most {MAX_LABEL}")
    if not label.isascii():
        raise XptLimitError(where, f"label is not ASCII: {label!r}")


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
        raise XptLimitError(
            name,
            f"written with {len(frame)} rows but a transport reader sees {back}: the last "
            "record is shorter than 80 bytes and ends in blanks",
        )
