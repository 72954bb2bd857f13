"""How the headline tables read on paper and on the Cohort page: labels, units, number formats.

The CSVs keep the raw numbers; this is presentation only, in one place for the report and the
web page. Conventions: probabilities as percentages with one decimal, months with one
decimal, hazard and odds ratios with two, p-values with three (``< 0.001`` below), counts as
integers, biological levels to three significant figures with thousands separators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from neurocart.i18n import N_
from neurocart.i18n import gettext as _

Row = Mapping[str, Any]
DASH = "—"


def _missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fixed(x: Any, digits: int = 1) -> str:
    """`x` with `digits` decimals; a minus sign, not a hyphen."""
    if _missing(x):
        return DASH
    text = f"{float(x):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def count(x: Any) -> str:
    """An integer count with thousands separators, or a dash when missing."""
    return DASH if _missing(x) else f"{int(x):,}"


def percent(x: Any) -> str:
    """A probability (0–1) as a percentage with one decimal."""
    return DASH if _missing(x) else fixed(100.0 * float(x), 1)


def sig3(x: Any) -> str:
    """Three significant figures, thousands separated, never scientific notation."""
    if _missing(x):
        return DASH
    v = float(x)
    if v == 0 or not math.isfinite(v):
        return fixed(v, 0)
    magnitude = math.floor(math.log10(abs(v)))
    decimals = max(0, 2 - magnitude)
    return f"{round(v, 2 - magnitude):,.{decimals}f}".replace("-", "−")


def p_value(x: Any) -> str:
    """A p-value with three decimals, "< 0.001" below that, or a dash."""
    if _missing(x):
        return DASH
    return "< 0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def interval(low: Any, high: Any, fmt: Callable[[Any], str]) -> str:
    """A confidence interval "low–high" in the given format, or a dash when an end is missing."""
    if _missing(low) or _missing(high):
        return DASH
    return f"{fmt(low)}–{fmt(high)}"


def generic(x: Any) -> str:
    """Fallback for columns without a spec: integers as such, floats to 3 significant figures."""
    if _missing(x):
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e6):
        return count(x)
    if isinstance(x, float):
        return sig3(x)
    return str(x)


@dataclass(frozen=True)
class Col:
    """One displayed column: header, how a row renders, and whether it is a number."""

    header: str
    render: Callable[[Row], str]
    numeric: bool = True


def text(column: str, header: str) -> Col:
    """A text column of the table in the reader's language where the catalogue has the text (a
    disease, a covariate), a dash for missing values."""
    return Col(header, lambda r: DASH if _missing(r.get(column)) else _(str(r[column])), False)


def num(column: str, header: str, fmt: Callable[[Any], str]) -> Col:
    """A numeric column of the table, formatted by `fmt`."""
    return Col(header, lambda r: fmt(r.get(column)))


def with_ci(est: str, low: str, high: str, header: str, fmt: Callable[[Any], str]) -> Col:
    """ "estimate (low–high)" in one cell."""

    def render(r: Row) -> str:
        if _missing(r.get(est)):
            return DASH
        ci = interval(r.get(low), r.get(high), fmt)
        return fmt(r[est]) if ci == DASH else f"{fmt(r[est])} ({ci})"

    return Col(header, render)


def _median_iqr(r: Row) -> str:
    if _missing(r.get("median")):
        return DASH
    return f"{sig3(r['median'])} ({interval(r.get('q1'), r.get('q3'), sig3)})"


GRADE_HEADERS = (
    N_("Grade 1 (n)"), N_("Grade 2 (n)"), N_("Grade 3 (n)"), N_("Grade 4 (n)"), N_("Grade 5 (n)"),
)  # fmt: skip
"""The toxicity table's worst-grade columns (each heading a catalogue text of its own)."""

SPECS: dict[str, list[Col]] = {
    "outcome_summary": [
        text("group", N_("Disease")),
        num("n", N_("Patients (n)"), count),
        num("median_follow_up_months", N_("Median follow-up (months)"), fixed),
        num("patients_with_relapse", N_("With relapse (n)"), count),
        Col(
            N_("Responders / assessable (n)"),
            lambda r: f"{count(r.get('responders'))} / {count(r.get('response_assessable'))}",
        ),
        text("primary_scale", N_("Primary scale")),
        num("median_change_primary_scale", N_("Median change (points)"), fixed),
        text("responder_definition", N_("Responder definition")),
    ],
    "relapse_free_survival": [
        text("group", N_("Disease")),
        num("month", N_("Month"), count),
        num("n_at_risk", N_("At risk (n)"), count),
        with_ci("survival", "ci_lower", "ci_upper", N_("Relapse-free, % (95 % CI)"), percent),
    ],
    "drug_free_remission": [
        text("group", N_("Disease")),
        num("month", N_("Month"), count),
        num("n_evaluable", N_("Evaluable (n)"), count),
        num("n_drug_free_remission", N_("Drug-free remission (n)"), count),
        with_ci("rate", "ci_lower", "ci_upper", N_("Rate, % (exact 95 % CI)"), percent),
    ],
    "toxicity": [
        text("toxicity", N_("Toxicity")),
        num("n_patients", N_("Patients (n)"), count),
        num("n_any", N_("Any grade (n)"), count),
        num("pct_any", N_("Any grade (%)"), fixed),
        *(num(f"grade_{g}", header, count) for g, header in enumerate(GRADE_HEADERS, start=1)),
        num("n_grade_3_plus", N_("Grade ≥ 3 (n)"), count),
        num("pct_grade_3_plus", N_("Grade ≥ 3 (%)"), fixed),
    ],
    "kinetics_summary": [
        text("compartment", N_("Compartment")),
        text("parameter", N_("Parameter")),
        text("unit", N_("Unit")),
        num("n", N_("Patients (n)"), count),
        Col(N_("Median (IQR)"), _median_iqr),
    ],
    "responder_effect_sizes": [
        text("feature", N_("Baseline feature")),
        text("kind", N_("Summary")),
        Col(N_("Responders"), lambda r: str(r.get("responders", DASH))),
        Col(N_("Non-responders"), lambda r: str(r.get("non_responders", DASH))),
        num("smd", N_("SMD"), lambda x: fixed(x, 2)),
        with_ci(
            "odds_ratio",
            "or_ci_lower",
            "or_ci_upper",
            N_("Odds ratio of response (95 % CI)"),
            lambda x: fixed(x, 2),
        ),
    ],
    "cox_model": [
        text("covariate", N_("Covariate")),
        with_ci(
            "hazard_ratio",
            "ci_lower",
            "ci_upper",
            N_("Hazard ratio (95 % CI)"),
            lambda x: fixed(x, 2),
        ),
        num("p", N_("p"), p_value),
    ],
}


def _cell(column: str) -> Callable[[Row], str]:
    return lambda r: generic(r.get(column))


def _word_cell(column: str) -> Callable[[Row], str]:
    """A cell whose value is a catalogue text or a code with a word (biomarker tables)."""
    from neurocart.i18n import core_text
    from neurocart.reports.biomarkers import CELLS

    words = CELLS.get(column, {})

    def render(r: Row) -> str:
        value = r.get(column)
        if _missing(value) or not isinstance(value, str):
            return generic(value)
        return _(words[value]) if value in words else core_text(value)

    return render


def columns_for(name: str, frame: pd.DataFrame) -> list[Col]:
    """The spec of table `name`, or one generic column per DataFrame column (the biomarker
    tables' headings and word cells from `neurocart.reports.biomarkers`)."""
    from neurocart.reports.biomarkers import CELLS, HEADINGS, TRANSLATED_CELLS

    if name in SPECS:
        return SPECS[name]
    cols = []
    for c in frame.columns:
        column = str(c)
        numeric = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
            frame[c]
        )
        header = HEADINGS.get(column, column.replace("_", " "))
        words = column in CELLS or column in TRANSLATED_CELLS
        cols.append(Col(header, _word_cell(column) if words else _cell(column), numeric))
    return cols


def html_table(name: str, frame: pd.DataFrame) -> str:
    """The table as escaped HTML, headers in the current language; numeric columns carry
    class="num" (right-aligned)."""
    cols = columns_for(name, frame)
    num_class = ' class="num"'
    head = "".join(
        f'<th{num_class if c.numeric else ""} scope="col">{escape(_(c.header))}</th>' for c in cols
    )
    body = []
    for record in frame.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        cells = "".join(
            f"<td{num_class if c.numeric else ''}>{escape(c.render(row))}</td>" for c in cols
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="data" data-table="{escape(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
