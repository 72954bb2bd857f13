"""The catalogues hold every text of the faces, and zh_CN translates each of them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from neurocart import catalogue, i18n
from neurocart.standards import calculate
from neurocart.standards import reason as reasons
from neurocart.studyday import day_start
from neurocart.web.localized import reason, rule_text, term


def test_every_text_is_translated_in_the_compiled_chinese_catalogue() -> None:
    missing = catalogue.missing("zh_CN")
    assert not missing, "run `make catalogues` and translate:\n" + "\n".join(missing[:40])


def test_the_english_catalogue_lists_every_text() -> None:
    with (catalogue.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        english = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(f)}
    absent = sorted(set(catalogue.extracted()) - english, key=str)
    assert not absent, f"run `make catalogues`: {absent[:20]}"


def test_the_compiled_catalogue_is_the_po_file() -> None:
    assert not catalogue.stale("zh_CN"), "run `make catalogues` (pybabel compile)"


def test_extraction_finds_templates_rules_and_reasons() -> None:
    found = catalogue.extracted()
    assert (None, "Ward board") in found
    assert ("fever", "Fever ≥ 38.0 °C after infusion (days 0–14)") in found
    assert (None, "temperature {t} °C ≥ {limit} °C: fever") in found
    assert any(where.startswith("neurocart/web/templates/") for where in found.values())


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
        ("zh", None, "zh_CN"),
        ("en-GB,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9,zh-CN;q=0.5", None, "zh_CN"),
        ("de-DE", None, "en"),  # nothing supported: the site default
        ("zh-CN", "en", "en"),  # the user's stored preference wins
        ("en;q=0.1,zh-TW;q=0.9", None, "en"),  # traditional Chinese is not shipped
        ("", None, "en"),
    ],
)
def test_the_language_of_a_request(header: str, preferred: str | None, expected: str) -> None:
    assert i18n.negotiate(preferred, header, "en") == expected


def test_the_site_default_applies_without_a_usable_header() -> None:
    assert i18n.negotiate(None, "de", "zh_CN") == "zh_CN"


def test_calculator_reasons_are_keys_with_parameters_and_stay_english() -> None:
    result = calculate(
        "crs",
        {"temperature_c": 39.2, "hypotension": True, "vasopressors": 1,
         "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 3},
    )  # fmt: skip
    assert result.reasons[0] == "temperature 39.2 °C ≥ 38.0 °C: fever"
    for text in result.reasons:
        assert reasons.parse(text) is not None, text
    with i18n.using("zh_CN"):
        shown = [reason(text) for text in result.reasons]
    assert shown[0] == "体温 39.2 °C ≥ 38.0 °C：发热"
    assert all("grade" not in s for s in shown), shown
    with i18n.using("en"):
        assert [reason(text) for text in result.reasons] == result.reasons


def test_quoted_words_in_a_reason_are_translated_too() -> None:
    result = calculate("icans", {"ice_score": 5, "consciousness": "awakens_to_voice"})
    with i18n.using("zh_CN"):
        shown = [reason(text) for text in result.reasons]
    assert "意识水平下降，呼唤可醒 → 2级" in shown
    assert "ICE 5/10（3–6）→ 2级" in shown


def test_an_unknown_reason_is_shown_as_it_is() -> None:
    with i18n.using("zh_CN"):
        assert reason("a reason no template made") == "a reason no template made"


def test_alert_titles_are_translated_by_rule_and_codes_by_themselves() -> None:
    title = "Fever ≥ 38.0 °C after infusion (days 0–14)"
    with i18n.using("zh_CN"):
        assert rule_text(title, "fever") == "回输后发热 ≥ 38.0 °C（D0–D14）"
        assert rule_text(title, "no_such_rule") == title
        assert term("critical") == "危急"
        assert term("hematology") == "血液科"
        assert i18n.gettext("Acknowledge") == "确认"


def test_dates_in_chinese_and_times_on_the_site_clock() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    instant = datetime(2025, 3, 3, 6, 5, tzinfo=UTC)
    with i18n.using("zh_CN"):
        assert i18n.format_date(date(2025, 3, 3)) == "2025年3月3日"
    assert i18n.local(instant, shanghai).strftime("%H:%M") == "14:05"
    assert i18n.zone_label(instant, shanghai) == "UTC+8"
    assert i18n.zone_label(instant, ZoneInfo("Asia/Kolkata")) == "UTC+5:30"
    assert i18n.from_local(datetime(2025, 3, 3, 14, 5), shanghai) == instant
    assert day_start(date(2025, 3, 3), shanghai) == datetime(2025, 3, 2, 16, 0, tzinfo=UTC)


def test_a_time_not_of_today_is_given_with_its_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 03:00 Beijing time a task due at 19:44 the evening before reads with its date."""
    from neurocart.config import get_settings

    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    now = datetime(2025, 3, 2, 19, 0, tzinfo=UTC)  # 03:00 on 3 March in Beijing
    try:
        with i18n.using("zh_CN"):
            assert i18n.format_clock(datetime(2025, 3, 2, 18, 30, tzinfo=UTC), now) == "02:30"
            yesterday = datetime(2025, 3, 2, 11, 44, tzinfo=UTC)  # same UTC date, not Beijing's
            assert i18n.format_clock(yesterday, now) == "2025年3月2日 19:44"
        with i18n.using("en"):
            assert i18n.format_clock(yesterday, now) == "2025-03-02 19:44"
    finally:
        get_settings.cache_clear()


def test_an_empty_text_stays_empty_not_the_catalogue_header() -> None:
    """gettext's own lookup of "" is the catalogue's header: an empty error slot of a form or
    an empty table cell would show "Project-Id-Version: ..." in Chinese."""
    with i18n.using("zh_CN"):
        assert i18n.gettext("") == ""
        assert i18n.translated("") == ""
        assert term("") == ""
        assert reason("") == ""
        assert i18n.core_text("") == ""


def test_scale_abbreviations_stay_latin() -> None:
    with i18n.using("zh_CN"):
        for text in ("ICE score", "Grade ICANS with this ICE", "ICE & scales"):
            assert "ICE" in i18n.gettext(text)


def test_alert_findings_are_translated_clause_by_clause() -> None:
    from neurocart.web.localized import findings

    text = "CRS grade (ASTCT) 2. CRS grade (ASTCT) 2; temperature 39.4 °C; vasopressin: no; odd"
    with i18n.using("zh_CN"):
        assert findings(text) == "CRS分级（ASTCT） 2；体温 39.4 °C；血管加压素：否；odd"
    with i18n.using("en"):
        assert findings(text) == "CRS grade (ASTCT) 2; temperature 39.4 °C; vasopressin: no; odd"


def test_an_oxygen_device_in_the_findings_reads_as_words() -> None:
    from neurocart.web.localized import findings

    text = "CRS grade (ASTCT) 2; oxygen support nasal_cannula"
    with i18n.using("zh_CN"):
        assert findings(text) == "CRS分级（ASTCT） 2；吸氧支持 鼻导管"


def test_every_event_type_the_chart_lists_is_translated() -> None:
    from neurocart.store.models import EventType

    words = [e.value.replace("_", " ") for e in EventType]  # as the chart's events table
    with i18n.using("zh_CN"):
        left = [w for w in words if i18n.translated(w) is None]
    assert not left, left


def test_the_study_forms_read_in_chinese() -> None:
    """Titles, intros, labels, help and choices of the MRI and nerve-conduction forms: the
    template shows each through `term`, so each must be in the catalogue."""
    from neurocart.web.studies import CHOICE_WORDS, FORMS

    texts = set(CHOICE_WORDS)
    for form in FORMS.values():
        texts |= {form.title, form.intro}
        texts |= {t for f in (*form.fields, *form.rows) for t in (f.label, f.help) if t}
    with i18n.using("zh_CN"):
        untranslated = sorted(t for t in texts if term(t) == t)
    assert not untranslated


def test_the_single_cell_readout_names_read_in_chinese() -> None:
    """Their English names hold "% of", so the catalogue keys them with {percent}."""
    from neurocart.cohort.biomarkers import single_cell_codes
    from neurocart.web.chart import SINGLE_CELL_TITLES

    names = [*single_cell_codes().values(), *SINGLE_CELL_TITLES]
    assert "CAR+ cells, % of T cells in blood (single-cell)" in names
    with i18n.using("zh_CN"):
        shown = {name: term(name) for name in names}
    assert shown["CAR+ cells, % of T cells in blood (single-cell)"] == (
        "血液 CAR+ 细胞占 T 细胞百分比（单细胞）"
    )
    assert shown["Single-cell: CAR+ cells, % of T cells"] == "单细胞：CAR+ 细胞占 T 细胞百分比（%）"
    assert [name for name, text in shown.items() if text == name] == []
    assert i18n.percent_key("B cells, % of leukocytes") == "B cells, {percent} of leukocytes"
    with i18n.using("en"):
        assert [term(name) for name in names] == names


def test_refusals_of_the_store_and_the_services_read_in_chinese() -> None:
    from neurocart.services.errors import NO_SUCH_PROTOCOL, InvalidInputError, Problem
    from neurocart.store.errors import ALREADY_CORRECTED, ConflictError, NotFoundError

    missing = NotFoundError("patient", "NC-999", "study_id")
    corrected = ConflictError(
        ALREADY_CORRECTED.format(entity="observation", row_id=5, successor=9), "id"
    )
    protocol = InvalidInputError(
        [Problem("protocol_id", NO_SUCH_PROTOCOL.format(known="bcma_neuro"), "x")]
    )
    assert str(missing) == "study_id: no patient 'NC-999'"  # what the API serves
    with i18n.using("zh_CN"):
        assert i18n.error_text(missing) == "study_id：无此患者 'NC-999'"
        assert i18n.error_text(corrected) == "id：观测值 5 已被观测值 9 更正；请更正后者"
        assert (
            i18n.error_text(protocol) == "protocol_id：无此方案；已知方案：bcma_neuro（得到 'x'）"
        )
        assert i18n.error_text(ValueError("odd")) == "odd"
    with i18n.using("en"):
        assert i18n.error_text(corrected) == str(corrected)
