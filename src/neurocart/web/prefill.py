"""The calculator's inputs from the latest facts, to prefill a grading form (editable).

For the ASTCT CRS grade (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625–38,
doi:10.1016/j.bbmt.2018.12.758) the record already holds what the grader needs for the last
24 hours: the highest temperature, the lowest systolic pressure, the vasopressors running,
the oxygen device and flow now, and whether tocilizumab or a steroid was given after a
fever (which masks it). `crs_inputs` reads them, with a sentence per value saying where it
came from, so the form opens filled in and the clinician confirms or changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neurocart.i18n import format_clock, format_date, format_time, joined, term
from neurocart.i18n import gettext as _
from neurocart.store import repo
from neurocart.store.models import EventType

WINDOW = timedelta(hours=24)
MASKING = timedelta(hours=72)
TEMPERATURE, SYSTOLIC = "8310-5", "8480-6"
HYPOTENSION_BELOW = 90.0
FEVER_C = 38.0
PRESSORS = frozenset({"norepinephrine", "epinephrine", "phenylephrine", "dopamine"})
MASKING_DRUGS = frozenset({"tocilizumab", "siltuximab", "anakinra", "dexamethasone",
                           "methylprednisolone"})  # fmt: skip


@dataclass
class Prefill:
    """Values to pre-fill a form with, and where each one came from."""

    values: dict[str, str] = field(default_factory=dict)
    """Form field name → text."""
    notes: list[str] = field(default_factory=list)
    """Where each value came from."""


def crs_inputs(session: Session, patient_id: int, now: datetime) -> Prefill:
    """Pre-fill the CRS grading form from the last 24 h of vitals, noting each source."""
    out = Prefill()
    since = now - WINDOW
    obs = [
        o for o in repo.list_observations(session, patient_id, since=since) if o.effective_at <= now
    ]
    temps = [o for o in obs if o.code == TEMPERATURE]
    if temps:
        top = max(temps, key=lambda o: o.value)
        out.values["temperature_c"] = f"{top.value:g}"
        out.notes.append(
            _("Tmax {t} °C at {time} (last 24 h)").format(
                t=f"{top.value:g}", time=format_clock(top.effective_at, now)
            )
        )
    sbps = [o for o in obs if o.code == SYSTOLIC]
    if sbps:
        low = min(sbps, key=lambda o: o.value)
        out.notes.append(
            _("lowest systolic {sbp} mmHg at {time}").format(
                sbp=f"{low.value:g}", time=format_clock(low.effective_at, now)
            )
        )
        if low.value < HYPOTENSION_BELOW:
            out.values["hypotension"] = "on"
    events = [e for e in repo.list_events(session, patient_id) if e.onset_at <= now]
    running = {
        (e.drug or "").lower()
        for e in events
        if e.type is EventType.DRUG_GIVEN and (e.end_at is None or e.end_at > now)
        and (e.drug or "").lower() in PRESSORS | {"vasopressin"}
    }  # fmt: skip
    if running - {"vasopressin"}:
        out.values["vasopressors"] = str(len(running - {"vasopressin"}))
    if "vasopressin" in running:
        out.values["vasopressin"] = "on"
    if running:
        agents = joined(_drug(agent) for agent in sorted(running))
        out.notes.append(_("vasopressors running: {agents}").format(agents=agents))
    oxygen = [
        e for e in events
        if e.type is EventType.OXYGEN_SUPPORT and (e.end_at is None or e.end_at > now)
    ]  # fmt: skip
    if oxygen:
        last = max(oxygen, key=lambda e: (e.onset_at, e.id))
        device = str(last.details.get("device", "none"))
        out.values["oxygen_device"] = device
        flow = last.details.get("flow_l_min")
        if flow is not None:
            out.values["oxygen_flow_l_min"] = f"{float(flow):g}"
        out.notes.append(
            _("oxygen: {device} since {time}").format(
                device=term(device.replace("_", " ")), time=format_clock(last.onset_at, now)
            )
        )
    earlier = now - MASKING - WINDOW
    all_temps = repo.list_observations(session, patient_id, code=TEMPERATURE, since=earlier)
    for e in events:
        drug = (e.drug or "").lower()
        if e.type is EventType.DRUG_GIVEN and drug in MASKING_DRUGS and now - e.onset_at <= MASKING:
            before = [
                o.value for o in all_temps if e.onset_at - WINDOW <= o.effective_at <= e.onset_at
            ]
            if before and max(before) >= FEVER_C:
                out.values["fever_masked"] = "on"
                out.notes.append(
                    _("fever masked: {drug} at {date} {time} after a fever").format(
                        drug=_drug(drug), date=format_date(e.onset_at), time=format_time(e.onset_at)
                    )
                )
                break
    return out


def _drug(name: str) -> str:
    """A drug as the bedside forms name it, in the reader's language ("托珠单抗")."""
    from neurocart.web.entry import DRUGS, PRESSORS

    return term(dict((*DRUGS, *PRESSORS)).get(name, name))
