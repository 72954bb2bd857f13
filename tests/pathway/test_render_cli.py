"""Rich tables and the `neurocart protocol` commands (show, check with exit code 2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.pathway import Fact, SlotState, compute_schedule, load_shipped
from neurocart.pathway.render import protocol_tables, schedule_table, summary_table
from tests.pathway.conftest import DAY0, SMALL

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def text_of(*renderables: object) -> str:
    console = Console(width=250, record=True)
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_schedule_table_lists_slots_in_time_order_with_state() -> None:
    facts = [Fact("assessment", "ice", DAY0 + timedelta(hours=1), ref="A-17")]
    schedule = compute_schedule(
        load_shipped(), {"infusion": DAY0}, facts, now=DAY0 + timedelta(hours=13), patient={}
    )
    table = schedule_table(schedule, states={SlotState.DONE, SlotState.DUE, SlotState.OVERDUE})
    text = text_of(table)
    assert "ICE score" in text
    assert "done" in text
    assert "A-17" in text
    assert "overdue" in text
    assert "not_applicable" not in text
    assert table.row_count == len(
        schedule.in_state(SlotState.DONE, SlotState.DUE, SlotState.OVERDUE)
    )
    full = schedule_table(schedule)
    assert full.row_count == len(schedule.slots)
    assert "not recorded" in text_of(full)  # why MRI does not apply
    assert "acute" in text_of(summary_table(schedule))


def test_protocol_tables() -> None:
    phases, tasks = protocol_tables(load_shipped())
    assert phases.row_count == len(load_shipped().phases)
    text = text_of(tasks)
    assert "every 4 h, days 0–14" in text
    assert "vitals ★" in text
    assert "diagnosis in ms, nmosd" in text


def test_protocol_show_lists_and_shows() -> None:
    listing = runner.invoke(app, ["protocol", "show"], env=WIDE)
    assert listing.exit_code == 0, listing.output
    assert "nad-cart-2025" in listing.stdout
    assert "outpatient-follow-up" in listing.stdout
    shown = runner.invoke(app, ["protocol", "show", "nad-cart-2025"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    assert "acute" in shown.stdout
    assert "ltfu_review" in shown.stdout
    assert "EULAR" in shown.stdout


def test_protocol_show_unknown_exits_2() -> None:
    result = runner.invoke(app, ["protocol", "show", "nope"], env=WIDE)
    assert result.exit_code == 2
    assert "no shipped protocol 'nope'" in result.output


def test_protocol_check(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(SMALL, encoding="utf-8")
    ok = runner.invoke(app, ["protocol", "check", str(good)], env=WIDE)
    assert ok.exit_code == 0, ok.output
    assert "ok: small" in ok.stdout
    assert "5 tasks" in ok.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('anchor = "ld_start"', 'anchor = "ld"'), encoding="utf-8")
    failed = runner.invoke(app, ["protocol", "check", str(bad)], env=WIDE)
    assert failed.exit_code == 2
    assert 'tasks[1] (id "baseline_ice").anchor' in failed.output
    assert "declared in [anchors]:" in " ".join(failed.output.split())  # not read as markup
    assert "Traceback" not in failed.output


def test_protocol_check_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["protocol", "check", str(tmp_path / "x.toml")], env=WIDE)
    assert result.exit_code == 2
    assert "cannot read file" in result.output
