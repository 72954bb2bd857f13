"""Rich tables of protocols and schedules, shared by the CLI commands (`protocol`, `schedule`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, tzinfo

from rich.table import Table
from rich.text import Text

from neurocart.i18n import N_
from neurocart.pathway.protocol import Protocol
from neurocart.pathway.schedule import Schedule, Slot, SlotState, chronological, summarize

STATE_STYLES: dict[SlotState, str] = {
    SlotState.UPCOMING: "dim",
    SlotState.DUE: "bold yellow",
    SlotState.OVERDUE: "bold red",
    SlotState.DONE: "green",
    SlotState.NOT_APPLICABLE: "dim italic",
    SlotState.NOT_SCHEDULED: "dim",
}


def _when(at: datetime | None, tz: tzinfo) -> str:
    return "" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _window(slot: Slot, tz: tzinfo) -> str:
    start, end = slot.window_start, slot.window_end
    if start is None or end is None:
        return ""
    return f"{_when(start, tz)} → {_when(end, tz)}"


def _detail(slot: Slot, tz: tzinfo) -> str:
    if slot.state is SlotState.DONE:
        refs = [str(f.ref) for f in slot.done_by if f.ref is not None]
        return f"{_when(slot.done_at, tz)}" + (f" ({', '.join(refs)})" if refs else "")
    return slot.reason


def _as_is(text: str) -> str:
    return text


SCHEDULE_COLUMNS = (
    (N_("day"), "right"), (N_("window"), "left"), (N_("task"), "left"), (N_("phase"), "left"),
    (N_("discipline"), "left"), (N_("state"), "left"), (N_("done at / note"), "left"),
)  # fmt: skip
"""The schedule table's columns (English; a face passes `say` to show them in its language)."""


def schedule_table(
    schedule: Schedule,
    *,
    states: Collection[SlotState] | None = None,
    phases: Collection[str] | None = None,
    tz: tzinfo = UTC,
    title: str | None = None,
    say: Callable[[str], str] = _as_is,
) -> Table:
    """The schedule in time order, one row per slot, optionally filtered by state or phase.

    `say` puts the headings, task titles, disciplines and states in the reader's language
    (the command line's `term`); the phase ids stay, as `--phase` takes them."""
    table = Table(
        title=title or f"{schedule.protocol.title} — as of {_when(schedule.now, tz)}",
        show_lines=False,
    )
    for column, justify in SCHEDULE_COLUMNS:
        table.add_column(say(column), justify=justify, overflow="fold")  # type: ignore[arg-type]
    for slot in chronological(schedule.slots):
        if states is not None and slot.state not in states:
            continue
        if phases is not None and slot.phase not in phases:
            continue
        task = Text(say(slot.title))
        if slot.critical:
            task.append(" ★", style="bold red")
        table.add_row(
            "" if slot.study_day is None else str(slot.study_day),
            _window(slot, tz),
            task,
            slot.phase,
            say(slot.discipline),
            Text(say(slot.state.value), style=STATE_STYLES[slot.state]),
            _detail(slot, tz),
        )
    return table


def summary_table(schedule: Schedule, *, say: Callable[[str], str] = _as_is) -> Table:
    """Slot counts per phase and state (`say`: as for `schedule_table`)."""
    table = Table(title=say(N_("summary")))
    table.add_column(say(N_("phase")))
    for state in SlotState:
        table.add_column(say(state.value), justify="right", style=STATE_STYLES[state])
    for phase, counts in summarize(schedule).items():
        table.add_row(phase, *(str(counts[s]) for s in SlotState))
    return table


def protocol_tables(protocol: Protocol) -> tuple[Table, Table]:
    """The protocol's phases and its tasks."""
    meta = protocol.protocol
    phases = Table(title=f"{meta.id} {meta.version} — {meta.title}")
    for column in ("phase", "title", "from", "to", "tasks", "slots"):
        phases.add_column(column, overflow="fold")
    for phase in protocol.phases:
        members = [t for t in protocol.tasks if t.phase == phase.id]
        phases.add_row(
            phase.id,
            phase.title,
            str(phase.start),
            "" if phase.end is None else str(phase.end),
            str(len(members)),
            str(sum(len(t.offsets) for t in members)),
        )
    tasks = Table(title="tasks (★ critical: a missed slot is an alert)")
    for column in (
        "task",
        "phase",
        "discipline",
        "anchor",
        "timing",
        "slots",
        "window",
        "if",
        "done by",
    ):
        tasks.add_column(column, overflow="fold", no_wrap=column == "task")
    for task in protocol.tasks:
        condition = "; ".join(
            f"{k} in {', '.join(str(v) for v in vs)}" for k, vs in task.condition.items()
        )
        tasks.add_row(
            Text(task.id + (" ★" if task.critical else "")),
            task.phase,
            task.discipline,
            task.anchor,
            task.timing,
            str(len(task.offsets)),
            str(task.window),
            condition,
            str(task.completed_by),
        )
    return phases, tasks
