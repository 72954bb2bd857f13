"""Rule files: validated on load, every problem named by its TOML path; a center's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocart.monitor import Engine, RuleFileError, load_rules
from tests.monitor.helpers import TEMP, Patient

RULE = """
[[rule]]
id = "hot"
title = "Temperature ≥ 39.5 °C"
when = { signal = "temperature_c", op = ">=", value = 39.5 }
severity = "urgent"
disciplines = ["nursing"]
action = "Call the doctor."
source = "Local policy 2025"
resolve = { signal = "temperature_c", op = "<", value = 39.5 }
"""
GOOD = "version = 1\n" + RULE


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleFileError) as info:
        load_rules(_write(tmp_path, text))
    assert str(tmp_path) in str(info.value)
    return [str(p) for p in info.value.problems]


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert len(rules.rules) >= 13
    assert rules.settings.hypotension_sbp_below_mmhg == 90.0


def test_a_center_file_replaces_the_default(tmp_path: Path) -> None:
    engine = Engine(load_rules(_write(tmp_path, GOOD)))
    p = Patient(engine)
    assert p.obs(TEMP, 38.5, 30) == []  # no default fever rule here
    [opened] = p.obs(TEMP, 39.6, 31)
    assert opened.rule_id == "hot"
    assert opened.severity == "urgent"


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        (
            ('signal = "temperature_c", op', 'signal = "temp", op'),
            "rule[0] (hot).when.signal",
            "unknown signal",
        ),
        (('op = ">="', 'op = "=>"'), "rule[0] (hot).when.op", "expected one of"),
        (
            ("value = 39.5 }\nseverity", 'value = "high" }\nseverity'),
            "rule[0] (hot).when.value",
            "expected a number",
        ),
        (('severity = "urgent"', 'severity = "red"'), "rule[0] (hot).severity", "expected one of"),
        (('["nursing"]', '["pharmacy"]'), "rule[0] (hot).disciplines[0]", "pharmacy"),
        (('source = "Local policy 2025"\n', ""), "rule[0] (hot).source", "required"),
        (("resolve = {", "resolved = {"), "rule[0] (hot).resolved", "unknown key"),
        (('id = "hot"', 'id = "Hot Rule"'), "rule[0].id", "lowercase"),
        (
            ("when = {", "study_days = [5, 1]\nwhen = {"),
            "rule[0] (hot).study_days",
            "[first, last]",
        ),
        (
            ("value = 39.5 }\nseverity", "value = 39.5, for_days = 0 }\nseverity"),
            "rule[0] (hot).when.for_days",
            "≥ 1",
        ),
    ],
)
def test_bad_rule_named_by_its_path(
    tmp_path: Path, edit: tuple[str, str], path: str, words: str
) -> None:
    old, new = edit
    assert old in GOOD
    problems = _problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith(path + ":") and words in p for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('severity = "urgent"', 'severity = "red"').replace('["nursing"]', "[]")
    problems = _problems(tmp_path, text + RULE.replace('"urgent"', '"red"'))
    paths = [p.split(":")[0] for p in problems]
    assert "rule[0] (hot).severity" in paths
    assert "rule[0] (hot).disciplines" in paths
    assert "rule[1] (hot).severity" in paths


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD + RULE)
    assert any(p.startswith("rule[1] (hot).id:") and "duplicate" in p for p in problems)


def test_nested_condition_path(tmp_path: Path) -> None:
    text = GOOD.replace(
        'when = { signal = "temperature_c", op = ">=", value = 39.5 }',
        'when = { all = [{ signal = "temperature_c", op = ">=", value = 39.5 },'
        ' { signal = "seizure", op = ">", value = true }] }',
    )
    problems = _problems(tmp_path, text)
    assert any(p.startswith("rule[0] (hot).when.all[1].value:") for p in problems), problems


def test_bad_routing_and_settings(tmp_path: Path) -> None:
    text = (
        '[routing]\nescalation_tiers = [["@lead"], ["morgue"]]\n'
        "escalate_after_minutes = { urgent = -5 }\n"
        '[signals]\nhypotension_sbp_below_mmhg = "low"\nfever_c_typo = 38\n' + GOOD
    )
    paths = [p.split(":")[0] for p in _problems(tmp_path, text)]
    assert "routing.escalation_tiers[1][0]" in paths
    assert "routing.escalate_after_minutes.urgent" in paths
    assert "signals.hypotension_sbp_below_mmhg" in paths
    assert "signals.fever_c_typo" in paths


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    assert _problems(tmp_path, "[[rule]\nid=")[0].startswith("(toml):")
    with pytest.raises(RuleFileError) as info:
        load_rules(tmp_path / "missing.toml")
    assert info.value.problems[0].path == "(file)"


def test_empty_file_needs_rules(tmp_path: Path) -> None:
    assert any(p.startswith("rule:") for p in _problems(tmp_path, "version = 1\n"))


def test_disabled_rule_is_not_loaded(tmp_path: Path) -> None:
    rules = load_rules(_write(tmp_path, GOOD.replace('id = "hot"', 'id = "hot"\nenabled = false')))
    assert rules.rules == ()
