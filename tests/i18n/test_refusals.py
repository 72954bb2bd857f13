"""The refusals a face repeats (the store's invalid records, the ingest's plausibility
problems, the services' checks, an audit key, a cohort's scope, an export's input) read in
Chinese from their message keys; the English the API serves is unchanged."""

from __future__ import annotations

import importlib
import re
import string
from datetime import UTC, datetime

import pytest

from neurocart import i18n
from neurocart.ingest import normalize_batch
from neurocart.services.errors import NOT_A_LIST, InvalidInputError
from neurocart.services.plausible import TimeWindow
from neurocart.store.errors import NOT_BEFORE, NOT_NEGATIVE, InvalidRecordError

CJK = re.compile(r"[\u4e00-\u9fff]")
AT = "2025-03-01T08:00:00Z"


def row(**fields: object) -> dict[str, object]:
    return {
        "code": "8310-5",
        "value": 37.0,
        "unit": "°C",
        "effective_at": AT,
        "source": "t",
    } | fields


def english_words(text: str) -> list[str]:
    """Lower-case English words of a Chinese rendering, outside quotes, codes and field
    names (what a translation would have left in English)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\S*[_:./\[\]()]\S*", " ", text)
    return re.findall(r"\b[a-z]{3,}\b", text)


@pytest.mark.parametrize(
    ("given", "chinese", "codes"),
    [
        (row(value=60.0), "60 °C 超出体温（8310-5）生理上可能的范围 14–47 °C", []),
        (row(value=140.0, unit="°F"), "140 °F = 60 °C 超出体温（8310-5）生理上可能的范围", []),
        (
            row(code="59408-5", value=40.0, unit="kg"),
            "无法换算为血氧饱和度（SpO₂）（59408-5）的单位 %；可用单位：%, percent",
            ["percent"],  # a unit as the source may write it
        ),
        (row(specimen="csf"), "体温（8310-5）不在 csf 中测定；可用标本：other", ["csf", "other"]),
        (row(code="nope"), "http://loinc.org 中没有此观测代码", []),
        (row(value=True), "必须是数字，而不是 true/false", []),
        (row(extra=1), "未知字段", []),
    ],
)
def test_an_implausible_observation_reads_in_chinese(
    given: dict[str, object], chinese: str, codes: list[str]
) -> None:
    """The codes a user types (a unit, a specimen) stay as they are; nothing else is English."""
    _, errors = normalize_batch([given])
    (error,) = errors
    with i18n.using("zh_CN"):
        shown = i18n.refusal(error.message)
    assert chinese in shown
    assert english_words(shown) == codes, shown
    with i18n.using("en"):
        assert i18n.refusal(error.message) == error.message


def test_a_coded_value_lists_its_alternatives_the_readers_way() -> None:
    from neurocart.ingest.codes import CATALOGUE

    entry = next(e for e in CATALOGUE.values() if e.values)
    _, (error,) = normalize_batch(
        [{"code": entry.code, "code_system": entry.system, "value": 0.5, "unit": entry.unit,
          "effective_at": AT, "source": "t"}]
    )  # fmt: skip
    assert " or " in error.message
    with i18n.using("zh_CN"):
        shown = i18n.refusal(error.message)
    assert " 或 " in shown, shown
    assert " or " not in shown, shown


def test_the_stores_and_the_services_refusals_read_in_chinese() -> None:
    window = TimeWindow(datetime(1990, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInputError) as caught:
        window.check({"onset_at": datetime(2026, 1, 1, tzinfo=UTC),
                      "end_at": datetime(1980, 1, 1, tzinfo=UTC)})  # fmt: skip
    late = InvalidRecordError("end_at", NOT_BEFORE.format(other="onset_at"), "x")
    negative = InvalidRecordError("dose", NOT_NEGATIVE, -1.0)
    assert str(late) == "end_at: must not be before onset_at (got 'x')"  # the API's text
    with i18n.using("zh_CN"):
        assert i18n.error_text(caught.value) == (
            "onset_at：晚于当前时间（晚于 2025-01-01T00:00:00+00:00）"
            "（得到 '2026-01-01T00:00:00+00:00'）；"
            "end_at：早于患者的出生年份（1990）（得到 '1980-01-01T00:00:00+00:00'）"
        )
        assert i18n.error_text(late) == "end_at：不能早于 onset_at（得到 'x'）"
        assert i18n.error_text(negative) == "dose：不能为负数（得到 -1.0）"
    with i18n.using("en"):
        assert i18n.error_text(late) == str(late)


def test_a_field_that_is_a_code_stays_a_code_and_a_role_is_named() -> None:
    from neurocart.services.alerts import NotAllowedError
    from neurocart.services.errors import NOT_ALLOWED_TO_ACKNOWLEDGE

    refused = NotAllowedError(
        NOT_ALLOWED_TO_ACKNOWLEDGE.format(role="nurse", disciplines="neurology, icu")
    )
    with i18n.using("zh_CN"):
        assert i18n.error_text(refused) == "key：护士不能确认呼叫神经内科、重症医学科（ICU）的预警"


def test_other_errors_of_neurocart_read_in_chinese_by_their_modules_keys() -> None:
    from neurocart.reports.scope import (
        NO_PATIENTS,
        TOO_EARLY_AT,
        CohortScopeError,
        database_source,
    )
    from neurocart.store.audit_keys import NO_KEY, AuditKeyError

    empty = CohortScopeError(NO_PATIENTS.format(source=database_source("sqlite:///x.db")))
    early = CohortScopeError(
        TOO_EARLY_AT.format(cutoff="2025-01-01", site="BJ", first="2025-02-01")
    )
    with i18n.using("zh_CN"):
        assert i18n.error_text(AuditKeyError(NO_KEY)).startswith("没有审计密钥：请将")
        assert i18n.error_text(empty) == (
            "记录中没有患者（neurocart 数据库 sqlite:///x.db（当前数据；不含已被取代和已撤回的记录））"
        )
        assert i18n.error_text(early) == (
            "截止日期 2025年1月1日 早于中心 BJ 的首次回输（2025年2月1日）；请选择更晚的截止日期"
        )
        assert i18n.error_text(ValueError("odd")) == "odd"


def _keys() -> list[tuple[str, str]]:
    return [
        (module, key)
        for module in (*i18n.REFUSALS, *i18n.ERROR_MODULES)
        for key in importlib.import_module(module).MESSAGES
    ]


@pytest.mark.parametrize(("module", "key"), _keys())
def test_every_refusal_key_is_found_again_and_said_in_chinese(module: str, key: str) -> None:
    """Each key, filled with placeholder values, is recognised (no other key takes its text)
    and rendered from its own Chinese translation with the values kept."""
    names = [name for _, name, _, _ in string.Formatter().parse(key) if name]
    # a value typed is quoted, as the faces write it (its field has that shape)
    values = {
        name: f"'V{i}'" if name == "typed" else f"V{i}"
        for i, name in enumerate(dict.fromkeys(names))
    }
    with i18n.using("zh_CN"):
        translation = i18n.translated(key)
        assert translation, f"{key!r} has no Chinese translation"
        shown = i18n.message_text(key.format(**values), module)
    assert CJK.search(shown), shown
    for value in values.values():
        assert value in shown, (key, shown)
    assert shown == translation.format(**values), (key, shown)


def test_a_batch_that_is_not_a_list_is_refused_with_the_keyed_message() -> None:
    from neurocart.services.ingest import ingest_observation_batch

    with pytest.raises(InvalidInputError) as caught:
        ingest_observation_batch(None, None, 1, "not a list")  # type: ignore[arg-type]
    assert caught.value.problems[0].message == NOT_A_LIST


def test_an_audit_finding_that_quotes_a_checkpoint_reads_in_chinese() -> None:
    """A finding nested in the entry it is found at, the checkpoint it quotes nested in it:
    each said by its own key, the seq, the line and the time kept."""
    from neurocart.store.audit import CHECKPOINT_AT, TRUNCATED, Break

    where = CHECKPOINT_AT.format(line=2, at="2025-03-01T08:00:00Z")
    found = Break(7, TRUNCATED.format(top=7, where=where, seq=9))
    assert str(found).startswith("entry seq 7: the log ends at seq 7 but checkpoint line 2 of")
    with i18n.using("zh_CN"):
        shown = i18n.message_text(str(found), "neurocart.store.audit")
    assert shown == (
        "序号 7 的条目：日志止于序号 7，但第 2 行检查点（2025-03-01T08:00:00Z）记录的链头序号为 9："
        "最新的条目已被删除（截断）"
    ), shown


def test_a_wrapped_click_refusal_is_not_taken_by_another_modules_key() -> None:
    """With every module's keys known (as after a long run), click's "Value error, ..." keeps
    its own key: the omics panel's "is not one of" names a quoted lineage, not any text."""
    for module in (*i18n.REFUSALS, *i18n.ERROR_MODULES):
        i18n.message_text("", module)
    text = "Value error, 'janitor' is not one of 'admin', 'icu'."
    with i18n.using("zh_CN"):
        shown = i18n.message_text(text, "neurocart.cli.localized")
    assert "Value error" not in shown, shown
    assert shown.startswith("'janitor' 不是 'admin', 'icu' 之一"), shown
