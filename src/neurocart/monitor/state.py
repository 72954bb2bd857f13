"""One patient's recent state: time series windows, active events, and the derived signals.

`PatientState.apply(fact)` folds one fact in and returns the names of the signals whose value
changed — the engine evaluates only the rules that read them. Every grade comes from the
calculators of `neurocart.standards` (never re-implemented here); this module only derives
their inputs from facts:

- CRS (ASTCT): `temperature_c` = highest temperature in the last 24 h; `hypotension` = a
  systolic BP < 90 mmHg in the last 24 h (the usual practical reading); vasopressors
  and vasopressin from active `drug_given` events; oxygen device and flow from the latest
  active `oxygen_support` event; `fever_masked` when a tocilizumab / corticosteroid dose was
  given while febrile (fever in the 24 h before the dose) within the last 72 h — the masking
  must expire, or a treated patient would stay "CRS grade 1" for ever. Windows, threshold
  and drug list are settings of the rule file (`[signals]`).
- ICANS (ASTCT, + the baseline-aware extension): ICE from the latest `ice` / `icans`
  assessment after infusion; the baseline from the context (or the latest ICE before
  infusion); consciousness, motor and edema from the latest `icans` / `neuro_exam`
  assessment; seizure from a seizure event in the last 24 h or the latest exam.
- CTCAE lab grades from the latest count; ICAHT from the lowest ANC of each study day
  (early, days 0–30; late, days 31–100); EASIX / m-EASIX before lymphodepletion (baseline
  labs) and on days 0 and 3 (the published time points); CAR-HEMATOTOX from baseline labs;
  IEC-HS from an `iec_hs` assessment (its inputs include clinician judgement).

Pure and clockless: "now" is the latest fact time seen for the patient. A calculator that
rejects a derived input never stops monitoring: the offending optional field is dropped and
the grade recomputed, and the problem is kept in `problems`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from neurocart.monitor import signals as sig
from neurocart.monitor.facts import (
    Assessment,
    Event,
    Fact,
    Observation,
    OverdueTask,
    PatientContext,
)
from neurocart.standards import CalculatorInputError, Result, calculate
from neurocart.studyday import local_date, study_day

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

PRESSOR_DRUGS = frozenset(
    {"vasopressor", "norepinephrine", "epinephrine", "phenylephrine", "dopamine", "vasopressin"}
)
NEURO_DOMAINS = ("consciousness", "seizure", "motor", "cerebral_edema")
SEIZURE_RANK = {"none": 0, "resolves_rapidly": 1, "prolonged_or_repetitive": 2}
EASIX_DAYS = (0, 3)
"""Study days at which EASIX / m-EASIX are published as predictors (Pennisi 2021)."""
EASIX_CODES = frozenset({sig.LDH, sig.CREATININE, sig.CRP, sig.PLATELETS})
HEMATOTOX_CODES = {
    "anc_10e9_l": sig.ANC,
    "hemoglobin_g_l": sig.HEMOGLOBIN,
    "platelets_10e9_l": sig.PLATELETS,
    "crp_mg_l": sig.CRP,
    "ferritin_ug_l": sig.FERRITIN,
}
CTCAE_TERM = {
    sig.ANC: ("neutrophil_count_decreased", "anc_grade"),
    sig.PLATELETS: ("platelet_count_decreased", "platelet_grade"),
    sig.LYMPHOCYTES: ("lymphocyte_count_decreased", "lymphocyte_grade"),
    sig.WBC: ("white_blood_cell_decreased", "wbc_grade"),
    sig.HEMOGLOBIN: ("anemia", "anemia_grade"),
}
DELTA_SIGNALS = {sig.CRP: "crp_delta_24h_mg_l", sig.FERRITIN: "ferritin_delta_24h_ug_l"}
VITAL_RETENTION = timedelta(hours=96)
LAB_RETENTION = timedelta(days=40)
ICAHT_LAST_DAY = 100
_UNSET = object()
_TIMED_GRADES = frozenset({"crs_grade", "icans_grade"})


@dataclass(frozen=True)
class DerivationSettings:
    """How facts become calculator inputs; a center may change them in its rule file."""

    hypotension_sbp_below_mmhg: float = 90.0
    vitals_window_hours: float = 24.0
    fever_c: float = 38.0
    fever_masking_hours: float = 72.0
    fever_masking_drugs: tuple[str, ...] = (
        "tocilizumab",
        "siltuximab",
        "anakinra",
        "dexamethasone",
        "methylprednisolone",
        "hydrocortisone",
        "prednisolone",
        "prednisone",
        "corticosteroid",
    )
    seizure_active_hours: float = 24.0


# --- calculator calls, memoized: calculators are pure, so equal inputs give equal results ---

_CACHE: dict[Hashable, Result | CalculatorInputError] = {}
_CACHE_MAX = 20_000


_SCALARS = (str, int, float, bool, type(None))


def _freeze(value: Any) -> Hashable:
    if type(value) in _SCALARS:  # the common case, without the slower ABC checks below
        return value  # type: ignore[no-any-return]
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value  # type: ignore[no-any-return]


def cached_calculate(name: str, inputs: Mapping[str, Any]) -> Result:
    """`calculate(name, inputs)`, memoized on the inputs (errors are memoized too)."""
    key = (name, _freeze(inputs))
    hit = _CACHE.get(key)
    if hit is None:
        try:
            hit = calculate(name, inputs)
        except CalculatorInputError as exc:
            hit = exc
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = hit
    if isinstance(hit, CalculatorInputError):
        raise hit
    return hit


class Series:
    """A time-ordered window of (time, value); late values are inserted in place."""

    __slots__ = ("_prune_at", "retention", "times", "values")

    def __init__(self, retention: timedelta) -> None:
        self.times: list[datetime] = []
        self.values: list[float] = []
        self.retention = retention
        self._prune_at = 256

    def add(self, t: datetime, v: float) -> None:
        times = self.times
        if not times or t >= times[-1]:
            times.append(t)
            self.values.append(v)
        else:
            i = bisect_right(times, t)
            times.insert(i, t)
            self.values.insert(i, v)
        if len(times) > self._prune_at:
            cut = bisect_left(times, times[-1] - self.retention)
            if cut:
                del times[:cut]
                del self.values[:cut]
            self._prune_at = len(times) + 256

    def latest(self) -> float | None:
        return self.values[-1] if self.values else None

    def between(self, start: datetime, end: datetime) -> list[float]:
        return self.values[bisect_left(self.times, start) : bisect_right(self.times, end)]

    def max_between(self, start: datetime, end: datetime) -> float | None:
        window = self.between(start, end)
        return max(window) if window else None

    def min_between(self, start: datetime, end: datetime) -> float | None:
        window = self.between(start, end)
        return min(window) if window else None

    def at_or_before(self, t: datetime) -> float | None:
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else None


@dataclass
class _Neuro:
    """The latest neurological findings (ICE and the other ICANS domains)."""

    ice: int | None = None
    ice_at: datetime | None = None
    pre_infusion_ice: tuple[datetime, int] | None = None
    domains: dict[str, str] = field(default_factory=dict)
    seizure_events: list[Event] = field(default_factory=list)


class PatientState:
    """Everything the engine remembers about one patient between facts."""

    def __init__(self, context: PatientContext, settings: DerivationSettings) -> None:
        self.context = context
        self.settings = settings
        self.clock: datetime | None = None
        self.signals: dict[str, Any] = {}
        self.previous: dict[str, Any] = {}
        self.series: dict[str, Series] = {}
        self.results: dict[str, Result] = {}
        self.problems: deque[str] = deque(maxlen=20)
        self.events: dict[str, list[Event]] = {
            "pressor": [],
            "oxygen": [],
            "masking": [],
            "crs": [],
        }
        self._event_ids: dict[tuple[str, str | int], str] = {}
        self.neuro = _Neuro()
        self.anc_daily: dict[int, float] = {}
        self.day_labs: dict[int, dict[str, float]] = {d: {} for d in EASIX_DAYS}
        self.baseline_labs: dict[str, float] = dict(context.baseline_labs)
        self.overdue: tuple[OverdueTask, ...] = ()
        self.crs_recorded: tuple[datetime, int, str | None] | None = None
        """The latest clinician-graded CRS assessment: (effective at, grade, by)."""
        self.crs_in_force: tuple[datetime, int, str | None] | None = None
        """The recorded CRS grade that counts now (an assessment of the last 24 h or an
        ongoing graded CRS episode): (since, grade, by)."""
        self.icans_recorded: tuple[datetime, str | None] | None = None
        """The latest ICANS assessment a clinician graded: (effective at, by)."""
        self.grade_times: dict[str, datetime] = {}
        """Grade signal → when it last changed (the board's "derived at 10:40")."""
        self.pending: set[str] = set()  # changed before any fact timed them (context)
        self._window = timedelta(hours=settings.vitals_window_hours)
        self._masking = timedelta(hours=settings.fever_masking_hours)
        self._seizure_active = timedelta(hours=settings.seizure_active_hours)
        self._last_calc: dict[str, tuple[dict[str, Any], Result]] = {}
        self._timed: tuple[datetime, datetime] | None = None  # (clock, infusion) last timed

    # --- signal bookkeeping ---

    def _set(self, name: str, value: Any, changed: set[str]) -> None:
        old = self.signals.get(name, _UNSET)
        if old is _UNSET:
            old = None
        elif old == value:
            return
        self.previous[name] = old
        self.signals[name] = value
        changed.add(name)
        if name in _TIMED_GRADES and self.clock is not None:
            self.grade_times[name] = self.clock

    def study_day(self, t: datetime) -> int | None:
        infusion = self.context.infusion_at
        return study_day(infusion, t)

    def _calc(self, name: str, inputs: dict[str, Any], slot: str | None = None) -> Result | None:
        """Grade through the calculator; on rejected input drop the offending optional fields
        once and grade again (monitoring must not stop), keeping the problem.

        Each call site (`slot`, default the calculator) remembers its last accepted inputs and
        result: most facts leave a grade's inputs as they were (a normal temperature under an
        earlier peak), and comparing two small dicts is far cheaper than freezing them for
        the shared cache."""
        key = slot or name
        last = self._last_calc.get(key)
        if last is not None and last[0] == inputs:
            self.results[name] = last[1]
            return last[1]
        try:
            result = cached_calculate(name, inputs)
            self._last_calc[key] = (inputs, result)
        except CalculatorInputError as exc:
            self.problems.append(f"{self.clock}: {exc}")
            reduced = {k: v for k, v in inputs.items() if k not in set(exc.fields)}
            if reduced == inputs:
                return None
            try:
                result = cached_calculate(name, reduced)
            except CalculatorInputError as again:
                self.problems.append(f"{self.clock}: {again}")
                return None
        self.results[name] = result
        return result

    # --- context ---

    def set_context(self, context: PatientContext) -> set[str]:
        self.context = context
        self.baseline_labs.update(context.baseline_labs)
        changed: set[str] = set()
        self._baseline_indices(changed)
        if self.clock is not None:
            self._time_signals(changed)
            self._icans(changed)
        return changed

    # --- folding facts in ---

    def apply(self, fact: Fact) -> set[str]:
        t = fact.time
        if self.clock is None or t > self.clock:
            self.clock = t
        changed: set[str] = self.pending
        self.pending = set()
        self._time_signals(changed)
        if isinstance(fact, Observation):
            self._observation(fact, changed)
        elif isinstance(fact, Assessment):
            self._assessment(fact, changed)
        else:
            self._event(fact, changed)
        return changed

    def set_overdue(self, tasks: Iterable[OverdueTask], at: datetime) -> set[str]:
        if self.clock is None or at > self.clock:
            self.clock = at
        self.overdue = tuple(sorted(tasks, key=lambda task: task.key))
        changed: set[str] = self.pending
        self.pending = set()
        self._time_signals(changed)
        self._set("overdue_critical_count", len(self.overdue), changed)
        counts: dict[str, int] = {}
        for task in self.overdue:
            name = f"{task.title} ({task.discipline})"
            counts[name] = counts.get(name, 0) + 1
        text = ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in sorted(counts.items()))
        self._set("overdue_critical_tasks", text, changed)
        return changed

    def _time_signals(self, changed: set[str]) -> None:
        now = self.clock
        infusion = self.context.infusion_at
        if now is None or infusion is None:
            return
        timed = (now, infusion)
        if timed == self._timed:
            return  # same time, same anchor: nothing here can have changed since
        self._timed = timed
        self._set("study_day", study_day(infusion, now), changed)
        self.signals["hours_since_infusion"] = (now - infusion) / HOUR  # passive
        if self.neuro.seizure_events:
            self._icans(changed)  # the seizure domain expires with time

    def _observation(self, obs: Observation, changed: set[str]) -> None:
        code = obs.code
        name = sig.OBSERVATION_SIGNAL.get(code)
        if name is None:
            return  # a code no rule can use
        ld = self.context.ld_start_at
        if ld is not None and obs.effective_at < ld:
            self.baseline_labs[code] = obs.value  # latest value before lymphodepletion wins
            self._baseline_indices(changed)
            return
        retention = VITAL_RETENTION if code in sig.VITAL_CODES else LAB_RETENTION
        series = self.series.get(code)
        if series is None:
            series = self.series[code] = Series(retention)
        series.add(obs.effective_at, obs.value)
        self._set(name, series.latest(), changed)
        if code in (sig.TEMPERATURE, sig.SYSTOLIC_BP):
            self._crs(changed)
            return
        if code in CTCAE_TERM:
            term, grade_signal = CTCAE_TERM[code]
            value = series.latest()
            result = self._calc("ctcae_lab", {"term": term, "value": value}, grade_signal)
            self._set(grade_signal, None if result is None else int(result.number), changed)
        if code == sig.ANC:
            self._icaht(obs, changed)
        if code in DELTA_SIGNALS:
            latest_t = series.times[-1]
            before = series.at_or_before(latest_t - DAY)
            latest = series.latest()
            delta = None if before is None or latest is None else latest - before
            self._set(DELTA_SIGNALS[code], delta, changed)
        if code in EASIX_CODES:
            day = self.study_day(obs.effective_at)
            if day in self.day_labs:
                self.day_labs[day][code] = obs.value  # arrival order: the latest wins
                self._easix(self.day_labs[day], f"_d{day}", changed)

    def _assessment(self, a: Assessment, changed: set[str]) -> None:
        inst = a.instrument
        if inst == "crs":
            if a.value is not None and (
                self.crs_recorded is None or a.effective_at >= self.crs_recorded[0]
            ):
                self.crs_recorded = (a.effective_at, int(a.value), a.by)
            self._crs(changed)
        elif inst in ("ice", "icans", "neuro_exam"):
            if inst == "icans" and (
                self.icans_recorded is None or a.effective_at >= self.icans_recorded[0]
            ):
                self.icans_recorded = (a.effective_at, a.by)
            self._neuro_assessment(a, changed)
        elif inst == "iec_hs":
            result = self._calc("iec_hs", dict(a.inputs))
            if result is not None:
                self._set("iec_hs_grade", int(result.number), changed)

    def _event(self, e: Event, changed: set[str]) -> None:
        category = self._category(e)
        if category is None:
            return
        if category == "seizure":
            self._replace(self.neuro.seizure_events, e)
            self._icans(changed)
        else:
            self._replace(self.events[category], e)
            self._crs(changed)

    def _category(self, e: Event) -> str | None:
        if e.type == "seizure" or (e.type == "adverse_event" and e.term == "seizure"):
            return "seizure"
        if e.type == "oxygen_support":
            return "oxygen"
        if e.type == "crs" and e.grade is not None:
            return "crs"  # a clinician's CRS episode with its grade
        if e.type == "drug_given" and e.drug:
            drug = e.drug.lower()
            if drug in PRESSOR_DRUGS:
                return "pressor"
            if drug in self.settings.fever_masking_drugs:
                return "masking"
        return None

    def _replace(self, events: list[Event], e: Event) -> None:
        """Keep the latest version of an event with an id; keep the list in onset order."""
        if e.id is not None:
            for i, old in enumerate(events):
                if old.id == e.id:
                    del events[i]
                    break
        insort(events, e, key=lambda ev: ev.onset_at)

    # --- CRS ---

    def _crs(self, changed: set[str]) -> None:
        now = self.clock
        assert now is not None
        s = self.settings
        start = now - self._window
        temps = self.series.get(sig.TEMPERATURE)
        tmax = temps.max_between(start, now) if temps else None
        sbp = self.series.get(sig.SYSTOLIC_BP)
        sbp_min = sbp.min_between(start, now) if sbp else None
        hypotension = sbp_min is not None and sbp_min < s.hypotension_sbp_below_mmhg

        agents: set[str] = set()
        pressor_count = 0
        vasopressin = False
        for e in self.events["pressor"]:
            if e.active_at(now):
                agent = str(e.details.get("agent", e.drug or "")).lower()
                if agent == "vasopressin":
                    vasopressin = True
                elif agent in ("", "vasopressor") or agent not in agents:
                    agents.add(agent)
                    pressor_count += 1

        device, flow, airway = "none", None, False
        for e in reversed(self.events["oxygen"]):
            if e.active_at(now):
                device = str(e.details.get("device", "none")).lower()
                raw_flow = e.details.get("flow_l_min")
                flow = float(raw_flow) if raw_flow is not None else None
                airway = bool(e.details.get("airway_protection_only", False))
                break
        if device in ("none", "room_air"):
            device, flow, airway = "none", None, False

        masked = False
        if temps is not None:
            masking = self._masking
            for e in self.events["masking"]:
                dose = e.onset_at
                if dose <= now and now - dose <= masking:
                    before = temps.max_between(dose - self._window, dose)
                    if before is not None and before >= s.fever_c:
                        masked = True
                        break

        self._set("temperature_max_24h_c", tmax, changed)
        self._set("sbp_min_24h_mmhg", sbp_min, changed)
        self._set("hypotension", hypotension, changed)
        self._set("vasopressors", pressor_count, changed)
        self._set("vasopressin", vasopressin, changed)
        self._set("oxygen_device", device, changed)
        self._set("oxygen_flow_l_min", flow, changed)
        self._set("fever_masked", masked, changed)
        inputs: dict[str, Any] = {
            "temperature_c": tmax,
            "fever_masked": masked,
            "hypotension": hypotension,
            "vasopressors": min(pressor_count, 5),
            "vasopressin": vasopressin,
            "oxygen_device": device,
        }
        if flow is not None:
            inputs["oxygen_flow_l_min"] = flow
        if airway:
            inputs["intubated_for_airway_protection_only"] = True
        result = self._calc("crs", inputs)
        derived = None if result is None else int(result.number)
        self._set("crs_grade_derived", derived, changed)
        self._combine_crs(derived, changed)

    def _combine_crs(self, derived: int | None, changed: set[str]) -> None:
        """The current CRS grade: the higher of the derived grade and a clinician's recorded
        grade of the last `vitals_window_hours` (the same 24 h the derived grade looks back).

        A clinician sees what vitals cannot (a capillary leak, an oxygen need on the ward
        round), so a recorded grade above the derived one raises the alert; a recorded grade
        below it never hides a derived grade (the alert follows the higher, and shows both).
        """
        now = self.clock
        assert now is not None
        in_force: tuple[datetime, int, str | None] | None = None
        if self.crs_recorded is not None:
            at = self.crs_recorded[0]
            if at <= now and now - at <= self._window:
                in_force = self.crs_recorded
        for e in self.events["crs"]:  # an ongoing graded CRS episode counts while it lasts
            if (
                e.grade is not None
                and e.active_at(now)
                and (in_force is None or e.grade > in_force[1])
            ):
                in_force = (e.onset_at, e.grade, None)
        self.crs_in_force = in_force
        recorded = None if in_force is None else in_force[1]
        self._set("crs_grade_recorded", recorded, changed)
        if derived is None and recorded is None:
            return
        grade: int | None
        if in_force is not None and (derived is None or in_force[1] > derived):
            when = in_force[0].isoformat(timespec="minutes")
            source = f"recorded by {in_force[2] or 'a clinician'} at {when}"
            grade = in_force[1]
        else:
            source = "derived from vitals and events"
            grade = derived
        self._set("crs_grade_source", source, changed)
        self._set("crs_grade", grade, changed)

    # --- ICE / ICANS ---

    def _neuro_assessment(self, a: Assessment, changed: set[str]) -> None:
        n = self.neuro
        inputs = a.inputs
        ice: int | None = None
        if a.instrument == "ice":
            if a.value is not None:
                ice = int(a.value)
            else:
                result = self._calc("ice", dict(inputs))
                ice = None if result is None else int(result.number)
            if inputs.get("unarousable"):
                n.domains["consciousness"] = "unarousable"
        elif inputs.get("ice_score") is not None:
            ice = int(inputs["ice_score"])
        if a.instrument in ("icans", "neuro_exam"):
            for domain in NEURO_DOMAINS:
                if inputs.get(domain) is not None:
                    n.domains[domain] = str(inputs[domain])
        if ice is not None:
            infusion = self.context.infusion_at
            if infusion is not None and a.effective_at < infusion:
                if n.pre_infusion_ice is None or a.effective_at >= n.pre_infusion_ice[0]:
                    n.pre_infusion_ice = (a.effective_at, ice)
            elif n.ice_at is None or a.effective_at >= n.ice_at:
                n.ice, n.ice_at = ice, a.effective_at
        self._icans(changed)

    def _baseline_ice(self) -> int | None:
        if self.context.baseline_ice is not None:
            return self.context.baseline_ice
        pre = self.neuro.pre_infusion_ice
        return None if pre is None else pre[1]

    def _seizure_domain(self) -> str:
        now = self.clock
        worst = self.neuro.domains.get("seizure", "none")
        if now is None:
            return worst
        active = self._seizure_active
        for e in self.neuro.seizure_events:
            recent = e.onset_at <= now and (now - e.onset_at <= active or e.active_at(now))
            if not recent:
                continue
            kind = str(e.details.get("kind", "resolves_rapidly"))
            duration = e.details.get("duration_min")
            if duration is not None and float(duration) > 5:
                kind = "prolonged_or_repetitive"
            if SEIZURE_RANK.get(kind, 1) > SEIZURE_RANK.get(worst, 0):
                worst = kind if kind in SEIZURE_RANK else "resolves_rapidly"
        return worst

    def _icans(self, changed: set[str]) -> None:
        n = self.neuro
        baseline = self._baseline_ice()
        self._set("ice_baseline", baseline, changed)
        self._set("ice_score", n.ice, changed)
        self._set(
            "ice_drop", None if n.ice is None or baseline is None else baseline - n.ice, changed
        )
        seizure = self._seizure_domain()
        self._set("seizure", seizure != "none", changed)
        if n.ice is None and not n.domains and not n.seizure_events:
            return
        inputs: dict[str, Any] = {
            d: n.domains.get(d, "none" if d != "consciousness" else "normal") for d in NEURO_DOMAINS
        }
        inputs["seizure"] = seizure
        if n.ice is not None:
            inputs["ice_score"] = n.ice
            if baseline is not None:
                inputs["baseline_ice_score"] = baseline
        if inputs.get("consciousness") == "unarousable" and n.ice:
            inputs["ice_score"] = 0  # an unarousable patient cannot score (calculator rule)
        result = self._calc("icans", inputs)
        if result is None:
            return
        self._set("icans_grade", int(result.number), changed)
        self._set(
            "icans_astct_grade", int(result.details.get("astct_grade", result.number)), changed
        )
        self._set("consciousness", inputs["consciousness"], changed)

    # --- hematotoxicity and indices ---

    def _icaht(self, obs: Observation, changed: set[str]) -> None:
        day = self.study_day(obs.effective_at)
        if day is None or not 0 <= day <= ICAHT_LAST_DAY:
            return
        old = self.anc_daily.get(day)
        self.anc_daily[day] = obs.value if old is None else min(old, obs.value)
        last_day = max(self.anc_daily)
        phase = "late" if last_day > 30 else "early"
        lo, hi = (31, ICAHT_LAST_DAY) if phase == "late" else (0, 30)
        anc_series = [
            {"day": d, "anc_10e9_l": v} for d, v in sorted(self.anc_daily.items()) if lo <= d <= hi
        ]
        result = self._calc("icaht", {"anc_series": anc_series, "phase": phase})
        if result is not None:
            self._set("icaht_grade", int(result.number), changed)
            self._set("icaht_provisional", phase == "early" and last_day < 30, changed)

    def _easix(self, labs: Mapping[str, float], suffix: str, changed: set[str]) -> None:
        ldh, plt = labs.get(sig.LDH), labs.get(sig.PLATELETS)
        if ldh is None or plt is None or ldh <= 0 or plt <= 0:
            return
        creatinine, crp = labs.get(sig.CREATININE), labs.get(sig.CRP)
        if creatinine is not None and creatinine > 0:
            inputs = {"ldh_u_l": ldh, "creatinine_umol_l": creatinine, "platelets_10e9_l": plt}
            result = self._calc("easix", inputs, f"easix{suffix}")
            if result is not None:
                self._set(f"easix{suffix}", result.number, changed)
        if crp is not None:
            inputs = {"ldh_u_l": ldh, "crp_mg_l": crp, "platelets_10e9_l": plt}
            result = self._calc("m_easix", inputs, f"m_easix{suffix}")
            if result is not None:
                self._set(f"m_easix{suffix}", result.number, changed)

    def _baseline_indices(self, changed: set[str]) -> None:
        labs = self.baseline_labs
        self._easix(labs, "_pre_ld", changed)
        if all(code in labs for code in HEMATOTOX_CODES.values()):
            inputs = {name: labs[code] for name, code in HEMATOTOX_CODES.items()}
            result = self._calc("car_hematotox", inputs)
            if result is not None:
                self._set("car_hematotox", int(result.number), changed)

    # --- what conditions read (conditions.View) ---

    def series_points(self, signal: str) -> tuple[list[datetime], list[float]] | None:
        code = sig.SIGNALS[signal].series_code
        series = self.series.get(code) if code is not None else None
        return None if series is None else (series.times, series.values)

    def day_of(self, t: datetime) -> int:
        """Study day of `t`; without an infusion date, the site's calendar day number."""
        infusion = self.context.infusion_at
        day = study_day(infusion, t)
        return local_date(t).toordinal() if day is None else day

    # --- inspection ---

    def snapshot(self) -> dict[str, Any]:
        """Plain data of the derived state (for tests, debugging and state comparison)."""
        return {
            "study_id": self.context.study_id,
            "clock": self.clock,
            "signals": dict(sorted(self.signals.items())),
            "anc_daily": dict(sorted(self.anc_daily.items())),
            "baseline_labs": dict(sorted(self.baseline_labs.items())),
        }
