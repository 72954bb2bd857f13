"""Languages of the faces (pages, report, command line) and the site's clock on them.

neurocart speaks English and Chinese (zh-CN). The core (store, monitor, standards) stays in
English: its texts are the record of truth that the API serves unchanged. The faces translate
when they show something, through the gettext catalogues in `neurocart/locale`:

    with using("zh_CN"):
        gettext("Ward board")        # '病房看板'

The language of one request lives in a context variable, so the Jinja2 templates, the Python
code of the pages and the report all read the same one without passing it around. Which
language a request gets: the user's stored preference, else the browser's `Accept-Language`,
else the site default (`Settings.default_locale`) — see `negotiate`.

Times are shown in the site's zone (`Settings.timezone`), on a 24-hour clock, with the
zone named; stored instants stay UTC. Chinese dates are written 2025年3月3日.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LOCALES: tuple[str, ...] = ("en", "zh_CN")
"""The languages neurocart ships, as gettext locale names (en is the source language)."""
NAMES = {"en": "English", "zh_CN": "中文"}
"""Each language in its own words (the language switch)."""

_current: ContextVar[str] = ContextVar("neurocart_locale", default="en")


def normalize(code: str | None) -> str | None:
    """One of LOCALES for a language tag ("zh-CN", "zh", "zh_Hans", "en-GB"), else None."""
    if not code:
        return None
    try:
        locale = Locale.parse(code.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    if locale.language == "zh":
        return (
            "zh_CN" if locale.territory in (None, "CN", "SG") and locale.script != "Hant" else None
        )
    return "en" if locale.language == "en" else None


def negotiate(preferred: str | None, accept_language: str | None, default: str) -> str:
    """The language of a request: the user's preference, else the first supported language
    of `Accept-Language` (by quality), else the site default."""
    chosen = normalize(preferred)
    if chosen:
        return chosen
    for tag in _accepted(accept_language or ""):
        chosen = normalize(tag)
        if chosen:
            return chosen
    return normalize(default) or "en"


def _accepted(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first ("*" and q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of `locale` (English: the source texts themselves)."""
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def current() -> str:
    """The language of the running request or command."""
    return _current.get()


def activate(locale: str) -> None:
    """Make `locale` the language of the running context (a request, a command)."""
    _current.set(normalize(locale) or "en")


@contextmanager
def using(locale: str) -> Iterator[None]:
    """`locale` for the duration of a block (a report in another language, a test)."""
    token = _current.set(normalize(locale) or "en")
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """`message` in the current language. An empty text stays empty: gettext's own lookup of
    "" answers with the catalogue's header ("Project-Id-Version: ..."), which an empty error
    slot or table cell would otherwise show."""
    if not message:
        return message
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message in the current language, chosen by `n`."""
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, as meant in `context` (e.g. a monitor rule's id)."""
    return str(translations(current()).pgettext(context, message))


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark `message` for the catalogue without translating it now (translated where shown)."""
    return message


_PERCENT_BEFORE_WORD = re.compile(r"%(?= [^\W\d_])")
PERCENT_FIELD = "{percent}"
"""Where a text of the core's tables has a percent sign before a word, in its catalogue key."""


def percent_key(text: str) -> str:
    """The catalogue key of a text of the core's tables: a percent sign before a word ("CAR+
    cells, % of T cells") written as the field {percent}, because gettext tools read "% o" as
    a printf placeholder and refuse a translation without it (docs/languages.md)."""
    return _PERCENT_BEFORE_WORD.sub(PERCENT_FIELD, text)


def translated(message: str) -> str | None:
    """`message` in the current language when the catalogue holds it (English: `message`
    itself), else None — unlike `gettext`, which falls back to the English. A text of the
    core's tables with a percent sign before a word is found by its `percent_key`."""
    locale = current()
    if locale == "en" or not message:  # "" is the catalogue's header, not a text
        return message
    catalog: dict[object, str] = getattr(translations(locale), "_catalog", {})
    found = catalog.get(message)
    if found:
        return found
    key = percent_key(message)
    found = catalog.get(key) if key != message else None
    return found.replace(PERCENT_FIELD, "%") if found else None


def term(text: str) -> str:
    """A text of the core's tables (a code, a word, a readout's name) in the current language,
    else as it is."""
    return translated(text) or text


# ---------------------------------------------------------------- texts of the core

_JOINERS: dict[str, dict[str, str]] = {
    "zh_CN": {", ": "、", "; ": "；", " and ": " 且 ", " or ": " 或 "}
}
"""How a language joins the items of a list parameter, by the English separator."""


def joined(items: Iterable[str], sep: str = ", ") -> str:
    """Items joined the current language's way for the English separator `sep` ("、" for ", "
    in Chinese)."""
    return _JOINERS.get(current(), {}).get(sep, sep).join(items)


def core_text(text: str) -> str:
    """A text of the core in the current language: a calculator's reason, warning or input
    error, which the core writes in English from a message key and its parameters
    (`neurocart.standards.reason`). The key is translated, numbers and units are kept, a
    parameter that is a catalogue word or another keyed text is translated too, a list item
    by item. A text no key matches is shown as it is."""
    locale = current()
    if locale == "en":
        return text
    return _core(locale, text) or text


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A parameter that is a date alone (a cut-off, a first infusion): written the reader's way."""


@lru_cache(maxsize=8192)
def _core(locale: str, text: str) -> str | None:
    if _ISO_DATE.fullmatch(text):
        try:
            return _date_text(date.fromisoformat(text), locale == "zh_CN")
        except ValueError:
            return None
    with using(locale):
        word = translated(text)
        if word is not None:
            return word
        from neurocart.standards import reason

        found = reason.find(text)
        return None if found is None else _filled(locale, *found)


def _filled(locale: str, template: Any, params: dict[str, str]) -> str | None:
    key = translated(template.key)
    if key is None:
        return None
    shown: dict[str, str] = {}
    for name, value in params.items():
        if name in template.kept:
            shown[name] = value
            continue
        items = template.lists.get(name)
        if items is None:
            shown[name] = _core(locale, value) or value
            continue
        joiner = _JOINERS.get(locale, {}).get(items.sep, items.sep)
        parts = value.split(items.sep)
        shown[name] = joiner.join(_item(locale, part, items.item) for part in parts)
    return key.format(**shown)


def input_error(error: Any) -> str:
    """A `CalculatorInputError` as its message says it (`str(error)`), in the current language:
    each problem's field, the problem (a keyed text, `core_text`) and the value given."""
    import reprlib

    lines = [gettext("invalid input for calculator {name!r}:").format(name=error.calculator)]
    for problem in error.problems:
        where = "" if problem.row is None else gettext("row {row}: ").format(row=problem.row)
        got = (
            ""
            if problem.got is None
            else gettext(" (got {value})").format(value=reprlib.repr(problem.got))
        )
        lines.append(f"  - {where}{problem.field}: {core_text(problem.message)}{got}")
    return "\n".join(lines)


ENTITIES = {
    "patient": N_("patient"),
    "course": N_("treatment course"),
    "observation": N_("observation"),
    "assessment": N_("assessment"),
    "event": N_("clinical event"),
    "task": N_("task"),
    "mri_scan": N_("MRI scan"),
    "ncs_study": N_("nerve-conduction study"),
    "alert": N_("alert"),
    "user": N_("user"),
}
"""The records a refusal of the store names, by the entity code of its English message."""


def error_text(error: BaseException) -> str:
    """A refusal of the store, the services or the ingest (not found, a conflict, an invalid
    record, observation or input) as its message says it (`str(error)`, the English the API
    serves), in the current language: the field kept, the record named in words, the message
    found by its key (the `MESSAGES` of the `REFUSALS` modules) or as a catalogue text, the
    value given kept. Any other error of neurocart (an audit key, a cohort's scope, an export)
    is said by the `MESSAGES` of the module that defines its class, when its text is one of
    them; else, and in English, as `str(error)`."""
    from neurocart.ingest.errors import ObservationError
    from neurocart.services.errors import MAX_SHOWN, InvalidInputError
    from neurocart.store.errors import ConflictError, InvalidRecordError, NotFoundError

    if current() == "en":
        return str(error)
    if isinstance(error, NotFoundError):
        entity = gettext(ENTITIES.get(error.entity, error.entity))
        text = gettext("no {entity} {key}").format(entity=entity, key=repr(error.key))
        return _at(error.field, text)
    if isinstance(error, InvalidRecordError | ObservationError):
        return _at(error.field, refusal(error.message)) + _got(error.got)
    if isinstance(error, ConflictError):
        return _at(error.field, refusal(error.message))
    if isinstance(error, InvalidInputError):
        shown = [_at(p.location, refusal(p.message)) + _got(p.got) for p in error.problems]
        more = len(shown) - MAX_SHOWN
        text = _JOINERS.get(current(), {}).get("; ", "; ").join(shown[:MAX_SHOWN])
        return text + (gettext("; … and {n} more").format(n=more) if more > 0 else "")
    if type(error).__name__ == "OmicsInputError":
        field, message = getattr(error, "field", ""), getattr(error, "message", str(error))
        return _at(_row_field(field), message_text(message, *OMICS_MODULES))
    listed = _problem_list(error)
    if listed is not None:
        return listed
    modules = [kind.__module__ for kind in type(error).__mro__]
    return message_text(str(error), *(m for m in modules if m.startswith("neurocart.")))


OMICS_MODULES = ("neurocart.omics.samplesheet", "neurocart.omics.errors")
"""The modules whose `MESSAGES` key an omics input error (`neurocart.omics.OmicsInputError`)."""


def _row_field(field: str) -> str:
    """An omics input error's place ("row 3: tissue") with its row said the reader's way."""
    row, sep, column = field.partition(": ")
    if sep and row.startswith("row ") and row[4:].isdigit():
        return gettext("row {row}: ").format(row=row[4:]) + column
    return field


PROBLEM_LISTS = {
    "ProtocolError": ("neurocart.pathway.loader", "neurocart.pathway.protocol"),
    "RuleFileError": ("neurocart.monitor.ruleset", "neurocart.monitor.routing"),
}
"""The errors that list every problem of a file (a protocol, a monitor rule file), by class
name: the modules whose `MESSAGES` key the heading and the problems."""


def _problem_list(error: BaseException) -> str | None:
    """A protocol or rule file's problems as `str(error)` lists them ("invalid protocol X:" and
    one "  - path: problem" line each), in the current language: the heading and each problem
    by its key, the TOML path kept."""
    modules = PROBLEM_LISTS.get(type(error).__name__)
    problems = getattr(error, "problems", None)
    if modules is None or problems is None:
        return None
    heading = message_text(str(error).split("\n", 1)[0], *modules)
    lines = [f"  - {_at(p.path, message_text(p.message, *modules))}" for p in problems]
    return "\n".join([heading, *lines])


def message_text(text: str, *modules: str) -> str:
    """A text of the core made from a message key of `modules` (their `MESSAGES`, or those of
    `REFUSALS`) in the current language: the key translated, its fields kept or translated
    (`core_text`); a text no key matches as it is."""
    for module in modules:
        _register(module)
    return refusal(text)


def refusal(message: str) -> str:
    """The message of a refusal (without its field: "must not be negative", a batch row's
    problem) in the current language, found by its key; else as it is."""
    for module in REFUSALS:
        _register(module)
    return core_text(message)


def _at(field: str | None, text: str) -> str:
    return gettext("{field}: {text}").format(field=field, text=text) if field else text


def _got(value: Any) -> str:
    return "" if value is None else gettext(" (got {value})").format(value=repr(value))


REFUSALS = ("neurocart.store.errors", "neurocart.services.errors", "neurocart.ingest.errors")
"""The modules whose `MESSAGES` key the refusals that every face repeats (a record, an input,
an observation refused); the catalogues list them with the others (`refusal_messages`)."""
ERROR_MODULES = (
    "neurocart.store.audit_keys",
    "neurocart.store.engine",
    "neurocart.store.audit",
    "neurocart.store.checkpoints",
    "neurocart.services.leadership",
    "neurocart.demo.build",
    "neurocart.pathway.loader",
    "neurocart.pathway.protocol",
    "neurocart.monitor.ruleset",
    "neurocart.monitor.routing",
    "neurocart.omics.errors",
    "neurocart.omics.samplesheet",
    "neurocart.reports.scope",
    "neurocart.interop.codemap",
    "neurocart.interop.hl7.receiver",
    "neurocart.interop.redcap.records",
    "neurocart.interop.sdtm.domains",
    "neurocart.interop.sdtm.xpt",
)
"""Modules of other errors whose `MESSAGES` key their texts (what the command line and the
pages repeat): listed for the catalogues; `error_text` finds an error's keys by the module
that defines its class."""
_FIELD_PATTERNS = {"code": r"[^\s()]+", "typed": r"'[^']*'"}
"""A refusal key's fields that need a shape: an observation code is one word without
parentheses (the display name before it may have some: "Oxygen saturation (SpO₂)"); a value
a command was given is quoted ('janitor')."""
_TRANSLATED_FIELDS = frozenset(
    {
        "display", "entity", "role", "disciplines", "source", "holder", "where", "error",
        "choices", "finding", "param_type", "label",
    }
)  # fmt: skip
"""The fields of a refusal key a face translates (a code's name, a record, a role, a keyed
text given as a field); every other field (a code, a field name, a path, a value) is shown
as it is."""
_DATE_FIELDS = frozenset({"cutoff", "first"})
"""The fields of a refusal key that hold a date (ISO, as the English says it): shown the
reader's way ("2025年3月3日")."""
_registered: set[str] = set()


def refusal_messages() -> list[str]:
    """Every refusal key of `REFUSALS` and `ERROR_MODULES`, for the catalogues
    (`locale/sources.toml`)."""
    import importlib

    found: dict[str, None] = {}
    for name in (*REFUSALS, *ERROR_MODULES):
        found.update(dict.fromkeys(getattr(importlib.import_module(name), "MESSAGES", ())))
    return list(found)


def _register(module_name: str) -> None:
    """Make the `MESSAGES` of a module (imported already, or now) keys that `core_text` finds:
    once per module. A field named `alternatives` is a list joined by " or ", one named
    `disciplines` a list of disciplines joined by ", " (each translated); only the
    `_TRANSLATED_FIELDS` are translated."""
    if module_name in _registered:
        return
    import importlib

    from neurocart.standards.reason import Items, Reason

    keys = getattr(importlib.import_module(module_name), "MESSAGES", ())
    shapes = {"alternatives": Items(" or "), "disciplines": Items(", ")}
    for key in keys:
        names = {name for _, name, _, _ in string.Formatter().parse(key) if name}
        lists = {name: items for name, items in shapes.items() if name in names}
        kept = frozenset(names - _TRANSLATED_FIELDS - _DATE_FIELDS - set(lists))
        Reason(key, patterns=_FIELD_PATTERNS, lists=lists, kept=kept)
    _registered.add(module_name)
    if keys:
        _core.cache_clear()  # a text looked up before its key was known


def _item(locale: str, text: str, template: Any) -> str:
    word = translated(text)
    if word is not None:
        return word
    if template is not None:
        params = template.match(text)
        if params is not None:
            filled = _filled(locale, template, params)
            if filled is not None:
                return filled
    return _core(locale, text) or text


# ---------------------------------------------------------------- time on the faces


@lru_cache(maxsize=64)
def zone_of(name: str) -> tzinfo:
    """The IANA zone `name` ("Asia/Shanghai"); ValueError naming it when unknown. Cached: a
    chart formats thousands of instants."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)"
        ) from None


def site_zone() -> tzinfo:
    """The site's time zone (`Settings.timezone`)."""
    from neurocart.config import get_settings

    return zone_of(get_settings().timezone)


def local(at: datetime, zone: tzinfo | None = None) -> datetime:
    """An instant on the site's clock (naive instants are taken as UTC, as the store keeps them)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone or site_zone())


def zone_label(at: datetime | None = None, zone: tzinfo | None = None) -> str:
    """The zone as its UTC offset at `at` (default now): "UTC", "UTC+8", "UTC+1", "UTC+5:30"."""
    zone = zone or site_zone()
    return _offset_label((at or datetime.now(UTC)).astimezone(zone).utcoffset())


def _offset_label(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_date(day: date | datetime | None) -> str:
    """A date as the current language writes it: 2025-03-03, or 2025年3月3日 (a dash for none).
    An instant is first put on the site's clock."""
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = local(day).date()
    return _date_text(day, current() == "zh_CN")


def _date_text(day: date, chinese: bool) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if chinese else day.isoformat()


def format_time(at: datetime | None) -> str:
    """HH:MM on the site's 24-hour clock (a dash for none)."""
    return "—" if at is None else local(at).strftime("%H:%M")


def format_clock(at: datetime | None, now: datetime) -> str:
    """HH:MM when `at` is on today's date on the site's clock (today as of `now`), else the date
    too ("2025年3月2日 19:44"): at 03:00 a bare "19:44" would not say it was yesterday evening.
    A dash for none."""
    if at is None:
        return "—"
    zone = site_zone()
    if local(at, zone).date() == local(now, zone).date():
        return format_time(at)
    return _datetime_text(at, zone, current() == "zh_CN", False)


def format_datetime(at: datetime | None, *, zone_shown: bool = True) -> str:
    """Date and 24-hour time on the site's clock with the zone: "2025-03-03 14:05 UTC+8",
    "2025年3月3日 14:05（UTC+8）"."""
    if at is None:
        return "—"
    return _datetime_text(at, site_zone(), current() == "zh_CN", zone_shown)


def format_datetimes(ats: Iterable[datetime]) -> list[str]:
    """`format_datetime` of each instant (a chart's thousands of points), the site's zone and
    the language looked up once."""
    zone = site_zone()
    chinese = current() == "zh_CN"
    return [_datetime_text(at, zone, chinese, True) for at in ats]


def _datetime_text(at: datetime, zone: tzinfo, chinese: bool, zone_shown: bool) -> str:
    moment = local(at, zone)
    text = f"{_date_text(moment.date(), chinese)} {moment.hour:02d}:{moment.minute:02d}"
    if not zone_shown:
        return text
    # the zone's offset at that instant: `moment`'s own, unless `at` is naive (`zone_label`
    # then reads it on the system clock, as it always has)
    label = _offset_label(moment.utcoffset()) if at.tzinfo is not None else zone_label(at, zone)
    return f"{text}（{label}）" if chinese else f"{text} {label}"


def local_input(at: datetime | None) -> str:
    """An instant as the value of a form's date-time field: "2025-03-03 14:05" on the site's
    24-hour clock. The field is plain text, not <input type="datetime-local">, whose picker
    shows the browser's own clock (03:04 AM in an English browser) whatever the page's
    language."""
    return "" if at is None else local(at).strftime("%Y-%m-%d %H:%M")


_DATE_TEXT = r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*"
"""A date as a ward writes it, year first: 2025-03-03, 2025/3/3, 2025.3.3, 2025年3月3日."""
_LOCAL_TIME = re.compile(
    _DATE_TEXT + r"[T ]?\s*(\d{1,2})\s*[:：时]\s*(\d{2})\s*分?(?:[:：](\d{2}))?\s*"
)


def parse_local(text: str) -> datetime:
    """A date and 24-hour time typed at the site, naive (on the site's clock): "2025-03-03
    14:05", "2025-03-03T14:05" (what a browser's date-time field sends), "2025/3/3 4:05",
    "2025年3月3日 14:05"; an ISO time with an offset keeps it. ValueError for anything else,
    a date without its time included (a bedside time is never taken to be midnight)."""
    found = _LOCAL_TIME.fullmatch(text)
    if found is None:
        if ":" not in text:
            raise ValueError(f"no time of day in {text!r}")
        return datetime.fromisoformat(text.strip())
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in found.groups())
    return datetime(year, month, day, hour, minute, second)


_LOCAL_DATE = re.compile(_DATE_TEXT)


def parse_local_date(text: str) -> date:
    """A calendar date typed at the site: "2025-03-03", "2025/3/3", "2025.3.3", "2025年3月3日"
    (year first, as both languages of the interface write it). ValueError for anything else,
    including a date with a time (a date field never drops a time silently)."""
    found = _LOCAL_DATE.fullmatch(text)
    if found is None:
        raise ValueError(f"not a date: {text!r}")
    year, month, day = (int(g) for g in found.groups())
    return date(year, month, day)


def from_local(value: datetime, zone: tzinfo | None = None) -> datetime:
    """A wall-clock time entered at the site (naive) as the UTC instant it means; an aware
    value keeps its own offset. Ambiguous times at a daylight-saving fall-back take the first
    (summer) reading, missing ones at spring-forward the offset before the switch (PEP 495)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return value.replace(tzinfo=zone or site_zone()).astimezone(UTC)
