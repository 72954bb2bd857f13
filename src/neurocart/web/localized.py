"""English texts of the core, shown in the reader's language (template filters).

The core keeps English: calculator reasons, monitor rule titles and actions, severities,
disciplines and task states are stored and served by the API as they are. The pages translate
them only when they show them:

- a calculator reason by its message key and parameters (`neurocart.standards.reason`);
- a rule's title or recommended action by the rule's id (the gettext context) and the English
  text (the msgid), so two rules with the same words may be translated differently;
- a code ("critical", "hematology", "due") by itself (`KINDS` marks them for the catalogue).

A text the catalogue does not know is shown as it is, in English.
"""

from __future__ import annotations

from functools import lru_cache

from neurocart import i18n
from neurocart.i18n import N_
from neurocart.ingest.codes import CATALOGUE
from neurocart.monitor.signals import SIGNALS, SUSTAINED
from neurocart.standards.crs import DEVICE_WORDS
from neurocart.web import alert_text

KINDS: dict[str, tuple[str, ...]] = {
    "severity": (N_("critical"), N_("urgent"), N_("warning"), N_("info")),
    "discipline": (
        N_("neurology"), N_("hematology"), N_("icu"), N_("imaging"), N_("immunology"),
        N_("nursing"), N_("data_manager"), N_("system"),
    ),
    "state": (
        N_("upcoming"), N_("due"), N_("overdue"), N_("done"), N_("not_applicable"),
        N_("not_scheduled"),
    ),
    "flag": (N_("fever"), N_("low")),
    "sex": (N_("female"), N_("male"), N_("other"), N_("unknown")),
    "event": (
        N_("relapse"), N_("infection"), N_("hospitalization"), N_("adverse event"), N_("crs"),
        N_("icans"), N_("seizure"), N_("oxygen support"), N_("drug given"),
        N_("maintenance started"), N_("maintenance stopped"), N_("death"), N_("mri"),
        N_("lumbar puncture"), N_("echocardiogram"), N_("ecg"), N_("neuro exam"),
        N_("leukapheresis"), N_("product shipped"), N_("car t infusion"), N_("premedication"),
        N_("supportive care"), N_("diagnosis confirmed"), N_("washout documented"),
        N_("bridging decision"), N_("patient education"), N_("relapse history reviewed"),
        N_("neutropenia review"), N_("vaccination review"), N_("ltfu review"),
    ),
    "source": (N_("bedside form"),),
    "finding": (N_("yes"), N_("no"), N_("not available"), N_("derived from vitals and events")),
    "role": (
        N_("admin"), N_("investigator"), N_("neurologist"), N_("hematologist"), N_("icu"),
        N_("nurse"), N_("data_manager"), N_("monitor"),
    ),
}  # fmt: skip
"""Codes the pages show, by kind: marked here so that the catalogue holds them."""

DRUG_NAMES: dict[str, str] = {
    # CAR-T course and toxicity management
    "fludarabine": N_("fludarabine"), "cyclophosphamide": N_("cyclophosphamide"),
    "tocilizumab": N_("tocilizumab"), "siltuximab": N_("siltuximab"),
    "anakinra": N_("anakinra"), "dexamethasone": N_("dexamethasone"),
    "methylprednisolone": N_("methylprednisolone"), "levetiracetam": N_("levetiracetam"),
    "vasopressor": N_("vasopressor"), "norepinephrine": N_("norepinephrine"),
    "antimicrobial": N_("antimicrobial"), "acyclovir": N_("acyclovir"), "g_csf": N_("G-CSF"),
    "ivig": N_("IVIg"), "plasma_exchange": N_("plasma exchange"),
    # disease-modifying and maintenance therapies
    "interferon_beta": N_("interferon beta"), "fingolimod": N_("fingolimod"),
    "natalizumab": N_("natalizumab"), "ocrelizumab": N_("ocrelizumab"),
    "ofatumumab": N_("ofatumumab"), "cladribine": N_("cladribine"),
    "alemtuzumab": N_("alemtuzumab"), "azathioprine": N_("azathioprine"),
    "mycophenolate": N_("mycophenolate"), "rituximab": N_("rituximab"),
    "eculizumab": N_("eculizumab"), "inebilizumab": N_("inebilizumab"),
    "pyridostigmine": N_("pyridostigmine"), "prednisone": N_("prednisone"),
    "efgartigimod": N_("efgartigimod"), "methotrexate": N_("methotrexate"),
    "tacrolimus": N_("tacrolimus"),
}  # fmt: skip
"""Drug codes as events and therapy lists store them → their generic name (INN), for the
catalogue: a Chinese page says 托珠单抗, not tocilizumab."""


def drug(code: str | None) -> str:
    """A stored drug code by its name in the reader's language; an unknown one as it is."""
    if not code:
        return ""
    name = DRUG_NAMES.get(code.strip().lower())
    return code if name is None else i18n.gettext(name)


def term(code: object) -> str:
    """A code of the core in the reader's language ("critical" → "危急"), else as it is."""
    return i18n.term(str(code))


def code_name(code: str, system: str) -> str:
    """An observation code's name in the reader's language ("8310-5" → "体温"), else the code:
    a table of latest values reads by name, not by LOINC number."""
    entry = CATALOGUE.get((system, code))
    return code if entry is None else i18n.term(entry.display)


def reason(text: str) -> str:
    """A calculator reason, warning or input error in the reader's language: its key
    translated, its parameters kept (numbers, units) or translated when they are themselves
    catalogue texts (device words, item names, lists of them); see `i18n.core_text`."""
    return i18n.core_text(text)


def _value(value: str) -> str:
    """A finding's value: a word translated (an oxygen device by its words: "nasal_cannula" →
    "鼻导管"); a number kept, with its unit translated when the unit is a word ("2 points")."""
    if value in DEVICE_WORDS:
        return i18n.gettext(DEVICE_WORDS[value])
    if not value[:1].isdigit():
        return i18n.gettext(value)
    number, _, unit = value.partition(" ")
    return f"{number} {i18n.gettext(unit)}" if unit else number


def rule_text(text: str, rule_id: str) -> str:
    """A monitor rule's title or recommended action in the reader's language (by the rule's id
    and the English text), else the English text."""
    return i18n.pgettext(rule_id, text) if text else text


@lru_cache(maxsize=1)
def _labels_longest_first() -> tuple[str, ...]:
    return tuple(sorted({s.label for s in SIGNALS.values()}, key=len, reverse=True))


CRS_GRADE_SOURCES = ("crs_grade_derived", "crs_grade_recorded", "crs_grade_source")
"""The monitor signals that say where the current CRS grade comes from (only CRS has a
recorded grade beside the derived one)."""
GRADE_SOURCES = {
    "crs": tuple(SIGNALS[name].label for name in CRS_GRADE_SOURCES),
}
"""Per episode, the findings that say where the grade came from when the alert last
changed: a page that shows the current grade and its source beside the alert leaves them
out (`findings(..., current=episode)`), or the card would read "recorded by a clinician"
above an alert saying "derived from vitals" from days before."""


def findings(text: str, current: str | None = None) -> str:
    """An alert's findings ("temperature 39.4 °C; vasopressin: no") in the reader's language:
    each clause is a monitor signal's label and its value (`neurocart.monitor.signals`); the
    label is translated, a number and its unit kept, a word value translated when the
    catalogue has it. A clause that is no signal's is shown as it is. `current`: the episode
    whose current grade the page shows beside the alert (see `GRADE_SOURCES`)."""
    clauses = alert_text.findings(text, without=GRADE_SOURCES.get(current or "", ()))
    if i18n.current() == "en" or not clauses:
        return clauses
    return "；".join(_clause(c) for c in clauses.split("; "))


def _clause(clause: str) -> str:
    sustained = SUSTAINED.match(clause)
    if sustained is not None:
        inner = _clause(sustained["clause"])
        return i18n.gettext(SUSTAINED.key).format(clause=inner, days=sustained["days"])
    for label in _labels_longest_first():
        if clause == label:
            return i18n.gettext(label)
        if clause.startswith(label) and clause[len(label)] in " :":
            rest = clause[len(label) :]
            colon = rest.startswith(":")
            value = rest.lstrip(": ")
            return i18n.gettext(label) + ("：" if colon else " ") + _value(value)
    return clause
