"""Numbers typed at the bedside: a decimal comma is read or refused, never misread.

Ward staff in much of Europe and Asia type "38,5" for 38.5. A browser's number input drops
or mangles that (it reached the server as 385, or as nothing), so the forms take numbers as
text and read them here, once, for the live preview and the save alike:

>>> read_number("38,5").value, read_number("38,5").note
(38.5, 'read “38,5” as 38.5 (decimal comma)')
>>> read_number("1,500").error
'“1,500” is ambiguous: 1.500 or 1500? Type it with a decimal point, without separators'
>>> read_number("12", integer=True).value
12
>>> read_number("abc").error
'expected a number, got “abc”'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from neurocart.i18n import gettext as _

_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclass(frozen=True, slots=True)
class Number:
    """The value read (None when blank or refused), the refusal, or a note on how it was read."""

    value: float | int | None
    error: str | None = None
    note: str | None = None

    @property
    def blank(self) -> bool:
        return self.value is None and self.error is None


def read_number(text: str | None, *, integer: bool = False) -> Number:
    """Read `text` as a number (an int when `integer`); blank is `Number(None)`."""
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        return Number(None)
    note = None
    if _COMMA.match(raw):
        whole, frac = raw.lstrip("+-").split(",")
        if len(frac) == 3 and whole != "0":  # 1,500: a thousands separator or a decimal?
            return Number(
                None,
                _(
                    "“{text}” is ambiguous: {point} or {whole}? Type it with a decimal point, "
                    "without separators"
                ).format(text=text, point=raw.replace(",", "."), whole=raw.replace(",", "")),
            )
        fixed = raw.replace(",", ".")
        note = _("read “{text}” as {fixed} (decimal comma)").format(text=text, fixed=fixed)
        raw = fixed
    elif "," in raw:
        return Number(
            None, _("“{text}”: use one decimal point and no thousands separators").format(text=text)
        )
    if not _PLAIN.match(raw):
        return Number(None, _("expected a number, got “{text}”").format(text=text))
    value = float(raw)
    if not math.isfinite(value):
        return Number(None, _("expected a number, got “{text}”").format(text=text))
    if integer:
        if value != int(value):
            return Number(None, _("expected a whole number, got “{text}”").format(text=text))
        return Number(int(value), None, note)
    return Number(value, None, note)
