"""The care pathway as data: protocol files (TOML) → each patient's schedule of tasks.

    >>> from datetime import UTC, datetime
    >>> from neurocart.pathway import Fact, compute_schedule, load_shipped
    >>> day0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
    >>> schedule = compute_schedule(
    ...     load_shipped("nad-cart-2025"),
    ...     {"infusion": day0},
    ...     [Fact("assessment", "ice", datetime(2025, 3, 3, 9, tzinfo=UTC))],
    ...     now=datetime(2025, 3, 3, 10, tzinfo=UTC),
    ...     patient={"diagnosis": "nmosd", "sex": "female"},
    ... )
    >>> schedule.of_task("ice")[0].state
    <SlotState.DONE: 'done'>

`protocol` defines the file and its timing rules, `loader` reads and validates files,
`schedule` is the pure engine, `render` draws rich tables.
"""

from __future__ import annotations

from neurocart.pathway.loader import (
    DEFAULT_PROTOCOL,
    ProtocolError,
    ProtocolProblem,
    UnknownProtocolError,
    load_protocol,
    load_shipped,
    parse_protocol,
    shipped_protocol_ids,
)
from neurocart.pathway.protocol import (
    DISCIPLINES,
    MONTH_DAYS,
    STANDARD_ANCHORS,
    Phase,
    Protocol,
    Task,
    month_to_days,
)
from neurocart.pathway.schedule import (
    FOLLOW_UP_ENDED,
    PATIENT_DIED,
    Fact,
    Schedule,
    Slot,
    SlotState,
    chronological,
    compute_schedule,
    due_today,
    overdue_critical,
    summarize,
    totals,
    unmet_condition,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "DISCIPLINES",
    "FOLLOW_UP_ENDED",
    "MONTH_DAYS",
    "PATIENT_DIED",
    "STANDARD_ANCHORS",
    "Fact",
    "Phase",
    "Protocol",
    "ProtocolError",
    "ProtocolProblem",
    "Schedule",
    "Slot",
    "SlotState",
    "Task",
    "UnknownProtocolError",
    "chronological",
    "compute_schedule",
    "due_today",
    "load_protocol",
    "load_shipped",
    "month_to_days",
    "overdue_critical",
    "parse_protocol",
    "shipped_protocol_ids",
    "summarize",
    "totals",
    "unmet_condition",
]
