"""Keep the demo ward alive: post what the accelerated clock passes through the REST API.

Two sources, merged in time order: the simulation's `future` facts (planned labs, grades,
events, course dates) as the clock reaches them, and a fresh vital-sign set every `step`
(default 15 simulated minutes) for each patient in days 0–14, from `stream_acute_vitals`,
which follows the patient's latent CRS course. Patients are staggered so that something
arrives every few seconds.

Everything goes through HTTP with the demo users' tokens — vitals and bedside scores as
`nurse.demo`, physician grades and events as `neurologist.demo` (the permission matrix
decides, as for anyone) — so the API's validation and fact listeners (monitoring) run on it.
A rejected row is reported and skipped; the demo goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from neurocart.demo import DEMO_PASSWORD
from neurocart.demo.build import demo_usernames
from neurocart.demo.clock import DemoClock
from neurocart.i18n import format_datetime
from neurocart.i18n import gettext as _
from neurocart.security import NURSE_INSTRUMENTS, Role
from neurocart.simulate import Simulation, iter_facts, stream_acute_vitals
from neurocart.simulate.load import event_fields, observation_in, records, value
from neurocart.studyday import local_date

API = "/api/v1"
ACUTE_LAST_DAY = 14
_ANCHORS = (("apheresis_at", "apheresis_date"), ("ld_start_at", "ld_start_date"),
            ("infusion_at", "infusion_at"))  # fmt: skip
"""Course anchors the stream posts as they are reached: (simulated instant, course field). The
dates are the site's calendar day (`studyday.local_date`); the infusion is its instant."""


@dataclass
class StreamStats:
    """What the demo stream has posted so far, and what the API refused, for its progress line."""

    observations: int = 0
    assessments: int = 0
    events: int = 0
    course_updates: int = 0
    rejected: int = 0
    until: datetime | None = None
    """Simulated time up to which everything due has been posted."""


@dataclass(frozen=True)
class _Item:
    at: datetime
    rank: int  # observations, assessments, events, course dates at equal times
    study_id: str
    kind: str
    payload: dict[str, Any]


class DemoStreamer:
    """Posts due facts to the API at `base_url` as `clock` advances (see module docstring)."""

    def __init__(
        self,
        base_url: str,
        sim: Simulation,
        clock: DemoClock,
        *,
        step: timedelta = timedelta(minutes=15),
        password: str = DEMO_PASSWORD,
        client: httpx.Client | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.sim = sim
        self.clock = clock
        self.step = step
        self.password = password
        self.client = client or httpx.Client(base_url=base_url, timeout=30)
        self.log = log or (lambda _message: None)
        self.stats = StreamStats(until=sim.now)
        self._tokens: dict[Role, str] = {}
        self._course_ids: dict[str, int] = {}
        self._vitals = self._vital_streams()
        self._anchors = self._planned_anchors()

    # --- sources ---

    def _vital_streams(self) -> dict[str, tuple[int, Iterator[pd.DataFrame], pd.DataFrame]]:
        """Per acute patient: infusion (µs), its vitals generator, and the next set."""
        acute = self.sim.acute_now()
        streams = {}
        for k, study_id in enumerate(acute):
            first = self.sim.now + self.step * (k + 1) / len(acute)  # staggered
            gen = stream_acute_vitals(self.sim, study_id, first, self.step)
            infusion = int(self.sim.course.infusion[self.sim.index(study_id)])
            streams[study_id] = (infusion, gen, next(gen))
        return streams

    def _planned_anchors(self) -> list[_Item]:
        """Course dates still ahead at `now` (a patient in screening reaching infusion)."""
        items: list[_Item] = []
        recorded = self.sim.frames.courses.set_index("study_id")
        for row in records(self.sim.future.courses):
            study_id = str(row["study_id"])
            for column, field in _ANCHORS:
                at = value(row[column])
                if at is None or at <= self.sim.now or value(recorded.at[study_id, column]):
                    continue
                when = at.isoformat() if field == "infusion_at" else local_date(at).isoformat()
                items.append(_Item(at, 3, study_id, "course", {field: when}))
        return items

    def due(self, until: datetime) -> list[_Item]:
        """Everything after the last posted instant up to `until`, in time order."""
        start = self.stats.until
        items = [a for a in self._anchors if start is not None and start < a.at <= until]
        rank = {"observation": 0, "assessment": 1, "event": 2}
        for kind, row in iter_facts(self.sim.future, start=start, end=until):
            items.append(_Item(_at(row, kind), rank[kind], str(row["study_id"]), kind, row))
        for study_id, (infusion, gen, frame) in list(self._vitals.items()):
            while frame["effective_at"].iloc[0] <= pd.Timestamp(until):
                at = frame["effective_at"].iloc[0].to_pydatetime()
                for row in records(frame):
                    items.append(_Item(at, 0, study_id, "observation", row))
                frame = next(gen)
            days = (frame["effective_at"].iloc[0].value // 1000 - infusion) / 86_400e6
            if days >= ACUTE_LAST_DAY + 1:
                del self._vitals[study_id]  # discharged from the acute phase
            else:
                self._vitals[study_id] = (infusion, gen, frame)
        items.sort(key=lambda i: (i.at, i.rank, i.study_id))  # stable: keeps row order
        return items

    # --- posting ---

    def post_until(self, until: datetime) -> StreamStats:
        """Post everything due up to the simulated instant `until`."""
        batch: list[_Item] = []
        for item in self.due(until):
            if batch and (item.kind != "observation" or item.study_id != batch[0].study_id):
                self._post_observations(batch)
                batch = []
            if item.kind == "observation":
                batch.append(item)
            elif item.kind == "assessment":
                self._post_assessment(item)
            elif item.kind == "event":
                self._post_event(item)
            else:
                self._post_course(item)
        if batch:
            self._post_observations(batch)
        self.stats.until = until
        return self.stats

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> StreamStats:
        """Post as the clock advances until `stop` is set; logs a line each simulated hour."""
        hour = self.clock.now().replace(minute=0, second=0, microsecond=0)
        while not stop.is_set():
            now = self.clock.now()
            try:
                self.post_until(now)
            except httpx.TransportError as exc:
                if stop.is_set():
                    break
                self.log(_("API not reachable ({error}); retrying").format(error=exc))
            if now - hour >= timedelta(hours=1):
                hour = now.replace(minute=0, second=0, microsecond=0)
                s = self.stats
                self.log(
                    _(
                        "demo clock {now}: {observations} observations, {assessments} "
                        "assessments, {events} events posted"
                    ).format(
                        now=format_datetime(now),
                        observations=s.observations,
                        assessments=s.assessments,
                        events=s.events,
                    )
                )
            stop.wait(poll_seconds)
        return self.stats

    def _post_observations(self, items: list[_Item]) -> None:
        rows = [observation_in(i.payload).model_dump(mode="json") for i in items]
        path = f"{API}/patients/{items[0].study_id}/observations/batch"
        if self._post(Role.NURSE, path, {"observations": rows}) is not None:
            self.stats.observations += len(rows)

    def _post_assessment(self, item: _Item) -> None:
        row = item.payload
        instrument = str(row["instrument"])
        role = Role.NURSE if instrument in NURSE_INSTRUMENTS else Role.NEUROLOGIST
        body = {
            "instrument": instrument,
            "inputs": _plain(dict(row["inputs"])),
            "effective_at": item.at.isoformat(),
        }
        if self._post(role, f"{API}/patients/{item.study_id}/assessments", body) is not None:
            self.stats.assessments += 1

    def _post_event(self, item: _Item) -> None:
        fields = {k: v for k, v in event_fields(item.payload).items() if v is not None}
        body = _plain(fields)
        if self._post(Role.NEUROLOGIST, f"{API}/patients/{item.study_id}/events", body) is not None:
            self.stats.events += 1

    def _post_course(self, item: _Item) -> None:
        course_id = self._course_id(item.study_id)
        if course_id is None:
            return
        path = f"{API}/courses/{course_id}"
        if self._send("PATCH", Role.NEUROLOGIST, path, item.payload) is not None:
            self.stats.course_updates += 1

    def _course_id(self, study_id: str) -> int | None:
        if study_id not in self._course_ids:
            found = self._send("GET", Role.NEUROLOGIST, f"{API}/patients/{study_id}/courses", None)
            if not found:
                return None
            self._course_ids[study_id] = int(found[-1]["id"])
        return self._course_ids[study_id]

    def _post(self, role: Role, path: str, body: Mapping[str, Any]) -> Any:
        return self._send("POST", role, path, body)

    def _send(self, method: str, role: Role, path: str, body: Mapping[str, Any] | None) -> Any:
        """The JSON answer, or None (logged) when the API refused the request."""
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._token(role, renew=attempt > 0)}"}
            response = self.client.request(method, path, json=body, headers=headers)
            if response.status_code != 401:
                break
        if response.is_success:
            return response.json()
        self.stats.rejected += 1
        self.log(
            _("{method} {path} refused ({status}): {answer}").format(
                method=method, path=path, status=response.status_code, answer=response.text[:300]
            )
        )
        return None

    def _token(self, role: Role, *, renew: bool = False) -> str:
        if renew or role not in self._tokens:
            response = self.client.post(
                f"{API}/auth/login",
                json={"username": demo_usernames()[role], "password": self.password},
            )
            response.raise_for_status()
            self._tokens[role] = str(response.json()["access_token"])
        return self._tokens[role]

    def close(self) -> None:
        self.client.close()


def _at(row: Mapping[str, Any], kind: str) -> datetime:
    at: datetime = value(row["onset_at" if kind == "event" else "effective_at"])
    return at


def _plain(x: Any) -> Any:
    """JSON-ready: numpy scalars → Python, datetimes → ISO 8601, containers recursively."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, datetime):
        return x.isoformat()
    return x
