"""The permission matrix, stated a second time cell by cell: every role × resource × action.

The table below is written independently of roles.py; a change to either that is not made to
both fails here. Columns: admin, investigator, neurologist, hematologist, icu, nurse,
data_manager, monitor. "Y" allowed, "." denied.
"""

from __future__ import annotations

import pytest

from neurocart.security import (
    NURSE_INSTRUMENTS,
    Action,
    Resource,
    Role,
    allowed_roles,
    is_allowed,
    may_record_assessment,
    permissions,
    permissions_markdown,
)

COLUMNS = ("admin", "investigator", "neurologist", "hematologist", "icu", "nurse",
           "data_manager", "monitor")  # fmt: skip

# fmt: off
EXPECTED: dict[tuple[str, str], str] = {
    #                             adm inv neu hem icu nur dm  mon
    ("patients", "read"):        "Y   Y   Y   Y   Y   Y   Y   Y",
    ("patients", "write"):       ".   .   Y   Y   .   .   Y   .",
    ("patients", "correct"):     ".   .   Y   Y   .   .   Y   .",
    ("patients", "admin"):       ".   .   .   .   .   .   .   .",
    ("courses", "read"):         "Y   Y   Y   Y   Y   Y   Y   Y",
    ("courses", "write"):        ".   .   Y   Y   .   .   Y   .",
    ("courses", "correct"):      ".   .   Y   Y   .   .   Y   .",
    ("courses", "admin"):        ".   .   .   .   .   .   .   .",
    ("observations", "read"):    "Y   Y   Y   Y   Y   Y   Y   Y",
    ("observations", "write"):   ".   .   Y   Y   Y   Y   Y   .",
    ("observations", "correct"): ".   .   Y   Y   Y   Y   Y   .",
    ("observations", "admin"):   ".   .   .   .   .   .   .   .",
    ("assessments", "read"):     "Y   Y   Y   Y   Y   Y   Y   Y",
    ("assessments", "write"):    ".   .   Y   Y   Y   Y   .   .",
    ("assessments", "correct"):  ".   .   Y   Y   Y   Y   Y   .",
    ("assessments", "admin"):    ".   .   .   .   .   .   .   .",
    ("events", "read"):          "Y   Y   Y   Y   Y   Y   Y   Y",
    ("events", "write"):         ".   .   Y   Y   Y   .   .   .",
    ("events", "correct"):       ".   .   Y   Y   Y   .   Y   .",
    ("events", "admin"):         ".   .   .   .   .   .   .   .",
    ("tasks", "read"):           "Y   Y   Y   Y   Y   Y   Y   Y",
    ("tasks", "write"):          ".   .   Y   Y   Y   Y   Y   .",
    ("tasks", "correct"):        ".   .   Y   Y   Y   Y   Y   .",
    ("tasks", "admin"):          ".   .   .   .   .   .   .   .",
    ("schedule", "read"):        "Y   Y   Y   Y   Y   Y   Y   Y",
    ("schedule", "write"):       ".   .   Y   Y   .   .   Y   .",
    ("schedule", "correct"):     ".   .   Y   Y   .   .   Y   .",
    ("schedule", "admin"):       ".   .   .   .   .   .   .   .",
    ("users", "read"):           "Y   .   .   .   .   .   .   .",
    ("users", "write"):          "Y   .   .   .   .   .   .   .",
    ("users", "correct"):        "Y   .   .   .   .   .   .   .",
    ("users", "admin"):          "Y   .   .   .   .   .   .   .",
    ("alerts", "read"):          "Y   Y   Y   Y   Y   Y   Y   Y",
    ("alerts", "write"):         ".   .   Y   Y   Y   Y   .   .",
    ("alerts", "correct"):       ".   .   Y   Y   Y   .   .   .",
    ("alerts", "admin"):         "Y   .   .   .   .   .   .   .",
    ("audit", "read"):           "Y   Y   .   .   .   .   Y   Y",
    ("audit", "write"):          ".   .   .   .   .   .   .   .",
    ("audit", "correct"):        ".   .   .   .   .   .   .   .",
    ("audit", "admin"):          "Y   .   .   .   .   .   .   .",
    ("calculators", "read"):     "Y   Y   Y   Y   Y   Y   Y   Y",
    ("calculators", "write"):    ".   .   .   .   .   .   .   .",
    ("calculators", "correct"):  ".   .   .   .   .   .   .   .",
    ("calculators", "admin"):    ".   .   .   .   .   .   .   .",
    ("reports", "read"):         "Y   Y   Y   Y   Y   Y   Y   Y",
    ("reports", "write"):        ".   Y   .   .   .   .   Y   .",
    ("reports", "correct"):      ".   .   .   .   .   .   .   .",
    ("reports", "admin"):        ".   .   .   .   .   .   .   .",
    ("feeds", "read"):           "Y   Y   Y   Y   Y   Y   Y   Y",
    ("feeds", "write"):          ".   .   .   .   .   .   Y   .",
    ("feeds", "correct"):        ".   .   .   .   .   .   Y   .",
    ("feeds", "admin"):          "Y   .   .   .   .   .   .   .",
    ("studies", "read"):         "Y   Y   Y   Y   Y   Y   Y   Y",
    ("studies", "write"):        ".   .   Y   Y   Y   .   Y   .",
    ("studies", "correct"):      ".   .   Y   Y   Y   .   Y   .",
    ("studies", "admin"):        ".   .   .   .   .   .   .   .",
}
# fmt: on

CELLS = [
    (role, resource, action, marks.split()[i] == "Y")
    for (resource, action), marks in EXPECTED.items()
    for i, role in enumerate(COLUMNS)
]


def test_table_covers_every_cell_exactly_once() -> None:
    assert set(COLUMNS) == {r.value for r in Role}
    assert set(EXPECTED) == {(r.value, a.value) for r in Resource for a in Action}
    assert all(len(m.split()) == len(COLUMNS) for m in EXPECTED.values())
    assert len(CELLS) == 8 * len(Resource) * 4


@pytest.mark.parametrize(("role", "resource", "action", "allowed"), CELLS)
def test_every_cell(role: str, resource: str, action: str, allowed: bool) -> None:
    assert is_allowed(role, resource, action) is allowed
    assert is_allowed(Role(role), Resource(resource), Action(action)) is allowed


def test_monitor_reads_everything_clinical_and_writes_nothing() -> None:
    for resource in Resource:
        can_read = is_allowed(Role.MONITOR, resource, Action.READ)
        assert can_read is (resource is not Resource.USERS)
        for action in (Action.WRITE, Action.CORRECT, Action.ADMIN):
            assert not is_allowed(Role.MONITOR, resource, action)


def test_only_admin_touches_users() -> None:
    for action in Action:
        assert allowed_roles(Resource.USERS, action) == {Role.ADMIN}


def test_listing_matches_lookup() -> None:
    listed = permissions()
    assert len(listed) == len(Resource) * 4
    for p in listed:
        assert set(p.roles) == allowed_roles(p.resource, p.action)
    table = permissions_markdown()
    assert table.count("\n") == 1 + len(Resource) * 4
    assert "| users | admin | ✓ |" in table


@pytest.mark.parametrize(
    ("role", "resource", "action", "field"),
    [
        ("superuser", "patients", "read", "role"),
        ("admin", "patient", "read", "resource"),
        ("admin", "patients", "delete", "action"),
    ],
)
def test_unknown_names_fail_loudly(role: str, resource: str, action: str, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: unknown"):
        is_allowed(role, resource, action)


def test_nurse_records_bedside_instruments_only() -> None:
    assert "ice" in NURSE_INSTRUMENTS
    assert may_record_assessment("nurse", "ice")
    assert not may_record_assessment("nurse", "edss")
    assert not may_record_assessment("nurse", "crs")
    assert may_record_assessment("neurologist", "edss")
    assert not may_record_assessment("monitor", "ice")
    assert not may_record_assessment("data_manager", "ice")


def test_the_store_uses_this_role_enum() -> None:
    store_models = pytest.importorskip("neurocart.store.models")
    assert store_models.Role is Role


def test_a_nurse_acknowledges_only_what_nursing_is_paged_for() -> None:
    from neurocart.security import may_acknowledge

    assert may_acknowledge("nurse", ["hematology", "nursing"])
    assert not may_acknowledge("nurse", ["hematology", "icu"])
    assert may_acknowledge("icu", ["neurology"])
    assert not may_acknowledge("data_manager", ["nursing"])
