"""Fonts of the matplotlib figures: DejaVu Sans, with a CJK font behind it for Chinese.

matplotlib (3.6+) falls back glyph by glyph along `font.family`, so a Chinese axis label
or caption renders in Noto Sans CJK (Debian `fonts-noto-cjk`) while digits and Latin text keep
DejaVu Sans. Without a CJK font installed the list is left alone (Chinese glyphs would show as
boxes; `make system-deps` installs it).
"""

from __future__ import annotations

import matplotlib
from matplotlib import font_manager

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC")
"""Installed by fonts-noto-cjk; one .ttc holds all of them, SC is asked for first."""


def cjk_family() -> str | None:
    """The first CJK family matplotlib can find, or None. A font installed after matplotlib
    built its font cache is looked up on the system once and added."""
    family = _known()
    if family is None:
        for path in font_manager.findSystemFonts():
            if "NotoSansCJK" in path.replace("-", ""):
                font_manager.fontManager.addfont(path)
        family = _known()
    return family


def _known() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


def configure() -> None:
    """Put the CJK family right after DejaVu Sans in matplotlib's sans-serif list."""
    family = cjk_family()
    if family is None:
        return
    current = [f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
    head = [f for f in current if f == "DejaVu Sans"] or ["DejaVu Sans"]
    rest = [f for f in current if f != "DejaVu Sans"]
    matplotlib.rcParams["font.sans-serif"] = [*head, family, *rest]
    # matplotlib falls back along font.family (a generic name counts as one font), so the CJK
    # family is named there too
    matplotlib.rcParams["font.family"] = ["sans-serif", family]
