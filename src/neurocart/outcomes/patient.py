"""Per-patient outcomes at a time point, by disease (definitions: `outcomes.definitions`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from neurocart import studyday
from neurocart.frames import CohortFrames
from neurocart.kinetics.days import infusions, with_days
from neurocart.kinetics.groups import split
from neurocart.outcomes import definitions as d
from neurocart.outcomes.mri import NOT_EVALUABLE, scans_read
from neurocart.standards import CalculatorInputError, calculate, calculate_frame
from neurocart.standards.disability_change import confirmed_events
from neurocart.standards.incat import CHANGE_FIELDS, LIMB_MAX, adjusted_changes

OUTCOME_COLUMNS = [
    "study_id",
    "diagnosis",
    "subtype",
    "time_point_day",
    "follow_up_days",
    "died",
    "evaluable",
    "relapses",
    "relapse_free",
    "first_relapse_day",
    "scale",
    "baseline",
    "value",
    "value_day",
    "change",
    "responder",
    "in_remission",
    "on_maintenance",
    "drug_free_remission",
    "edss_baseline",
    "edss_value",
    "edss_change",
    "cdw",
    "cdi",
    "neda3",
    "mse",
    "qmg_change",
    "tis",
    "ck_baseline",
    "ck_value",
    "ck_change_pct",
    "incat_adjusted_change",
    "mrc_change",
]


def cutoff_instant(cutoff: date | datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    """The end of the cut-off day as a UTC instant (a date is the whole local day)."""
    if cutoff is None:
        return None
    if isinstance(cutoff, datetime | pd.Timestamp):
        ts = pd.Timestamp(cutoff)
        return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")
    end = studyday.day_start(cutoff + timedelta(days=1))  # the cut-off is a local date
    return pd.Timestamp(end) - pd.Timedelta(microseconds=1)


def restrict(frames: CohortFrames, cutoff: date | datetime | None) -> CohortFrames:
    """The frames as known at the data cut-off (facts after it are dropped).

    Frames read for one cut-off (`CohortFrames.partial`) are refused for another cut-off
    (ValueError); None keeps them as they are.
    """
    end = cutoff_instant(cutoff)
    if end is None:
        return frames
    if frames.partial is not None and frames.partial.until != end:
        raise ValueError(
            f"the frames were read for the cut-off {frames.partial.until or 'none'}, not "
            f"{end}: read them again for this one"
        )
    courses = frames.courses.copy()
    for column in ("enrolment_at", "apheresis_at", "ld_start_at", "infusion_at"):
        courses.loc[courses[column] > end, column] = pd.NaT
    last_day = studyday.local_date(end.to_pydatetime())  # study records carry local dates
    return replace(
        frames,
        courses=courses,
        observations=_until(frames.observations, "effective_at", end),
        assessments=_until(frames.assessments, "effective_at", end),
        events=_until(frames.events, "onset_at", end),
        mri_scans=_until(frames.mri_scans, "scan_date", last_day),
        ncs_studies=_until(frames.ncs_studies, "study_date", last_day),
    )


def _until(frame: pd.DataFrame, column: str, end: pd.Timestamp | date) -> pd.DataFrame:
    """The rows of `frame` at or before `end`: the frame itself when that is all of them (a
    cut-off at the data's end is the usual report, and copying 8 million rows costs ~1 s)."""
    keep = (frame[column] <= end).to_numpy()
    return frame if keep.all() else frame[keep]


def follow_up(frames: CohortFrames) -> pd.DataFrame:
    """Per infused patient: diagnosis, follow-up end (elapsed days), death.

    Follow-up ends at the last recorded fact or at death, whichever is first. Call on frames
    already `restrict`ed to the cut-off. The last fact is the store's when the frames hold only
    some of the facts (`CohortFrames.partial`).
    """
    infusion = infusions(frames.courses)
    if frames.partial is None:
        last = [
            _latest(frames.observations, "effective_at"),
            _latest(frames.assessments, "effective_at"),
            _latest(frames.events, "onset_at"),
        ]
        last_at = pd.concat(last, axis=1).max(axis=1).reindex(infusion.index)
    else:
        last_at = frames.partial.latest.reindex(infusion.index)
    deaths = frames.events[frames.events["type"] == "death"].groupby("study_id")["onset_at"].min()
    death_at = deaths.reindex(infusion.index)
    end_at = last_at.where(death_at.isna(), death_at)
    end_days = (end_at - infusion).dt.total_seconds() / 86400.0
    out = pd.DataFrame(
        {
            "infusion_at": infusion,
            "follow_up_days": end_days.clip(lower=0).fillna(0.0),
            "died": death_at.notna(),
            "death_day": (death_at - infusion).dt.total_seconds() / 86400.0,
        }
    )
    patients = frames.patients.set_index("study_id")[["diagnosis", "subtype"]]
    return patients.join(out, how="inner").rename_axis("study_id").reset_index()


def _latest(frame: pd.DataFrame, column: str) -> pd.Series:
    """`frame.groupby("study_id")[column].max()`, in one pass over the rows when they come
    patient by patient (the store's order and the simulator's): the runs of one study ID are
    found by comparing neighbours, not by hashing 8 million texts (~0.6 s)."""
    ids = np.asarray(frame["study_id"].array)  # no copy
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, int)
    keys = ids[starts]
    if len(ids) == 0 or pd.isna(keys).any() or len(set(keys.tolist())) != len(keys):
        return frame.groupby("study_id")[column].max()
    times = frame[column]
    naive = f"datetime64[{times.dt.unit}]"  # UTC ticks; NaT is the least of them
    stamps = np.maximum.reduceat(times.array.asi8, starts).view(naive)
    order = np.argsort(keys, kind="stable")
    index = pd.Index(keys[order], dtype=frame["study_id"].dtype, name="study_id")
    latest: pd.Series = pd.Series(stamps[order], index=index, name=column).dt.tz_localize("UTC")
    return latest.astype(times.dtype)


@dataclass
class _Series:
    """One patient's assessments of a scale, by time (study days never decrease)."""

    days: np.ndarray
    values: np.ndarray
    inputs: list[Any]
    day_list: list[int] = field(init=False)
    """`days` as a list: a patient's series is a handful of values, which bisect finds faster
    than a numpy mask is built (the cohort asks ~100,000 times)."""
    baseline: tuple[float | None, int | None] = field(init=False)
    """Value and index of the baseline (the last assessment in days −90…0), or (None, None)."""
    adjusted: dict[int, float] | None = field(default=None, init=False)
    """INCAT: the adjusted change of visits (by index) from the baseline, graded for the whole
    cohort at once (`_incat_changes`); a visit not in it is graded when it is read."""

    def __post_init__(self) -> None:
        self.day_list = [int(day) for day in self.days.tolist()]
        last = bisect_right(self.day_list, 0) - 1
        if last >= 0 and self.day_list[last] >= -d.BASELINE_WINDOW_DAYS:
            self.baseline = (float(self.values[last]), last)
        else:
            self.baseline = (None, None)


@dataclass
class _Patient:
    scales: dict[str, _Series] = field(default_factory=dict)
    relapses: list[float] = field(default_factory=list)
    relapse_study_days: list[int] = field(default_factory=list)
    maintenance: list[tuple[str, str, float]] = field(default_factory=list)
    mri: list[tuple[int, int, int, bool]] = field(default_factory=list)
    """MRI scan records by day: (study day, new or enlarging T2, Gd-enhancing, evaluable)."""
    ck: _Series | None = None
    edss_events: tuple[list[int], list[int]] | None = None
    """Confirmation days of every CDW and of every CDI (`_edss_events`)."""


def _of(store: dict[str, _Patient], sid: str) -> _Patient:
    """The patient's entry, made on first use (`setdefault` would build a `_Patient`, a dict
    and four lists, for every one of the ~50,000 facts it files)."""
    found = store.get(sid)
    if found is None:
        found = store[sid] = _Patient()
    return found


def _collect(frames: CohortFrames) -> dict[str, _Patient]:
    """Everything the definitions read, grouped per patient once (the cohort may be large)."""
    store: dict[str, _Patient] = {}
    wanted = set(d.SCALE_LABELS)
    a = frames.assessments[frames.assessments["instrument"].isin(wanted)]
    a = with_days(a[["study_id", "instrument", "inputs", "value", "effective_at"]], frames.courses)
    a = a.assign(day=a["day"].astype("int64"))
    for (sid, instrument), g in split(
        a, ["study_id", "instrument"], ["day", "value", "inputs"], order="t_days"
    ):
        p = _of(store, str(sid))
        p.scales[str(instrument)] = _Series(
            g["day"].astype(np.int64), g["value"].astype(float), list(g["inputs"])
        )
    ck = frames.observations[frames.observations["code"] == d.CK_CODE]
    ck = with_days(ck[["study_id", "value", "effective_at"]], frames.courses)
    ck = ck.assign(day=ck["day"].astype("int64"))
    for sid, g in split(ck, "study_id", ["day", "value"], order="t_days"):
        _of(store, str(sid)).ck = _Series(g["day"].astype(np.int64), g["value"].astype(float), [])
    scans = scans_read(frames)
    columns: list[list[Any]] = [scans[c].tolist() for c in ("study_id", "day", "t2", "gd")]
    evaluable = (scans["activity"] != NOT_EVALUABLE).tolist()
    for sid, day, t2, gd, known in zip(*columns, evaluable, strict=True):
        _of(store, str(sid)).mri.append((int(day), int(t2), int(gd), known))
    types = {"relapse", "maintenance_started", "maintenance_stopped"}
    ev = frames.events[frames.events["type"].isin(types)]
    ev = with_days(ev[["study_id", "type", "drug", "onset_at"]], frames.courses, "onset_at")
    ev = ev.sort_values("t_days")
    columns = [ev[c].tolist() for c in ("study_id", "type", "drug", "t_days", "day")]
    for sid, kind, drug_name, t_days, day in zip(*columns, strict=True):
        p = _of(store, str(sid))
        if kind == "relapse":
            p.relapse_study_days.append(int(day))
            if t_days > 0:
                p.relapses.append(float(t_days))
        else:
            drug = "" if pd.isna(drug_name) else str(drug_name)
            p.maintenance.append((str(kind), drug, float(t_days)))
    return store


def on_maintenance(events: list[tuple[str, str, float]], t: float) -> bool:
    """Whether any maintenance immunotherapy started on or before `t` is still running at `t`."""
    running: dict[str, bool] = {}
    for kind, drug, at in sorted(events, key=lambda e: e[2]):
        if at > t:
            break
        running[drug] = kind == "maintenance_started"
    return any(running.values())


def _baseline(s: _Series | None) -> tuple[float | None, int | None]:
    return (None, None) if s is None else s.baseline


def _at(s: _Series | None, t: int | None, end_day: float) -> int | None:
    """Index of the assessment read at `t` (None = last follow-up); only after infusion.

    The nearest to `t` within the visit window; of two as near, the earlier (of several on
    one day, the first)."""
    if s is None:
        return None
    days = s.day_list
    first, stop = bisect_right(days, 0), bisect_right(days, end_day)
    if first >= stop:
        return None
    if t is None:
        return stop - 1
    after = bisect_left(days, t, first, stop)
    best = after if after < stop else None
    if after > first:
        before = bisect_left(days, days[after - 1], first, stop)
        if best is None or t - days[before] <= days[best] - t:
            best = before
    assert best is not None
    return best if abs(days[best] - t) <= d.VISIT_WINDOW_DAYS else None


def _edss_events(patients: Sequence[_Patient]) -> None:
    """Confirmation days of every CDW and CDI on each patient's whole EDSS series, all the
    patients' in one vectorized call (`confirmed_events`: the events `calculate(
    "disability_change", ...)` finds, fixed baseline, worsening counted).

    With a fixed baseline the events confirmed by day h are the same whether the series is cut
    at h or not (the scan only moves forward and a confirmation reads no later visit), so one
    call serves every time point. One EDSS per day, the last recorded (the calculator refuses
    two on a day); a series of fewer than two days has no event and is not graded.
    """
    unique = list({id(p): p for p in patients}.values())
    sizes: list[int] = []
    days: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for p in unique:
        p.edss_events = ([], [])
        s = p.scales.get("edss")
        sizes.append(0 if s is None else len(s.days))
        if s is not None:
            days.append(s.days)
            values.append(s.values)
    if not days:
        return
    label = np.repeat(np.arange(len(unique)), sizes)
    day, edss = np.concatenate(days).astype(np.int64), np.concatenate(values).astype(float)
    order = np.lexsort((day, label))  # stable: of one day's assessments, the last recorded last
    label, day, edss = label[order], day[order], edss[order]
    last = np.r_[(label[1:] != label[:-1]) | (day[1:] != day[:-1]), True]
    label, day, edss = label[last], day[last], edss[last]
    graded = np.bincount(label, minlength=len(unique)) >= 2
    keep = graded[label]
    relapse_label: list[int] = []
    relapse_day: list[int] = []
    for i in np.flatnonzero(graded).tolist():
        onsets = sorted(set(unique[i].relapse_study_days))
        relapse_label += [i] * len(onsets)
        relapse_day += onsets
    found = confirmed_events(
        label[keep].astype(np.intp),
        day[keep],
        edss[keep],
        np.array(relapse_label, dtype=np.intp),
        np.array(relapse_day, dtype=np.int64),
        baseline="fixed",
        confirmation_days=d.CDW_CONFIRMATION_DAYS,
    )
    columns = (found.series.tolist(), found.worsening.tolist(), found.confirmed_day.tolist())
    for i, worsening, confirmed in zip(*columns, strict=True):
        events = unique[i].edss_events
        assert events is not None
        events[0 if worsening else 1].append(int(confirmed))


def _cdw(p: _Patient, last_day: int, direction: str) -> int | None:
    if "edss" not in p.scales:
        return None
    assert p.edss_events is not None, "graded for the cohort first (_edss_events)"
    worsening, improvement = p.edss_events
    confirmed = worsening if direction == "worsening" else improvement
    return sum(1 for day in confirmed if day <= last_day)


def _limbs(inputs: Any) -> tuple[int, int] | None:
    """The arm and leg grades of recorded INCAT inputs when they are plainly valid (whole
    numbers 0–5, which the calculator takes as they are), else None."""
    if type(inputs) is not dict:
        return None
    arm, leg = inputs.get("arm"), inputs.get("leg")
    if type(arm) is int and type(leg) is int and 0 <= arm <= LIMB_MAX and 0 <= leg <= LIMB_MAX:
        return arm, leg
    return None


def _incat_changes(patients: Sequence[_Patient]) -> None:
    """The adjusted INCAT change of every visit after each patient's baseline, all in one
    vectorized call (`incat.adjusted_changes`: the calculator's `adjusted_change`), where both
    visits' recorded grades are plainly valid; any other visit is left to `_incat_adjusted`,
    which grades it with the calculator when it is read (and falls back as it says)."""
    series: list[_Series] = []
    visits: list[int] = []
    rows: list[tuple[int, int, int, int]] = []
    for p in patients:
        s = p.scales.get("incat")
        base = None if s is None else s.baseline[1]
        if s is None or base is None or (before := _limbs(s.inputs[base])) is None:
            continue
        s.adjusted = {}
        for i in range(base + 1, len(s.inputs)):
            if (now := _limbs(s.inputs[i])) is not None:
                series.append(s)
                visits.append(i)
                rows.append(now + before)
    if not rows:
        return
    changes = adjusted_changes(pd.DataFrame(rows, columns=list(CHANGE_FIELDS))).tolist()
    for s, i, change in zip(series, visits, changes, strict=True):
        assert s.adjusted is not None
        s.adjusted[i] = float(change)


def _incat_adjusted(s: _Series, base: int, now: int) -> float:
    if s.adjusted is not None and now in s.adjusted:
        return s.adjusted[now]
    before, after = s.inputs[base], s.inputs[now]
    try:
        result = calculate(
            "incat",
            {
                "arm": after["arm"],
                "leg": after["leg"],
                "previous_arm": before["arm"],
                "previous_leg": before["leg"],
            },
        )
    except (KeyError, TypeError, CalculatorInputError):
        return float(s.values[now] - s.values[base])
    adjusted = result.details.get("adjusted_change")  # none without both previous scores
    return float(s.values[now] - s.values[base] if adjusted is None else adjusted)


def _mg_sustained(s: _Series, base_value: float, now: int) -> bool:
    change = s.values - base_value
    if change[now] > -d.MG_ADL_RESPONSE_POINTS:
        return False
    k = now
    while k - 1 >= 0 and s.days[k - 1] > 0 and change[k - 1] <= -d.MG_ADL_RESPONSE_POINTS:
        k -= 1
    return bool(s.days[now] - s.days[k] >= d.MG_ADL_SUSTAINED_DAYS)


@dataclass(frozen=True, slots=True)
class _Neda3:
    """One patient's NEDA-3 inputs at one time point, graded with all the others at once
    (`_graded_neda3`: one vectorized `neda3` call, not one `calculate` per patient)."""

    relapses: int
    confirmed_worsening: bool
    new_or_enlarging_t2: int
    gd_enhancing: int
    assessed: bool
    """Whether every domain was assessed: an EDSS, and an evaluable scan in the window."""


def _neda3(p: _Patient, relapses: int, cdw: int | None, horizon: float) -> _Neda3:
    """NEDA-3 through `horizon` (graded by `_graded_neda3`): False when any domain shows
    activity, None when none does but a domain was not assessed, else True.

    MRI activity is read from the scan records after the re-baseline day up to `horizon`; the
    MRI domain is assessed when at least one of them is evaluable (`mri_activity`: inactive
    against a comparator, or active). Without one — no scan in the window, or only scans
    without a comparator or contrast — NEDA-3 cannot be claimed, and likewise without an EDSS
    (`cdw` None): "no evidence" must not stand for "not looked".
    """
    window = [m for m in p.mri if d.MRI_REBASELINE_DAY < m[0] <= horizon]
    return _Neda3(
        relapses=relapses,
        confirmed_worsening=bool(cdw),
        new_or_enlarging_t2=sum(m[1] for m in window),
        gd_enhancing=sum(m[2] for m in window),
        assessed=cdw is not None and any(m[3] for m in window),
    )


def _graded_neda3(rows: list[dict[str, Any]]) -> None:
    """Replace each row's `_Neda3` inputs by its reading, all graded in one call."""
    pending = [row for row in rows if isinstance(row.get("neda3"), _Neda3)]
    if not pending:
        return
    given: list[_Neda3] = [row["neda3"] for row in pending]
    names = ("relapses", "confirmed_worsening", "new_or_enlarging_t2", "gd_enhancing")
    table = pd.DataFrame({name: [getattr(g, name) for g in given] for name in names})
    achieved = calculate_frame("neda3", table)["value"].to_numpy()
    for row, inputs, ok in zip(pending, given, achieved.tolist(), strict=True):
        row["neda3"] = (True if inputs.assessed else None) if ok else False


def _one(
    sid: str, diagnosis: str, p: _Patient, t: int | None, fu: float, died: bool
) -> dict[str, Any]:
    horizon = fu if t is None else min(fu, t + d.VISIT_WINDOW_DAYS)
    relapse_until = fu if t is None else min(fu, float(t))
    relapses = [r for r in p.relapses if r <= relapse_until]
    row: dict[str, Any] = {
        "relapses": len(relapses),
        "relapse_free": not relapses,
        "first_relapse_day": int(np.floor(relapses[0])) if relapses else None,
    }
    row["evaluable"] = t is None or fu >= t - d.VISIT_WINDOW_DAYS
    scale = d.PRIMARY_SCALE[diagnosis]
    row["scale"] = scale
    edss = p.scales.get("edss")
    eb, _eb_i = _baseline(edss)
    e_i = _at(edss, t, horizon)
    if edss is not None and e_i is not None:
        row["edss_baseline"] = eb
        row["edss_value"] = float(edss.values[e_i])
        row["edss_change"] = None if eb is None else float(edss.values[e_i]) - eb
    responder: bool | None = None
    if diagnosis in ("ms", "nmosd"):
        last_day = int(np.floor(horizon))
        row["cdw"] = _cdw(p, last_day, "worsening")
        row["cdi"] = _cdw(p, last_day, "improvement")
        row["baseline"], row["value"] = row.get("edss_baseline"), row.get("edss_value")
        row["change"] = row.get("edss_change")
        row["value_day"] = int(edss.days[e_i]) if edss is not None and e_i is not None else None
        if diagnosis == "ms":
            row["neda3"] = _neda3(p, len(relapses), row["cdw"], horizon)
            responder = not row["cdw"] and not relapses
        else:
            responder = not relapses
    else:
        s = p.scales.get(scale)
        base, base_i = _baseline(s)
        now = _at(s, t, horizon)
        if s is not None and now is not None:
            value = float(s.values[now])
            row["value"], row["value_day"] = value, int(s.days[now])
            if diagnosis == "imnm":
                row["tis"] = value
                responder = value >= d.TIS_RESPONSE
            elif base is not None and base_i is not None:
                row["baseline"], row["change"] = base, value - base
                if diagnosis == "mg":
                    row["mse"] = value <= d.MG_ADL_MSE_MAX
                    responder = _mg_sustained(s, base, now)
                else:
                    adjusted = _incat_adjusted(s, base_i, now)
                    row["incat_adjusted_change"] = adjusted
                    responder = adjusted <= -d.INCAT_RESPONSE_POINTS
        for extra, column in (("qmg", "qmg_change"), ("mrc_sum", "mrc_change")):
            es = p.scales.get(extra)
            eb2, _ = _baseline(es)
            e_now = _at(es, t, horizon)
            if es is not None and eb2 is not None and e_now is not None:
                row[column] = float(es.values[e_now]) - eb2
    if p.ck is not None:
        cb, _ = _baseline(p.ck)
        c_i = _at(p.ck, t, horizon)
        if cb is not None and c_i is not None:
            row["ck_baseline"], row["ck_value"] = cb, float(p.ck.values[c_i])
            row["ck_change_pct"] = (row["ck_value"] - cb) / cb * 100.0 if cb > 0 else None
    at_t = float(horizon if t is None else min(t, fu))
    row["responder"] = responder
    in_remission = None if responder is None else bool(responder and not relapses)
    row["in_remission"] = in_remission
    row["on_maintenance"] = on_maintenance(p.maintenance, at_t)
    row["drug_free_remission"] = (
        None if in_remission is None else bool(in_remission and not row["on_maintenance"])
    )
    return row


def patient_outcomes(
    frames: CohortFrames,
    *,
    at_day: int | None = None,
    cutoff: date | datetime | None = None,
) -> pd.DataFrame:
    """One row per infused patient: outcome at study day `at_day` (None = last follow-up).

    Columns are `OUTCOME_COLUMNS`; disease-specific ones are empty for other diseases.
    `responder`, `in_remission` and `drug_free_remission` are empty when the scale they need
    was not assessed; `evaluable` says whether the patient counts in a rate at `at_day`.
    """
    return outcomes_at(frames, [at_day], cutoff=cutoff)[at_day]


def outcomes_at(
    frames: CohortFrames,
    days: Sequence[int | None],
    *,
    cutoff: date | datetime | None = None,
    follow: pd.DataFrame | None = None,
) -> dict[int | None, pd.DataFrame]:
    """`patient_outcomes` at several time points, reading the frames once.

    `follow`: `follow_up` of these frames (as of `cutoff`) when the caller has it already;
    it reads every observation, so a caller that hands this function only the codes it reads
    computes it first, on all of them.
    """
    frames = restrict(frames, cutoff)
    fu = follow_up(frames) if follow is None else follow
    data = _collect(frames)
    rows: dict[int | None, list[dict[str, Any]]] = {t: [] for t in days}
    columns: list[list[Any]] = [
        fu[c].tolist() for c in ("study_id", "diagnosis", "subtype", "follow_up_days", "died")
    ]
    graded: dict[str, list[_Patient]] = {"edss": [], "incat": []}
    for raw_id, diagnosis in zip(columns[0], columns[1], strict=True):
        if (found := data.get(str(raw_id))) is not None:
            if str(diagnosis) in ("ms", "nmosd"):
                graded["edss"].append(found)
            elif str(diagnosis) == "cidp":
                graded["incat"].append(found)
    _edss_events(graded["edss"])
    _incat_changes(graded["incat"])
    for raw_id, diagnosis, subtype, days_followed, died in zip(*columns, strict=True):
        sid = str(raw_id)
        p = data.get(sid, _Patient())
        for t in days:
            row = {
                "study_id": sid,
                "diagnosis": diagnosis,
                "subtype": subtype,
                "time_point_day": t,
                "follow_up_days": float(days_followed),
                "died": bool(died),
            }
            row.update(_one(sid, str(diagnosis), p, t, float(days_followed), bool(died)))
            rows[t].append(row)
    for t in days:
        _graded_neda3(rows[t])
    return {t: _typed(pd.DataFrame.from_records(rows[t], columns=OUTCOME_COLUMNS)) for t in days}


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    for column in ("responder", "in_remission", "drug_free_remission", "neda3", "mse"):
        out[column] = out[column].astype("boolean")
    for column in ("first_relapse_day", "value_day", "cdw", "cdi", "time_point_day"):
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    float_columns = [
        "baseline", "value", "change", "edss_baseline", "edss_value", "edss_change",
        "qmg_change", "tis", "ck_baseline", "ck_value", "ck_change_pct",
        "incat_adjusted_change", "mrc_change",
    ]  # fmt: skip
    for column in float_columns:
        out[column] = pd.to_numeric(out[column]).astype("float64")
    return out
