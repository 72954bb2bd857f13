"""define.xml (CDISC Define-XML 2.1) describing every dataset and variable written.

Built with the standard library's ElementTree from the same variable table as the XPT files
(`neurocart.interop.sdtm.variables`) and from the data actually written: lengths are the
observed maxima, code lists hold the terms that occur, the SDTM test codes are declared with
their test names. Value-level metadata describes AETOXGR per AE category (its grading scale)
and LBORRES per lab test (its unit); the sponsor study day CARTDY is declared on the SUPP--
QVAL with its reference date. The document validates against the Define-XML 2.1 schema
(CDISC, 2019), which the tests check.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from neurocart.interop.sdtm import terms
from neurocart.interop.sdtm.domains import SdtmConfig, is_numeric
from neurocart.interop.sdtm.variables import DOMAINS, Var, variables

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("", ODM)
ET.register_namespace("def", DEF)
ET.register_namespace("xlink", XLINK)

CT_VERSION = "2024-09-27"
"""The SDTM CT package the terms were taken from."""

METHODS = {
    "USUBJID": "USUBJID = STUDYID, '-', and the pseudonymous study ID (SUBJID).",
    "SEQ": "Sequence number: 1, 2, ... per USUBJID in order of the record's date/time.",
    "DY": "Study day: date(--DTC) - date(RFSTDTC) + 1 on or after RFSTDTC, date(--DTC) - "
    "date(RFSTDTC) before it (no day 0). Dates are site-local calendar dates.",
    "AGE": "Age in years at RFSTDTC from the birth year: year(RFSTDTC) - birth year, minus 1 "
    "before 1 July (the birthday is not held; +/- 1 year).",
    "VISIT": "The care-pathway visit whose window holds the record's site-local date: "
    "screening, apheresis and lymphodepletion by the course's anchor dates; after the "
    "infusion the last visit whose nominal CAR-T day has been reached.",
    "STRES": "The result in neurocart's canonical SI unit, converted once at ingest.",
    "RFSTDTC": "RFSTDTC = RFENDTC = RFXENDTC = the CAR-T infusion (site-local time); "
    "RFXSTDTC = the first lymphodepletion dose.",
    "LBTOXGR": "CTCAE v5.0 grade of a decreased neutrophil, platelet, lymphocyte or white "
    "cell count or hemoglobin, with default lower limits of normal (neutrophils 1.8, "
    "platelets 150, lymphocytes 1.0, white cells 4.0 x10^9/L, hemoglobin 120 g/L): the "
    "record holds no laboratory reference ranges.",
    "CARTDY": "CAR-T protocol day: date(--DTC) - date(RFSTDTC). Reference date: RFSTDTC, the "
    "CAR-T infusion, is CAR-T day 0 (SDTM day 1); the day before is -1.",
}

CODELISTS: dict[str, tuple[str, str | None, Mapping[str, str] | None]] = {
    # name: (title, NCI code, decodes)
    "SEX": (
        "Sex",
        "C66731",
        {"F": "Female", "M": "Male", "U": "Unknown", "UNDIFFERENTIATED": "Undifferentiated"},
    ),
    "SPEC": ("Specimen Type", "C78734", None),
    "NY": ("No Yes Response", "C66742", {"N": "No", "Y": "Yes"}),
    "TOXGR": ("Toxicity Grade", "C87491", None),
    "AESEV": ("Severity/Intensity Scale for Adverse Events", "C66769", None),
    "UNIT": ("Unit", "C71620", None),
}


def _t(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    e = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def _desc(parent: ET.Element, text: str, tag: str = f"{{{ODM}}}Description") -> None:
    d = _t(parent, tag)
    _t(d, f"{{{ODM}}}TranslatedText", text, **{f"{{{XML}}}lang": "en"})


def _o(tag: str) -> str:
    return f"{{{ODM}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF}}}{tag}"


def _datatype(name: str, series: pd.Series) -> tuple[str, str | None, str | None]:
    """(DataType, Length, SignificantDigits) from the data written."""
    if name.endswith("DTC"):
        return "datetime", None, None
    if is_numeric(name):
        values = series.dropna()
        if values.empty or (values == values.round()).all():
            width = max([len(str(int(v))) for v in values] or [1])
            return "integer", str(width), None
        texts = [repr(float(v)) for v in values]
        digits = max(len(t.split(".")[1]) if "." in t else 0 for t in texts)
        width = max(len(t.replace("-", "").replace(".", "")) for t in texts)
        return "float", str(max(width, 1)), str(digits)
    width = max([len(str(v)) for v in series] or [1])
    return "text", str(max(width, 1)), None


def build_define(
    datasets: Mapping[str, pd.DataFrame], config: SdtmConfig, *, created: datetime | None = None
) -> ET.ElementTree[ET.Element]:
    """The define.xml document for `datasets` (name → the frame written as name.xpt)."""
    when = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element(
        _o("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{config.studyid}",
            "CreationDateTime": when,
            "ODMVersion": "1.3.2",
            "Originator": "neurocart",
            "SourceSystem": "neurocart",
            "SourceSystemVersion": "0.1.0",
            _d("Context"): "Submission",
        },
    )
    study = _t(root, _o("Study"), OID=f"STUDY.{config.studyid}")
    gv = _t(study, _o("GlobalVariables"))
    _t(gv, _o("StudyName"), config.studyid)
    _t(gv, _o("StudyDescription"), config.title)
    _t(gv, _o("ProtocolName"), config.protocol)
    mdv = _t(
        study,
        _o("MetaDataVersion"),
        OID=f"MDV.{config.studyid}.SDTMIG.3.4",
        Name=f"{config.studyid} SDTM",
        **{_d("DefineVersion"): "2.1.7"},
    )
    standards = _t(mdv, _d("Standards"))
    _t(
        standards,
        _d("Standard"),
        OID="STD.SDTMIG.3.4",
        Name="SDTMIG",
        Type="IG",
        Version="3.4",
        Status="Final",
    )
    _t(
        standards,
        _d("Standard"),
        OID="STD.CT.SDTM",
        Name="CDISC/NCI",
        Type="CT",
        PublishingSet="SDTM",
        Version=CT_VERSION,
        Status="Final",
    )

    value_lists, where_clauses, vlm_items = _value_level(datasets)
    for vl in value_lists:
        mdv.append(vl)
    for wc in where_clauses:
        mdv.append(wc)

    item_defs: list[ET.Element] = []
    codelists: dict[str, tuple[str, dict[str, str | None]]] = {}
    used_methods: set[str] = set()
    for name, frame in datasets.items():
        domain = name[4:] if name.startswith("SUPP") else name
        label, klass, structure = _dataset_info(name)
        group = _t(
            mdv,
            _o("ItemGroupDef"),
            OID=f"IG.{name}",
            Name=name,
            Repeating="No" if name in ("DM",) else "Yes",
            IsReferenceData="Yes" if klass == "TRIAL DESIGN" else "No",
            SASDatasetName=name,
            Domain=domain if name not in ("RELREC",) else None,
            Purpose="Tabulation",
            **{
                _d("Structure"): structure,
                _d("StandardOID"): "STD.SDTMIG.3.4",
                _d("ArchiveLocationID"): f"LF.{name}",
            },
        )
        _desc(group, label)
        meta = {v.name: v for v in variables(name)}
        keys = [k for k in ("STUDYID", "USUBJID", f"{domain}SEQ") if k in frame.columns]
        for order, column in enumerate(frame.columns, start=1):
            var = meta[column]
            oid = f"IT.{name}.{column}"
            ref = _t(
                group,
                _o("ItemRef"),
                ItemOID=oid,
                OrderNumber=str(order),
                Mandatory="Yes" if var.core == "Req" else "No",
                KeySequence=str(keys.index(column) + 1) if column in keys else None,
                MethodOID=f"MT.{var.method}" if var.method else None,
            )
            del ref
            if var.method:
                used_methods.add(var.method)
            item_defs.append(_item_def(oid, var, frame[column], name, codelists, vlm_items))
        _t(group, _d("Class"), Name=klass)
        leaf = _t(group, _d("leaf"), ID=f"LF.{name}", **{f"{{{XLINK}}}href": f"{name.lower()}.xpt"})
        _t(leaf, _d("title"), f"{name.lower()}.xpt")
    for item in item_defs:
        mdv.append(item)
    for item in vlm_items.values():
        mdv.append(item)
        if item.get("_method"):
            used_methods.add(item.attrib.pop("_method"))
    for cl_name, (title, items) in sorted(codelists.items()):
        _codelist(mdv, cl_name, title, items)
    for method in sorted(used_methods | {"CARTDY"}):
        m = _t(
            mdv,
            _o("MethodDef"),
            OID=f"MT.{method}",
            Name=f"Algorithm for {method}",
            Type="Computation",
        )
        _desc(m, METHODS[method])
    tree: ET.ElementTree[ET.Element] = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def _dataset_info(name: str) -> tuple[str, str, str]:
    if name.startswith("SUPP"):
        return (
            f"Supplemental Qualifiers for {name[4:]}",
            "RELATIONSHIP",
            "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        )
    label, klass, structure, _ = DOMAINS[name]
    return label, klass, structure


def _item_def(
    oid: str,
    var: Var,
    series: pd.Series,
    dataset: str,
    codelists: dict[str, tuple[str, dict[str, str | None]]],
    vlm: Mapping[str, ET.Element],
) -> ET.Element:
    datatype, length, digits = _datatype(var.name, series)
    item = ET.Element(
        _o("ItemDef"),
        {
            k: v
            for k, v in {
                "OID": oid,
                "Name": var.name,
                "DataType": datatype,
                "Length": length,
                "SignificantDigits": digits,
                "SASFieldName": var.name,
            }.items()
            if v is not None
        },
    )
    _desc(item, var.label)
    cl = _codelist_of(var, dataset)
    values = sorted({str(v) for v in series if str(v) != ""})
    if cl is not None and values:  # an empty code list is not valid ODM: no reference then
        title, decode = cl
        _, items = codelists.setdefault(title[0], (title[1], {}))
        for v in values:
            items.setdefault(v, decode.get(v) if decode else None)
        _t(item, _o("CodeListRef"), CodeListOID=f"CL.{title[0]}")
    origin = _t(item, _d("Origin"), Type=var.origin)
    if var.origin == "Collected":
        origin.set("Source", "Investigator")
    vl_oid = f"VL.{dataset}.{var.name}"
    if any(k.startswith(f"IT.{dataset}.{var.name}.") for k in vlm):
        _t(item, _d("ValueListRef"), ValueListOID=vl_oid)
    return item


def _codelist_of(var: Var, dataset: str) -> tuple[tuple[str, str], Mapping[str, str]] | None:
    """((codelist key, title), decodes) for a variable with a code list."""
    if var.codelist is None:
        return None
    if var.codelist in CODELISTS:
        title, _, decodes = CODELISTS[var.codelist]
        return (var.codelist, title), decodes or {}
    # test codes and names: one sponsor code list per dataset and variable
    return (f"{dataset}.{var.codelist}", f"{dataset} {var.label} (sponsor-extended)"), {}


def _codelist(mdv: ET.Element, name: str, title: str, items: Mapping[str, str | None]) -> None:
    cl = _t(mdv, _o("CodeList"), OID=f"CL.{name}", Name=title, DataType="text")
    decoded = any(v for v in items.values())
    for value, decode in items.items():
        if decoded:
            ci = _t(cl, _o("CodeListItem"), CodedValue=value)
            d = _t(ci, _o("Decode"))
            _t(d, _o("TranslatedText"), decode or value, **{f"{{{XML}}}lang": "en"})
        else:
            _t(cl, _o("EnumeratedItem"), CodedValue=value)
    code = CODELISTS.get(name, ("", None, None))[1]
    if code:
        _t(cl, _o("Alias"), Context="nci:ExtCodeID", Name=code)


def _value_level(
    datasets: Mapping[str, pd.DataFrame],
) -> tuple[list[ET.Element], list[ET.Element], dict[str, ET.Element]]:
    """ValueListDefs, WhereClauseDefs and their ItemDefs: AETOXGR, LBORRES, SUPP QVAL."""
    lists: list[ET.Element] = []
    wheres: list[ET.Element] = []
    items: dict[str, ET.Element] = {}

    def add(
        dataset: str,
        var: str,
        key_var: str,
        values: list[tuple[Any, Any, str | None]],
        datatype: str = "text",
    ) -> None:
        if not values:
            return
        vl = ET.Element(_d("ValueListDef"), {"OID": f"VL.{dataset}.{var}"})
        for n, (value, text, method) in enumerate(values, start=1):
            safe = "".join(ch if ch.isalnum() else "_" for ch in value)
            oid = f"IT.{dataset}.{var}.{safe}"
            wc_oid = f"WC.{dataset}.{key_var}.{safe}"
            ref = _t(
                vl,
                _o("ItemRef"),
                ItemOID=oid,
                OrderNumber=str(n),
                Mandatory="No",
                MethodOID=f"MT.{method}" if method else None,
            )
            _t(ref, _d("WhereClauseRef"), WhereClauseOID=wc_oid)
            wc = ET.Element(_d("WhereClauseDef"), {"OID": wc_oid})
            rc = _t(
                wc,
                _o("RangeCheck"),
                Comparator="EQ",
                SoftHard="Soft",
                **{_d("ItemOID"): f"IT.{dataset}.{key_var}"},
            )
            _t(rc, _o("CheckValue"), value)
            wheres.append(wc)
            length = str(max(len(value), 8))
            item = ET.Element(
                _o("ItemDef"),
                {
                    "OID": oid,
                    "Name": var,
                    "DataType": datatype,
                    "Length": length,
                    "SASFieldName": var,
                },
            )
            _desc(item, text)
            _t(item, _d("Origin"), Type="Derived" if method else "Collected")
            if method:
                item.set("_method", method)
            items[oid] = item
        lists.append(vl)

    ae = datasets.get("AE")
    if ae is not None:
        cats = sorted(set(ae["AECAT"]) - {""})
        scale = {
            "CYTOKINE RELEASE SYNDROME": terms.TOXSCALE["crs"],
            "ICANS": terms.TOXSCALE["icans"],
        }
        add(
            "AE",
            "AETOXGR",
            "AECAT",
            [(c, f"Toxicity grade by {scale.get(c, terms.CTCAE)}", None) for c in cats],
        )
    lb = datasets.get("LB")
    if lb is not None:
        tests = lb.drop_duplicates("LBTESTCD")[["LBTESTCD", "LBTEST", "LBORRESU"]]
        add(
            "LB",
            "LBORRES",
            "LBTESTCD",
            [
                (
                    r.LBTESTCD,
                    str(r.LBTEST)
                    + (f" in {r.LBORRESU!s}" if r.LBORRESU else " (POSITIVE or NEGATIVE)"),
                    None,
                )
                for r in tests.itertuples()
            ],
        )
    for name, frame in datasets.items():
        if name.startswith("SUPP"):
            qnams = frame.drop_duplicates("QNAM")[["QNAM", "QLABEL"]]
            add(
                name,
                "QVAL",
                "QNAM",
                [
                    (r.QNAM, r.QLABEL, "CARTDY" if r.QNAM == "CARTDY" else None)
                    for r in qnams.itertuples()
                ],
            )
    return lists, wheres, items


def write_define(tree: ET.ElementTree[ET.Element], path: str) -> None:
    """Write the define.xml tree to a file with its XML declaration, as SDTM submissions expect."""
    tree.write(path, encoding="UTF-8", xml_declaration=True)
