"""Writing neurocart's REDCap project: dictionary, events, mappings and the flat records.

Files (REDCap's import formats, as PyCap's `import_metadata`, `import_events`,
`import_instrument_event_mappings`, `import_repeating_instruments_events` and
`import_records` take them): dictionary.csv, events.csv, instrument_event_mapping.csv,
repeating.csv, records.csv, and mapping.toml — the import mapping that reads records.csv
back into neurocart (`neurocart import redcap`).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from neurocart.frames import CohortFrames
from neurocart.interop.redcap import project as p
from neurocart.interop.redcap.mapping import emit
from neurocart.interop.redcap.records import ProjectFiles, build_records, columns, write_csv


def write_project(
    frames: CohortFrames, out: Path, *, project: str = "neurocart", timezone: str = "UTC"
) -> ProjectFiles:
    """Write the project's files for `frames` into `out` (created if needed)."""
    fields, rows, _ = build_records(frames, ZoneInfo(timezone))
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        out / n
        for n in (
            "dictionary.csv",
            "events.csv",
            "instrument_event_mapping.csv",
            "repeating.csv",
            "records.csv",
            "mapping.toml",
        )
    ]
    write_csv(paths[0], p.HEADER, [f.row() for f in fields])
    events = p.events()
    write_csv(paths[1], list(events[0]), events)
    mapping = p.instrument_event_mapping(fields)
    write_csv(paths[2], list(mapping[0]), mapping)
    write_csv(
        paths[3],
        ["event_name", "form_name"],
        [
            [v, f]
            for v in [e["unique_event_name"] for e in events]
            for f in p.repeating_forms(fields)
        ],
    )
    write_csv(paths[4], columns(fields), rows)
    paths[5].write_text(emit(fields, project=project, timezone=timezone), encoding="utf-8")
    return ProjectFiles(paths, len(rows), len(frames.patients))
