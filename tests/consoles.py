"""The command line's consoles made wide for a test, and the process back in English after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neurocart import i18n
from neurocart.cli.console import err, out


@contextmanager
def wide_consoles(width: int) -> Iterator[None]:
    """`out` and `err` `width` columns wide (rich folds less, so a text is found on one line);
    afterwards their widths as before and the process in English (a run with --lang zh_CN
    switches it)."""
    widths = out._width, err._width
    out.width = err.width = width
    try:
        yield
    finally:
        out._width, err._width = widths
        i18n.activate("en")
