"""Protocol files: the shipped ones load and say what docs/pathway.md says; bad files are
rejected with the TOML key path of every fault."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from neurocart.pathway import (
    DISCIPLINES,
    ProtocolError,
    UnknownProtocolError,
    load_protocol,
    load_shipped,
    month_to_days,
    parse_protocol,
    shipped_protocol_ids,
)

H = timedelta(hours=1)
D = timedelta(days=1)

MINIMAL = """
[protocol]
id = "mini"
title = "Minimal"
version = "1"

[anchors]
infusion = "day 0"

[[phases]]
id = "acute"
title = "Acute"
start = {{ anchor = "infusion" }}

[[tasks]]
id = "t"
title = "T"
phase = "acute"
discipline = "nursing"
anchor = "infusion"
{timing}
window = {{ after_hours = 4 }}
completed_by = {{ observations = ["8310-5"] }}
"""


def mini(timing: str) -> list[timedelta]:
    return list(parse_protocol(MINIMAL.format(timing=timing)).tasks[0].offsets)


def test_shipped_protocols_load() -> None:
    assert shipped_protocol_ids() == ["nad-cart-2025", "outpatient-follow-up"]
    for pid in shipped_protocol_ids():
        assert load_shipped(pid).id == pid


def test_unknown_shipped_protocol() -> None:
    with pytest.raises(UnknownProtocolError, match="nad-cart-2025"):
        load_shipped("nope")


def test_every_4_hours_over_days_0_to_14_is_90_slots() -> None:
    offsets = load_shipped().task_by_id["vitals"].offsets
    assert len(offsets) == 90
    assert offsets[0] == timedelta(0)
    assert offsets[-1] == 14 * D + 20 * H  # the last slot is on day 14, not day 15
    assert all(b - a == 4 * H for a, b in itertools.pairwise(offsets))


def test_range_semantics_cover_whole_named_periods() -> None:
    assert len(mini("repeat = { every_hours = 12, from_day = 0, to_day = 14 }")) == 30
    assert len(mini("repeat = { every_days = 1, from_day = 0, to_day = 14 }")) == 15
    assert mini("repeat = { every_hours = 1, from_hour = 1, to_hour = 4 }") == [
        1 * H,
        2 * H,
        3 * H,
        4 * H,
    ]
    assert len(mini("repeat = { every_hours = 0.25, from_hour = 0, to_hour = 0 }")) == 4
    assert mini("repeat = { every_days = 3, from_day = -5, to_day = 2 }") == [-5 * D, -2 * D, 1 * D]
    assert mini("day = -1\nhour = 6") == [-1 * D + 6 * H]
    assert mini("days = [14, 0, 7]") == [0 * D, 7 * D, 14 * D]  # sorted


def test_months_are_mean_gregorian_months_rounded_to_whole_days() -> None:
    assert [month_to_days(m) for m in (2, 3, 6, 12, 24, 180)] == [61, 91, 183, 365, 731, 5479]
    ltfu = load_shipped().task_by_id["ltfu_review"].offsets
    assert len(ltfu) == 15
    assert ltfu[-1] == 5479 * D


def test_default_protocol_has_the_spec_content() -> None:
    p = load_shipped("nad-cart-2025")
    assert set(p.anchors) == {"enrolment", "apheresis", "ld_start", "infusion"}
    assert [ph.id for ph in p.phases][:10] == [
        "screening",
        "washout",
        "apheresis",
        "bridging",
        "lymphodepletion",
        "infusion",
        "acute",
        "subacute",
        "follow_up",
        "long_term",
    ]
    t = p.task_by_id
    assert {task.id for task in p.tasks if task.critical} == {"vitals", "ice"}
    assert len(t["ice"].offsets) == 30
    assert t["ice"].completed_by.assessments == ["ice"]
    assert len(t["neuro_exam"].offsets) == 15
    assert [o // D for o in t["il6"].offsets] == [0, 1, 3, 5, 7, 10, 14]
    assert [o // D for o in t["cart_blood_acute"].offsets] == [1, 4, 7, 10, 14]
    assert [o // D for o in t["cart_blood_subacute"].offsets] == [21, 28]
    assert len(t["subacute_labs"].offsets) == 4  # twice a week, days 15–28
    assert t["fu_mri"].months == [3, 6, 12, 24]
    assert t["fu_mri"].condition == {"diagnosis": ["ms", "nmosd"]}
    assert t["fu_edss"].months == [2, 3, 6, 9, 12, 18, 24, 36, 48, 60]
    assert t["so_entecavir"].condition == {"anti_hbc_positive": [True]}
    assert len(t["so_antiviral"].offsets) == 12
    assert t["so_antiviral"].anchor == "ld_start"
    assert t["vitals"].completed_by.require == "all"
    assert set(t["vitals"].completed_by.observations) == {
        "8310-5",
        "8867-4",
        "8480-6",
        "9279-1",
        "59408-5",
    }
    assert {task.discipline for task in p.tasks} <= set(DISCIPLINES)
    assert {"neurology", "hematology", "imaging", "immunology", "nursing", "data_manager"} <= {
        task.discipline for task in p.tasks
    }


def test_outpatient_protocol_differs() -> None:
    out, full = load_shipped("outpatient-follow-up"), load_shipped("nad-cart-2025")
    assert set(out.anchors) == {"infusion"}
    assert len(out.tasks) < len(full.tasks)
    assert max(o for t in out.tasks for o in t.offsets) == month_to_days(24) * D
    assert min(o for t in out.tasks for o in t.offsets) == month_to_days(2) * D
    assert not any(t.critical for t in out.tasks)


def test_load_protocol_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "center.toml"
    path.write_text(MINIMAL.format(timing="day = 0"), encoding="utf-8")
    assert load_protocol(path).id == "mini"


# ───────────────────────── invalid files ─────────────────────────


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def rejected(tmp_path: Path, text: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        load_protocol(write(tmp_path, text))
    assert str(tmp_path / "bad.toml") in str(info.value)
    return info.value


GOOD = MINIMAL.format(timing="day = 0")


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            'anchor = "infusion"\nday',
            'anchor = "infusin"\nday',
            'tasks[0] (id "t").anchor',
            "unknown anchor 'infusin'",
        ),
        ('phase = "acute"', 'phase = "acut"', 'tasks[0] (id "t").phase', "unknown phase 'acut'"),
        (
            "after_hours = 4",
            "after_hours = -4",
            'tasks[0] (id "t").window.after_hours',
            "greater than or equal to 0",
        ),
        ('"nursing"', '"cardiology"', 'tasks[0] (id "t").discipline', "'cardiology'"),
        ("window =", "windw =", 'tasks[0] (id "t").windw', "unknown key"),
        ("window =", "# window =", 'tasks[0] (id "t").window', "required key is missing"),
        (
            'start = { anchor = "infusion" }',
            'start = { anchor = "ld" }',
            'phases[0] (id "acute").start.anchor',
            "unknown anchor 'ld'",
        ),
        ("day = 0", "day = 0\ndays = [1, 2]", 'tasks[0] (id "t")', "exactly one timing"),
        ("day = 0", "days = [1, 1]", 'tasks[0] (id "t")', "same value twice"),
        (
            "day = 0",
            "repeat = { every_hours = 4, from_day = 3, to_day = 1 }",
            'tasks[0] (id "t").repeat',
            "before from_day",
        ),
        (
            "day = 0",
            "repeat = { every_hours = 4, from_month = 0, to_month = 1 }",
            'tasks[0] (id "t").repeat',
            "cannot run over a month range",
        ),
        (
            "day = 0",
            "repeat = { every_hours = 0.1, from_day = 0, to_day = 9000 }",
            'tasks[0] (id "t").repeat',
            "slots",
        ),
        (
            'observations = ["8310-5"]',
            "observations = []",
            'tasks[0] (id "t").completed_by',
            "at least one",
        ),
        (
            'observations = ["8310-5"]',
            'observations = ["83 10"]',
            'tasks[0] (id "t").completed_by.observations[0]',
            "pattern",
        ),
        (
            'discipline = "nursing"',
            'discipline = "nursing"\ncondition = { diagnosis = [] }',
            'tasks[0] (id "t").condition',
            "lists no values",
        ),
        ('version = "1"', "", "protocol.version", "required key is missing"),
    ],
)
def test_bad_protocol_names_the_toml_path(
    tmp_path: Path, old: str, new: str, path: str, message: str
) -> None:
    assert old in GOOD
    error = rejected(tmp_path, GOOD.replace(old, new, 1))
    matching = [p for p in error.problems if p.path == path]
    assert matching, f"{path} not in {error.paths}"
    assert any(message in p.message for p in matching), error


def test_duplicate_task_id_names_both_entries(tmp_path: Path) -> None:
    task = GOOD[GOOD.index("[[tasks]]") :]
    error = rejected(tmp_path, GOOD + task)
    assert error.paths == ['tasks[0] (id "t").id', 'tasks[1] (id "t").id']
    assert "duplicate id 't'" in str(error)


def test_all_faults_are_reported_together(tmp_path: Path) -> None:
    text = GOOD.replace('anchor = "infusion"\nday', 'anchor = "x"\nday').replace(
        "after_hours = 4", "after_hours = -1"
    )
    assert len(rejected(tmp_path, text).problems) == 2


def test_not_toml(tmp_path: Path) -> None:
    error = rejected(tmp_path, "[protocol\nid = 1")
    assert "not valid TOML" in str(error)
    assert "line 1" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read file"):
        load_protocol(tmp_path / "absent.toml")


NOT_CALCULATORS = {"neuro_exam"}
"""Assessment instruments recorded as a form without a computed score."""


def test_assessments_are_calculators_or_known_forms() -> None:
    from neurocart.standards import REGISTRY

    for pid in shipped_protocol_ids():
        for task in load_shipped(pid).tasks:
            for name in task.completed_by.assessments:
                assert name in REGISTRY or name in NOT_CALCULATORS, (pid, task.id, name)
