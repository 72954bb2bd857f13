"""REDCap out and in: the dictionary's 18 columns, the flat records, and the round trip
export → import into an empty store → the same facts (nothing lost, nothing duplicated)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neurocart import i18n
from neurocart.cli import app
from neurocart.frames import CohortFrames
from neurocart.interop import redcap as redcap_package
from neurocart.interop.redcap import RedcapError, apply, load, read_project
from neurocart.interop.redcap.project import HEADER
from neurocart.interop.redcap.records import NOT_A_NUMBER, UNKNOWN_CHOICE_OF
from neurocart.reports.scope import load_cohort
from neurocart.security import Role
from neurocart.store import Database, migrate, repo
from tests.consoles import wide_consoles
from tests.dbfixtures import database, db_url, pg_session_url  # noqa: F401
from tests.interop.storedcohort import StoredCohort

IMPORTER = "redcap.importer"


@pytest.fixture(scope="module")
def project(stored_cohort: StoredCohort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("redcap")
    result = CliRunner().invoke(
        app,
        [
            "export",
            "redcap",
            "--out",
            str(out),
            "--database-url",
            stored_cohort.url,
            "--timezone",
            "Asia/Shanghai",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _empty_store(tmp_path: Path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    target = Database.from_url(url)
    migrate.upgrade(target.engine)
    with target.transaction() as session:
        repo.create_user(
            session, None, username=IMPORTER, password_hash="x", role=Role.DATA_MANAGER
        )
    return url, target


def _import(
    project: Path, url: str, *extra: str, records: Path | None = None, lang: str | None = None
) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            *(() if lang is None else ("--lang", lang)),
            "import",
            "redcap",
            "--dictionary",
            str(project / "dictionary.csv"),
            "--records",
            str(records or project / "records.csv"),
            "--mapping",
            str(project / "mapping.toml"),
            "--user",
            IMPORTER,
            "--database-url",
            url,
            *extra,
        ],
    )
    return result.exit_code, " ".join(result.output.split())


def test_dictionary_header_and_records_layout(project: Path) -> None:
    with (project / "dictionary.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header == HEADER
    assert len(header) == 18
    assert (
        (project / "dictionary.csv")
        .read_text()
        .splitlines()[0]
        .startswith(
            'Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, '
        )
    )
    fields = _rows(project / "dictionary.csv")
    assert all(len(f["Variable / Field Name"]) <= 26 for f in fields)
    records = _rows(project / "records.csv")
    assert list(records[0])[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    assert any(c.startswith("prior_tx___") for c in records[0])
    events = {r["unique_event_name"] for r in _rows(project / "events.csv")}
    assert {"screening_arm_1", "day_0_arm_1", "day_28_arm_1", "month_24_arm_1"} <= events
    mapping = _rows(project / "instrument_event_mapping.csv")
    assert {"demographics", "labs", "adverse_event"} <= {m["form"] for m in mapping}
    assert {r["redcap_event_name"] for r in records} <= events


def _text(x: object) -> str:
    """A cell as text; a dict's key order is not a fact."""
    if isinstance(x, dict):
        return json.dumps(x, sort_keys=True, default=str)
    return repr(x)


def _comparable(frames: CohortFrames) -> dict[str, pd.DataFrame]:
    """Facts as sortable text, times at whole seconds (REDCap's precision)."""
    out = {}
    for name in ("patients", "courses", "observations", "assessments", "events"):
        frame = getattr(frames, name).copy()
        if name == "patients":  # a REDCap checkbox is a set: the order of prior lines is lost
            frame["prior_therapies"] = frame["prior_therapies"].map(sorted)
        for column in frame.columns:
            if str(frame[column].dtype).startswith("datetime64"):
                frame[column] = frame[column].dt.floor("s")
            frame[column] = frame[column].map(_text)
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_round_trip_into_an_empty_store(
    project: Path, stored_cohort: StoredCohort, tmp_path: Path
) -> None:
    url, target = _empty_store(tmp_path)
    code, output = _import(project, url, "--dry-run")
    assert code == 0, output
    assert "would store: 6 patients" in output
    assert "not mapped" not in output
    assert load_cohort(target).patients.empty  # a dry run stores nothing
    code, output = _import(project, url)
    assert code == 0, output
    original = _comparable(load_cohort(stored_cohort.database))
    back = _comparable(load_cohort(target))
    for name, frame in original.items():
        pd.testing.assert_frame_equal(back[name], frame, obj=name)
    with target.reading() as session:
        trail = repo.audit_trail(session, "patient", repo.find_patient(session, "NC-0001").id)
    assert trail
    assert trail[0].actor == IMPORTER
    target.dispose()


def test_an_unmapped_field_is_reported_not_guessed(project: Path, tmp_path: Path) -> None:
    records = _rows(project / "records.csv")
    records[0]["site_notes"] = "moved to ward 3"
    columns = [*records[0].keys()]
    path = tmp_path / "records.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        w.writerows(records)
    plan = read_project(project / "dictionary.csv", path, load(project / "mapping.toml"))
    assert plan.unmapped == {"site_notes": 1}
    url, target = _empty_store(tmp_path)
    code, output = _import(project, url, "--dry-run", records=path)
    assert code == 0
    assert "not mapped: field site_notes (1 value(s))" in output
    target.dispose()


def test_a_bad_choice_code_stores_nothing(project: Path, tmp_path: Path) -> None:
    records = _rows(project / "records.csv")
    first = next(r for r in records if r["redcap_repeat_instrument"] == "")
    first["sex"] = "9"
    path = tmp_path / "records.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(records[0]))
        w.writeheader()
        w.writerows(records)
    url, target = _empty_store(tmp_path)
    code, output = _import(project, url, records=path)
    assert code == 2
    assert "field sex: no mapping for choice code" in output
    assert load_cohort(target).patients.empty
    target.dispose()


@pytest.fixture
def wide_and_english_after() -> Iterator[None]:
    """Wide consoles (a problem on one line), and the process back in English afterwards."""
    with wide_consoles(400):
        yield


def _bad_values(project: Path, tmp_path: Path) -> Path:
    """NC-0001 with an unknown sex code (its demographics) and a REDCap ICE total that is no
    number (a repeat instance of the ice form)."""
    records = [r for r in _rows(project / "records.csv") if r["record_id"] == "NC-0001"]
    next(r for r in records if r["redcap_repeat_instrument"] == "")["sex"] = "9"
    next(r for r in records if r["redcap_repeat_instrument"] == "ice")["ice_score"] = "abc"
    return _write(tmp_path / "bad.csv", records)


def test_a_values_problem_keeps_its_place_and_its_english(project: Path, tmp_path: Path) -> None:
    path = _bad_values(project, tmp_path)
    plan = read_project(project / "dictionary.csv", path, load(project / "mapping.toml"))
    sex, score = plan.problems
    known = str(sorted(load(project / "mapping.toml").patient["sex"].choices))
    assert (sex.key, dict(sex.params)) == (UNKNOWN_CHOICE_OF, {"known": known})
    assert (sex.record, sex.event, sex.form, sex.field, sex.value) == (
        "NC-0001", "", "", "sex", "9"
    )  # fmt: skip
    assert str(sex) == (
        f"record NC-0001, event -, form #1, field sex: no mapping for choice code; known "
        f"{known} (got '9')"
    )
    assert (score.key, score.form, score.field, score.value) == (
        NOT_A_NUMBER, "ice", "ice_score", "abc"
    )  # fmt: skip
    assert str(score) == (
        f"record NC-0001, event {score.event}, ice #{score.instance}, field ice_score: "
        "expected a number (got 'abc')"
    )


def test_a_chinese_user_reads_the_problems_in_chinese(
    project: Path, tmp_path: Path, wide_and_english_after: None
) -> None:
    """Each problem and the refusal that names the first one: the words in Chinese, the
    record, event, form, field, value and choice codes as they are; English unchanged."""
    path = _bad_values(project, tmp_path)
    plan = read_project(project / "dictionary.csv", path, load(project / "mapping.toml"))
    sex, score = plan.problems
    known = sex.params["known"]
    url, target = _empty_store(tmp_path)
    code, output = _import(project, url, "--dry-run", records=path, lang="zh_CN")
    assert code == 2, output
    said = f"记录 NC-0001，事件 -，表单 #1，字段 sex：该选项代码没有映射；已知：{known}（得到 '9'）"
    assert f"无法映射：{said}" in output
    assert (
        f"无法映射：记录 NC-0001，事件 {score.event}，ice #{score.instance}，字段 ice_score："
        "应为数字（得到 'abc'）"
    ) in output
    assert f"2 个值无法映射；第一个：{said}" in output
    words = re.sub(r"'[^']*'|\b\w+_\w+\b|--?[a-z][\w-]*|NC-\d+", " ", output)
    assert set(re.findall(r"\b[A-Za-z]{3,}\b", words)) == {"sex", "ice"}, output  # fields
    code, english = _import(project, url, "--dry-run", records=path)
    assert code == 2
    assert f"cannot map: {sex}" in english
    assert f"cannot map: {score}" in english
    assert f"2 value(s) cannot be mapped; first: {sex}" in english
    assert load_cohort(target).patients.empty
    target.dispose()


def test_eav_export_reads_like_the_flat_one(project: Path, tmp_path: Path) -> None:
    flat = _rows(project / "records.csv")[:40]
    ids = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
    eav = []
    for r in flat:
        for k, v in r.items():
            if k in ids or (v in ("", "0") and "___" in k) or v == "" or k.endswith("_complete"):
                continue
            name, value = (k.split("___")[0], k.split("___")[1]) if "___" in k else (k, v)
            eav.append(
                {
                    "record": r["record_id"],
                    "redcap_event_name": r["redcap_event_name"],
                    "redcap_repeat_instrument": r["redcap_repeat_instrument"],
                    "redcap_repeat_instance": r["redcap_repeat_instance"],
                    "field_name": name,
                    "value": value,
                }
            )
    flat_path, eav_path = tmp_path / "flat.csv", tmp_path / "eav.csv"
    for path, rows in ((flat_path, flat), (eav_path, eav)):
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    mapping = load(project / "mapping.toml")
    a = read_project(project / "dictionary.csv", flat_path, mapping)
    b = read_project(project / "dictionary.csv", eav_path, mapping)
    assert a.counts() == b.counts()
    assert a.counts()["observations"] > 0
    assert a.patients == b.patients


def test_a_mapping_field_missing_from_the_dictionary_is_an_error(
    project: Path, tmp_path: Path
) -> None:
    text = (project / "mapping.toml").read_text().replace('field = "crp"', 'field = "crp_x"')
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(RedcapError, match=r"observation\[\d+\]\.field = 'crp_x'"):
        read_project(project / "dictionary.csv", project / "records.csv", load(path))


def test_example_mapping_for_a_cart_project_parses() -> None:
    example = Path(redcap_package.__file__).parent / "data/cart-project.redcap.toml"
    mapping = load(example)
    assert {"screening_arm_1", "day_7_arm_1", "month_24_arm_1"} <= set(mapping.events)
    assert mapping.observations
    assert mapping.assessments
    assert mapping.event_rules


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_importing_twice_is_refused_and_duplicates_nothing(project: Path, tmp_path: Path) -> None:
    records = [r for r in _rows(project / "records.csv") if r["record_id"] == "NC-0002"]
    path = _write(tmp_path / "one.csv", records)
    url, target = _empty_store(tmp_path)
    assert _import(project, url, records=path)[0] == 0
    before = load_cohort(target)
    code, output = _import(project, url, records=path)
    assert code == 2
    assert "record NC-0002" in output
    assert "nothing imported" in output
    after = load_cohort(target)
    for name in ("patients", "observations", "assessments", "events"):
        assert len(getattr(after, name)) == len(getattr(before, name)), name
    target.dispose()


def test_a_total_that_differs_from_the_score_is_refused(project: Path, tmp_path: Path) -> None:
    records = [r for r in _rows(project / "records.csv") if r["record_id"] == "NC-0001"]
    row = next(r for r in records if r["redcap_repeat_instrument"] == "ice")
    row["ice_score"] = str(int(float(row["ice_score"])) - 1 if float(row["ice_score"]) else 1)
    url, target = _empty_store(tmp_path)
    code, output = _import(project, url, records=_write(tmp_path / "r.csv", records))
    assert code == 2
    assert "differs from neurocart's score" in output
    assert load_cohort(target).patients.empty
    target.dispose()


def test_an_event_missing_from_the_mapping_is_reported(project: Path, tmp_path: Path) -> None:
    records = _rows(project / "records.csv")[:30]
    records[-1]["redcap_event_name"] = "week_52_arm_1"
    plan = read_project(
        project / "dictionary.csv",
        _write(tmp_path / "r.csv", records),
        load(project / "mapping.toml"),
    )
    assert [str(p) for p in plan.problems] == [
        "event week_52_arm_1: not in the mapping's [events] (1 instance(s))"
    ]
    (problem,) = plan.problems
    assert problem.params == {"event": "week_52_arm_1", "n": "1"}
    assert problem.record is None
    with i18n.using("zh_CN"):
        assert (
            problem.said(i18n.gettext) == "事件 week_52_arm_1：不在映射的 [events] 中（1 个实例）"
        )


def test_retracting_deletions_is_refused_plainly(project: Path, tmp_path: Path) -> None:
    text = (project / "mapping.toml").read_text().replace('"ignore"', '"retract"')
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(RedcapError, match=r"mapping\.deletions"):
        load(path)


def test_round_trip_through_the_services_on_each_backend(
    project: Path,
    stored_cohort: StoredCohort,
    database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The same import, on SQLite and PostgreSQL, called as a library rather than the CLI."""
    records = [
        r for r in _rows(project / "records.csv") if r["record_id"] in ("NC-0001", "NC-0002")
    ]
    mapping = load(project / "mapping.toml")
    plan = read_project(project / "dictionary.csv", _write(tmp_path / "two.csv", records), mapping)
    with database.transaction() as session:
        actor = repo.create_user(
            session, None, username=IMPORTER, password_hash="x", role=Role.DATA_MANAGER
        )
    assert apply(database, actor, plan, dry_run=True).committed is False
    assert load_cohort(database).patients.empty
    result = apply(database, actor, plan, dry_run=False)
    assert result.committed
    original = load_cohort(stored_cohort.database)
    keep = {"NC-0001", "NC-0002"}
    subset = CohortFrames(
        **{
            name: getattr(original, name)[getattr(original, name).study_id.isin(keep)]
            for name in ("patients", "courses", "observations", "assessments", "events")
        }
    )
    want, got = _comparable(subset), _comparable(load_cohort(database))
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)
    assert result.counts["observations"] == len(subset.observations)


def test_coded_results_list_their_values_as_radio_choices(project: Path) -> None:
    fields = {f["Variable / Field Name"]: f for f in _rows(project / "dictionary.csv")}
    choices = "Choices, Calculations, OR Slider Labels"
    ocb = fields["ocb_pattern"]
    assert ocb["Field Type"] == "radio"
    codes = [c.split(",", 1)[0].strip() for c in ocb[choices].split("|")]
    assert codes == ["1", "2", "3", "4", "5"]
    assert "type 4: identical bands only" in ocb[choices]
    assert fields["reibergram_igg"][choices].startswith("1, 1: normal | 2, ")
    assert fields["ocb_monoclonal"][choices] == "0, negative | 1, positive"


def test_course_dates_are_the_dates_on_the_export_clock() -> None:
    """A course date is the day it names on the site's clock: enrolled at 06:52 in Beijing is
    the next day's date, although the instant is still the evening before in UTC."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from neurocart.interop.redcap.records import build_records
    from neurocart.simulate import simulate_cohort
    from neurocart.studyday import local_date

    zone = ZoneInfo("Asia/Shanghai")
    frames = simulate_cohort(40, 3, now=datetime(2025, 6, 1, tzinfo=UTC))
    _, rows, _ = build_records(frames, zone)
    courses = frames.courses.set_index("study_id")
    exported = {r["record_id"]: r for r in rows if r.get("treatment_course_complete") == "2"}
    assert exported
    differs = 0
    for sid, row in exported.items():
        at = courses.at[sid, "enrolment_at"].to_pydatetime()
        assert row["enrolment_date"] == local_date(at, zone).isoformat(), sid
        differs += local_date(at, zone) != at.date()
    assert differs  # the cohort has enrolments whose UTC date is another day
