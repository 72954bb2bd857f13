"""Which CSF and serum values belong to one lumbar puncture: the paired-sample rule.

A CSF/serum quotient is only meaningful when the CSF and the serum were taken together: the
serum concentration moves (albumin infusion, plasma exchange, IVIg) and the quotient with a
serum value of another day is a number about nothing. Laboratories put the limit between
30–60 minutes (a German CSF laboratory) and 48 hours (ARUP) or 7 days (Mayo Clinic
Laboratories); neurocart pairs within **48 hours** by default (`max_interval_h`), takes the
serum value nearest in time, and reports the interval (`paired_interval_h`) with a warning
when it exceeds one hour. Qalb is invalid within 48 hours after an albumin infusion or plasma
exchange (then nothing quotient-based is computed), and quotients soon after IVIg are
implausible (German Society of Neurology S1 guideline, Neurol Res Pract 2020,
doi:10.1186/s42466-020-0051-z): IVIg within 28 days before the puncture is a warning (a
neurocart window: IgG's half-life is about three weeks).

    punctures = pair_lumbar_punctures(samples, birth_year=1980)
    punctures[0].inputs["qalb"]       # the calculator inputs, ready for standards.calculate
    punctures[0].not_computed         # {"igg_index": NotComputed("no_serum_pair", ...)}
    punctures[0].not_computed["igg_index"].text   # "CSF IgG of ... has no serum IgG ..."

A CSF value without its serum pair computes nothing and says so (`not_computed`: a machine
`code` from `NOT_COMPUTED`, its `params` and the English `text`, which a face may say in its
reader's language from the code and the params); a serum value alone is simply not a
puncture. CSF values measured within `puncture_window_h`
(2 h) of each other are one puncture. Pure: no database, no clock; the service in
`neurocart.services.csf_indices` reads the store, calls this and stores what it computes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any

from neurocart.studyday import local_date

DEFAULT_MAX_INTERVAL_H = 48.0
TIGHT_INTERVAL_H = 1.0
PUNCTURE_WINDOW_H = 2.0
INVALIDATING_WINDOW_H = 48.0
"""Albumin infusion or plasma exchange this close before the puncture invalidates Qalb."""
IVIG_WARNING_DAYS = 28

ANALYTES: Mapping[str, tuple[str, str, str]] = {
    # analyte: (CSF catalogue key, serum catalogue key, words)
    "albumin": ("albumin_csf", "albumin_serum", "albumin"),
    "igg": ("igg_csf", "igg", "IgG"),
    "kflc": ("kflc_csf", "kflc_serum", "κ free light chains"),
    "lflc": ("lflc_csf", "lflc_serum", "λ free light chains"),
}
"""The paired analytes, by the observation catalogue's keys (canonical units: CSF mg/L, serum
albumin and IgG g/L, serum FLC mg/L)."""

OCB_KEYS = ("ocb_csf_bands", "ocb_identical_bands", "ocb_monoclonal")
"""Oligoclonal bands are read from one paired CSF/serum focusing run: no pairing needed."""

CALCULATOR_NEEDS: Mapping[str, tuple[str, ...]] = {
    "qalb": ("albumin",),
    "igg_index": ("albumin", "igg"),
    "igg_if": ("albumin", "igg"),
    "reibergram_igg": ("albumin", "igg"),
    "kflc_index": ("albumin", "kflc"),
    "lflc_index": ("albumin", "lflc"),
}
"""What each derived index needs, in paired analytes. `lflc_index` is the κFLC formula applied
to λ chains (stored as a number; it has no graded cut-off here)."""

INPUT_KEYS: frozenset[str] = frozenset(
    {k for csf, serum, _ in ANALYTES.values() for k in (csf, serum)} | set(OCB_KEYS)
)
"""Observation keys whose arrival can change a puncture's indices."""

CSF_KEYS: frozenset[str] = frozenset({csf for csf, _, _ in ANALYTES.values()} | set(OCB_KEYS))
"""The CSF side of the inputs: a puncture exists only where one of these was measured."""


NOT_COMPUTED: Mapping[str, str] = {
    "no_serum_pair": (
        "CSF {words} of {csf_at} has no serum {words} within {window_h} h: a CSF value "
        "without its serum pair computes nothing"
    ),
    "no_csf_value": "no CSF {words} at this puncture",
    "no_age": "the Reibergram region needs the age-dependent Qalb limit: no age (birth year)",
    "below_formula_age": (
        "the Qalb age formula applies from age {age}: infant limits come from the laboratory"
    ),
    "invalidated_by_treatment": (
        "{treatment_words} on {treated_at}, < {window_h} h before the puncture: Qalb and every "
        "quotient based on it are invalid"
    ),
    "calculator_refused": "the calculator refused the paired values: {error}",
}
"""Why an index of a puncture was not computed: machine code → its English text, with the
fields of `NotComputed.params` (and `words`, `treatment_words` said from them). The params:
`analyte` (a key of `ANALYTES`), `csf_at` (the CSF sample, ISO 8601), `window_h` (hours),
`age` (years), `treatment` (albumin or plasma_exchange), `treated_at` (ISO 8601), `error`
(the calculator's message)."""


@dataclass(frozen=True)
class NotComputed:
    """Why one index of one puncture was not computed: a code of `NOT_COMPUTED` and its
    parameters (strings); `text` is the English, the record of truth."""

    code: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.code not in NOT_COMPUTED:
            raise ValueError(f"unknown not-computed code {self.code!r}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def text(self) -> str:
        words = {}
        if "analyte" in self.params:
            words["words"] = ANALYTES[self.params["analyte"]][2]
        if "treatment" in self.params:
            words["treatment_words"] = self.params["treatment"].replace("_", " ")
        return NOT_COMPUTED[self.code].format(**self.params, **words)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Sample:
    """One stored observation, as the pairing sees it (catalogue key, canonical unit)."""

    key: str
    value: float
    at: datetime
    id: int | None = None


@dataclass(frozen=True)
class Treatment:
    """A treatment that disturbs serum concentrations: ivig, plasma_exchange or albumin."""

    kind: str
    at: datetime


@dataclass
class Puncture:
    """One lumbar puncture's paired values and what can be computed from them."""

    csf_at: datetime
    csf: dict[str, Sample] = field(default_factory=dict)
    """CSF samples by catalogue key (the one nearest the puncture time when repeated)."""
    serum: dict[str, Sample] = field(default_factory=dict)
    """The serum partner of each paired analyte, by analyte ("albumin", "igg" ...)."""
    intervals_h: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Calculator name → its input mapping, for everything that can be computed."""
    not_computed: dict[str, NotComputed] = field(default_factory=dict)
    """Calculator name → why it cannot be computed (missing pair, invalidating treatment)."""
    warnings: list[str] = field(default_factory=list)
    ivig_last_date: date | None = None
    plex_last_date: date | None = None

    @property
    def paired_interval_h(self) -> float | None:
        """The longest CSF–serum interval among the pairs used."""
        return max(self.intervals_h.values()) if self.intervals_h else None

    def source_ids(self, calculator: str) -> list[int]:
        """The observation ids a computed index rests on."""
        ids = []
        for analyte in CALCULATOR_NEEDS.get(calculator, ()):
            csf_key = ANALYTES[analyte][0]
            for s in (self.csf.get(csf_key), self.serum.get(analyte)):
                if s is not None and s.id is not None:
                    ids.append(s.id)
        return ids


def _hours(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 3600.0


def _clusters(csf: Sequence[Sample], window_h: float) -> list[list[Sample]]:
    out: list[list[Sample]] = []
    for s in sorted(csf, key=lambda s: s.at):
        if out and _hours(s.at, out[-1][0].at) <= window_h:
            out[-1].append(s)
        else:
            out.append([s])
    return out


def _nearest(serum: Iterable[Sample], at: datetime, max_h: float) -> Sample | None:
    candidates = [s for s in serum if _hours(s.at, at) <= max_h]
    if not candidates:
        return None
    # nearest in time; on a tie the earlier draw (the one taken before the puncture)
    return min(candidates, key=lambda s: (_hours(s.at, at), s.at))


class _ByTime:
    """One key's samples in time order, so that a puncture looks only at the draws near it
    (a patient's whole serum history per puncture and analyte made the cohort's pairing
    quadratic). The choice is `_nearest`'s, among the draws within the window plus an hour's
    margin: the same sample, ties included (the sort is stable)."""

    def __init__(self, samples: list[Sample]) -> None:
        self._given = samples

    @cached_property
    def samples(self) -> list[Sample]:
        return sorted(self._given, key=lambda s: s.at)  # when first asked, as `_nearest` was

    @cached_property
    def times(self) -> list[datetime]:
        return [s.at for s in self.samples]

    def nearest(self, at: datetime, max_h: float) -> Sample | None:
        margin = timedelta(hours=max_h + 1.0)
        lo = bisect_left(self.times, at - margin)
        hi = bisect_right(self.times, at + margin)
        return _nearest(self.samples[lo:hi], at, max_h)


REIBER_MIN_AGE = 5.0
"""The Reiber age formula of the Qalb limit applies from age 5 (younger: the laboratory's
infant ranges), so the Reibergram region is computed from then on."""


def _age(birth_year: int | None, at: datetime) -> float | None:
    return None if birth_year is None else float(at.year - birth_year)


def pair_lumbar_punctures(
    samples: Iterable[Sample],
    *,
    birth_year: int | None = None,
    treatments: Iterable[Treatment] = (),
    max_interval_h: float = DEFAULT_MAX_INTERVAL_H,
    puncture_window_h: float = PUNCTURE_WINDOW_H,
) -> list[Puncture]:
    """Group CSF values into punctures, pair each with its serum values, list the inputs.

    `birth_year` gives the age for the Qalb limit (calendar-year difference, ± 1 year: the
    store keeps only the year). Returns the punctures in time order.
    """
    if max_interval_h <= 0 or puncture_window_h <= 0:
        raise ValueError("max_interval_h and puncture_window_h must be > 0")
    all_samples = list(samples)
    csf_keys = {csf for csf, _, _ in ANALYTES.values()} | set(OCB_KEYS)
    by_key: dict[str, list[Sample]] = {}
    for s in all_samples:
        by_key.setdefault(s.key, []).append(s)
    serum_by_key = {key: _ByTime(listed) for key, listed in by_key.items()}
    csf_samples = [s for s in all_samples if s.key in csf_keys]
    given = sorted(treatments, key=lambda t: t.at)
    out = []
    for cluster in _clusters(csf_samples, puncture_window_h):
        p = Puncture(csf_at=cluster[0].at)
        for s in cluster:
            kept = p.csf.get(s.key)
            if kept is None or _hours(s.at, p.csf_at) < _hours(kept.at, p.csf_at):
                p.csf[s.key] = s
        _pair(p, serum_by_key, max_interval_h)
        _treatments(p, given)
        _inputs(p, birth_year, max_interval_h)
        _invalidate(p, given)
        out.append(p)
    return out


def _pair(p: Puncture, serum_by_key: Mapping[str, _ByTime], max_h: float) -> None:
    for analyte, (csf_key, serum_key, _) in ANALYTES.items():
        if csf_key not in p.csf:
            continue
        listed = serum_by_key.get(serum_key)
        partner = None if listed is None else listed.nearest(p.csf_at, max_h)
        if partner is not None:
            p.serum[analyte] = partner
            p.intervals_h[analyte] = round(_hours(partner.at, p.csf_at), 3)
    if p.paired_interval_h is not None and p.paired_interval_h > TIGHT_INTERVAL_H:
        p.warnings.append(
            f"CSF and serum {p.paired_interval_h:g} h apart: some laboratories require both "
            "within 30–60 minutes"
        )


def _treatments(p: Puncture, given: Sequence[Treatment]) -> None:
    before = [t for t in given if t.at <= p.csf_at]
    ivig = [t for t in before if t.kind == "ivig"]
    plex = [t for t in before if t.kind == "plasma_exchange"]
    p.ivig_last_date = local_date(ivig[-1].at) if ivig else None
    p.plex_last_date = local_date(plex[-1].at) if plex else None
    recent_ivig = [t for t in ivig if p.csf_at - t.at <= timedelta(days=IVIG_WARNING_DAYS)]
    if recent_ivig:
        last = local_date(recent_ivig[-1].at).isoformat()
        p.warnings.append(
            f"IVIg on {last}, within {IVIG_WARNING_DAYS} days "
            "before the puncture: quotient results soon after IVIg are implausible"
        )


def _invalidating(p: Puncture, given: Sequence[Treatment]) -> Treatment | None:
    hits = [
        t
        for t in given
        if t.kind in ("plasma_exchange", "albumin")
        and timedelta(0) <= p.csf_at - t.at < timedelta(hours=INVALIDATING_WINDOW_H)
    ]
    return hits[-1] if hits else None


def _inputs(p: Puncture, birth_year: int | None, max_h: float) -> None:
    age = _age(birth_year, p.csf_at)
    for name, needs in CALCULATOR_NEEDS.items():
        if ANALYTES[needs[-1]][0] not in p.csf:
            continue  # its own analyte was not measured at this puncture: not a missing pair
        present = [a for a in needs if ANALYTES[a][0] in p.csf]
        missing_csf = [a for a in needs if ANALYTES[a][0] not in p.csf]
        unpaired = [a for a in present if a not in p.serum]
        if unpaired:
            a = unpaired[0]
            p.not_computed[name] = NotComputed(
                "no_serum_pair",
                {"analyte": a, "csf_at": p.csf[ANALYTES[a][0]].at.isoformat(),
                 "window_h": f"{max_h:g}"},
            )  # fmt: skip
            continue
        if missing_csf:
            p.not_computed[name] = NotComputed("no_csf_value", {"analyte": missing_csf[0]})
            continue
        if name == "reibergram_igg" and (age is None or age < REIBER_MIN_AGE):
            p.not_computed[name] = (
                NotComputed("no_age")
                if age is None
                else NotComputed("below_formula_age", {"age": f"{REIBER_MIN_AGE:g}"})
            )
            continue
        p.inputs[name] = _calculator_inputs(name, p, age)
    if "ocb_csf_bands" in p.csf:
        bands = p.csf["ocb_csf_bands"].value
        identical = p.csf.get("ocb_identical_bands")
        mono = p.csf.get("ocb_monoclonal")
        p.inputs["ocb_pattern"] = {
            "csf_restricted_bands": int(bands),
            "identical_bands": int(identical.value) if identical else 0,
            "monoclonal": bool(mono and mono.value == 1.0),
        }


def _calculator_inputs(name: str, p: Puncture, age: float | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "csf_albumin_mg_l": p.csf["albumin_csf"].value,
        "serum_albumin_g_l": p.serum["albumin"].value,
    }
    if name in ("qalb", "reibergram_igg") and age is not None:
        inputs["age_years"] = age
    if name in ("igg_index", "igg_if", "reibergram_igg"):
        inputs["csf_igg_mg_l"] = p.csf["igg_csf"].value
        inputs["serum_igg_g_l"] = p.serum["igg"].value
    if name == "kflc_index":
        inputs["csf_kflc_mg_l"] = p.csf["kflc_csf"].value
        inputs["serum_kflc_mg_l"] = p.serum["kflc"].value
    if name == "lflc_index":  # the κFLC formula on λ chains
        inputs["csf_kflc_mg_l"] = p.csf["lflc_csf"].value
        inputs["serum_kflc_mg_l"] = p.serum["lflc"].value
    return inputs


def _invalidate(p: Puncture, given: Sequence[Treatment]) -> None:
    """Drop every quotient when albumin or plasma exchange was given < 48 h before."""
    hit = _invalidating(p, given)
    if hit is None:
        return
    for name in list(p.inputs):
        if name in CALCULATOR_NEEDS:
            del p.inputs[name]
            p.not_computed[name] = NotComputed(
                "invalidated_by_treatment",
                {"treatment": hit.kind, "treated_at": hit.at.isoformat(),
                 "window_h": f"{INVALIDATING_WINDOW_H:g}"},
            )  # fmt: skip
