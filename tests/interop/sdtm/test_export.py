"""`neurocart export sdtm` on a stored cohort, checked without a licensed validator.

Checks (SDTMIG 3.4, CDISC 2021; Define-XML 2.1, CDISC 2019; FDA Study Data Technical
Conformance Guide for SAS transport v5): every file read back by pandas' own XPT reader equals
what was built; required variables present and non-null; --SEQ unique per subject; ISO 8601
dates with ENDTC ≥ STDTC; --DY recomputed and never 0; controlled terms; the v5 limits;
define.xml valid against the Define-XML 2.1 schema (the copy odmlib ships) and matching the
files both ways; SUPP-- and RELREC links resolve.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import odmlib
import pandas as pd
import pytest
import xmlschema
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.interop import sdtm as sdtm_package
from neurocart.interop.sdtm import SdtmConfig, SdtmError, XptLimitError, build_sdtm, load_meddra
from neurocart.interop.sdtm.days import ISO8601, sdtm_day
from neurocart.interop.sdtm.terms import LBTOXGR_TERMS, NY_TERMS, SEX_TERMS, SPEC_TERMS, TOXGR_TERMS
from neurocart.interop.sdtm.variables import variables
from neurocart.interop.sdtm.xpt import check_limits
from neurocart.reports.scope import load_cohort
from tests.interop.storedcohort import StoredCohort

MEDDRA = Path(sdtm_package.__file__).parent / "data/meddra-example.toml"
XSD = Path(odmlib.__file__).parent / "schemas/define/2.1/define2-1-0.xsd"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
ZONE = "Asia/Shanghai"
REQUIRED_EXTRA = {
    "DM": ["SUBJID", "SITEID", "SEX", "COUNTRY"],
    "AE": ["AETERM", "AEDECOD"],
    "CM": ["CMTRT"],
    "EX": ["EXTRT"],
    "PR": ["PRTRT"],
    "DS": ["DSDECOD"],
    "FA": ["FATESTCD", "FATEST", "FAOBJ"],
}


@pytest.fixture(scope="module")
def exported(stored_cohort: StoredCohort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdtm")
    result = CliRunner().invoke(
        app,
        [
            "export",
            "sdtm",
            "--out",
            str(out),
            "--database-url",
            stored_cohort.url,
            "--timezone",
            ZONE,
            "--meddra",
            str(MEDDRA),
            "--study-id",
            "NADCART",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def built(stored_cohort: StoredCohort) -> dict[str, pd.DataFrame]:
    frames = load_cohort(stored_cohort.database)
    config = SdtmConfig("NADCART", "CHN", ZONE, meddra=load_meddra(MEDDRA))
    return build_sdtm(frames, config).datasets


@pytest.fixture(scope="module")
def read(exported: Path) -> dict[str, pd.DataFrame]:
    return {
        p.stem.upper(): pd.read_sas(p, format="xport", encoding="ascii")
        for p in sorted(exported.glob("*.xpt"))
    }


def test_the_domains_written(read: dict[str, pd.DataFrame]) -> None:
    expected = {
        "TS",
        "TA",
        "TE",
        "TV",
        "DM",
        "AE",
        "MH",
        "DS",
        "CM",
        "EX",
        "PR",
        "FA",
        "LB",
        "VS",
        "PC",
        "PP",
        "RS",
        "FT",
        "SUPPAE",
        "RELREC",
    }
    assert expected <= set(read)


def test_files_read_back_equal_what_was_built(
    read: dict[str, pd.DataFrame], built: dict[str, pd.DataFrame]
) -> None:
    assert set(read) == set(built)
    for name, frame in built.items():
        back = read[name]
        assert list(back.columns) == list(frame.columns), name
        for column in frame.columns:
            if frame[column].dtype == object:
                assert back[column].fillna("").tolist() == frame[column].tolist(), (name, column)
            else:
                pd.testing.assert_series_equal(
                    back[column], frame[column], check_names=False, check_dtype=False
                )


def test_required_variables_present_and_not_null(read: dict[str, pd.DataFrame]) -> None:
    for name, frame in read.items():
        required = [v.name for v in variables(name) if v.core == "Req"]
        required += REQUIRED_EXTRA.get(name, [])
        for column in required:
            assert column in frame.columns, (name, column)
            values = frame[column]
            assert values.notna().all(), (name, column)
            assert (values.astype(str) != "").all(), (name, column)


def test_one_dm_row_per_subject_and_every_subject_in_dm(read: dict[str, pd.DataFrame]) -> None:
    dm = read["DM"]
    assert dm["USUBJID"].is_unique
    subjects = set(dm["USUBJID"])
    for name, frame in read.items():
        if "USUBJID" in frame.columns:
            assert set(frame["USUBJID"]) - {""} <= subjects, name
    assert all(u == f"NADCART-{s}" for u, s in zip(dm.USUBJID, dm.SUBJID, strict=True))


def test_seq_is_an_integer_unique_per_subject(read: dict[str, pd.DataFrame]) -> None:
    for name, frame in read.items():
        seq = f"{name}SEQ"
        if seq in frame.columns and name != "TS":
            assert (frame[seq] == frame[seq].round()).all(), name
            assert not frame.duplicated(["USUBJID", seq]).any(), name


def test_dates_are_iso8601_and_days_recompute(read: dict[str, pd.DataFrame]) -> None:
    rf = {
        r.USUBJID: date.fromisoformat(r.RFSTDTC[:10]) for r in read["DM"].itertuples() if r.RFSTDTC
    }
    checked = 0
    for name, frame in read.items():
        p = name
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            values = frame[column].fillna("")
            assert values.map(lambda v: v == "" or bool(ISO8601.match(v))).all(), (name, column)
        if f"{p}STDTC" in frame.columns and f"{p}ENDTC" in frame.columns:
            both = frame[(frame[f"{p}STDTC"] != "") & (frame[f"{p}ENDTC"] != "")]
            assert (both[f"{p}ENDTC"] >= both[f"{p}STDTC"]).all(), name
        for dtc_var, dy_var in (
            (f"{p}DTC", f"{p}DY"),
            (f"{p}STDTC", f"{p}STDY"),
            (f"{p}ENDTC", f"{p}ENDY"),
        ):
            if dy_var not in frame.columns:
                continue
            for r in frame[[dtc_var, dy_var, "USUBJID"]].itertuples(index=False):
                if r[0] and r[2] in rf:
                    assert r[1] == sdtm_day(date.fromisoformat(r[0][:10]), rf[r[2]]), name
                    assert r[1] != 0
                    checked += 1
    assert checked > 1000


def test_controlled_terms(read: dict[str, pd.DataFrame]) -> None:
    assert set(read["DM"]["SEX"]) <= SEX_TERMS
    ae = read["AE"]
    assert set(ae["AETOXGR"]) <= TOXGR_TERMS
    assert (ae["AESEV"].fillna("") == "").all()  # exactly one of AESEV / AETOXGR
    scales = read["SUPPAE"].query("QNAM == 'TOXSCALE'")
    assert len(scales) == len(ae)
    assert set(scales.QVAL) <= {"ASTCT 2019", "CTCAE V5.0", "EHA/EBMT ICAHT 2023"}
    assert set(read["LB"]["LBSPEC"]) - {""} <= SPEC_TERMS
    graded = read["LB"][read["LB"].LBTESTCD.isin(["NEUT", "PLAT", "LYM", "WBC", "HGB"])]
    assert not graded.empty
    assert set(graded.LBTOXGR) <= LBTOXGR_TERMS
    assert (read["LB"][~read["LB"].index.isin(graded.index)].LBTOXGR.fillna("") == "").all()
    assert set(read["PC"]["PCSPEC"]) <= SPEC_TERMS
    for name, frame in read.items():
        for column in frame.columns:
            if column.endswith("FL") or column == "AESER":
                assert set(frame[column].fillna("")) - {""} <= NY_TERMS, (name, column)
    units = set(read["LB"]["LBSTRESU"]) | set(read["VS"]["VSSTRESU"])
    assert all(u.isascii() for u in units)
    assert {"C", "beats/min", "mmHg", "10^9/L", "mg/L"} <= units


def test_supp_and_relrec_links_resolve(read: dict[str, pd.DataFrame]) -> None:
    for name, supp in read.items():
        if not name.startswith("SUPP"):
            continue
        parent = read[name[4:]]
        for idvar, rows in supp.groupby(supp["IDVAR"].fillna("")):
            if not idvar:  # a subject-level qualifier (SUPPDM): the subject must exist
                assert set(rows.USUBJID) <= set(parent.USUBJID), name
                continue
            keys = set(zip(parent.USUBJID, parent[idvar].map(float), strict=True))
            assert len(keys) == len(parent), name  # IDVAR identifies one parent record
            wanted = set(zip(rows.USUBJID, rows.IDVARVAL.map(float), strict=True))
            assert wanted <= keys, name
    relrec = read["RELREC"]
    assert not relrec.empty
    fa = set(zip(read["FA"].USUBJID, read["FA"].FAGRPID, strict=True))
    ae = set(zip(read["AE"].USUBJID, read["AE"].AESEQ, strict=True))
    for r in relrec.itertuples():
        if r.RDOMAIN == "FA":
            assert (r.USUBJID, r.IDVARVAL) in fa, r
        else:
            assert (r.USUBJID, float(r.IDVARVAL)) in ae, r
    assert set(relrec.groupby("RELID").RDOMAIN.agg(frozenset)) == {frozenset({"AE", "FA"})}


def test_cart_day_zero_is_sdtm_day_one(read: dict[str, pd.DataFrame]) -> None:
    ex = read["EX"].query("EXCAT == 'CAR-T INFUSION'")
    assert not ex.empty
    assert (ex.EXSTDY == 1).all()
    supp = read["SUPPEX"].query("QNAM == 'CARTDY'")
    seqs = {(r.USUBJID, float(r.IDVARVAL)): r.QVAL for r in supp.itertuples()}
    assert all(seqs[(r.USUBJID, r.EXSEQ)] == "0" for r in ex.itertuples())


def test_define_xml_is_schema_valid_and_matches_the_files(
    exported: Path, read: dict[str, pd.DataFrame]
) -> None:
    xmlschema.XMLSchema(str(XSD)).validate(str(exported / "define.xml"))
    root = ET.parse(exported / "define.xml").getroot()
    mdv = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    assert mdv is not None
    items = {i.get("OID"): i for i in mdv.iter(f"{ODM}ItemDef")}
    groups = {g.get("Name"): g for g in mdv.iter(f"{ODM}ItemGroupDef")}
    assert set(groups) == set(read)
    for name, group in groups.items():
        refs = [items[r.get("ItemOID")] for r in group.iter(f"{ODM}ItemRef")]
        assert [i.get("Name") for i in refs] == list(read[name].columns), name
        for item in refs:
            column = read[name][item.get("Name")]
            if item.get("DataType") == "text":
                observed = column.fillna("").map(len).max() if len(column) else 0
                assert int(item.get("Length") or 0) >= observed, (name, item.get("Name"))
    methods = {m.get("OID") for m in mdv.iter(f"{ODM}MethodDef")}
    assert {"MT.DY", "MT.AGE", "MT.CARTDY"} <= methods
    assert (
        mdv.find("{http://www.cdisc.org/ns/def/v2.1}ValueListDef[@OID='VL.AE.AETOXGR']") is not None
    )


def test_meddra_coding_is_required(stored_cohort: StoredCohort) -> None:
    frames = load_cohort(stored_cohort.database)
    with pytest.raises(SdtmError, match="AEDECOD: no MedDRA preferred term"):
        build_sdtm(frames, SdtmConfig("NADCART", "CHN"))


def test_xpt_limits_are_enforced_with_a_clear_error() -> None:
    ok = pd.DataFrame({"AETERM": ["x"]})
    with pytest.raises(XptLimitError, match=r"AE\.AETERM\[0\]: value is 201 bytes"):
        check_limits("AE", pd.DataFrame({"AETERM": ["x" * 201]}), {}, "Adverse Events")
    with pytest.raises(XptLimitError, match=r"AE\.AETERMLONG: variable name"):
        check_limits("AE", pd.DataFrame({"AETERMLONG": ["x"]}), {}, "Adverse Events")
    with pytest.raises(XptLimitError, match="label is 41 characters"):
        check_limits("AE", ok, {"AETERM": "x" * 41}, "Adverse Events")
    with pytest.raises(XptLimitError, match="not ASCII"):
        check_limits("AE", pd.DataFrame({"AETERM": ["38 °C"]}), {}, "Adverse Events")
    with pytest.raises(XptLimitError, match="dataset name"):
        check_limits("ADVERSEEV", ok, {}, "Adverse Events")
    check_limits("AE", ok, {"AETERM": "Reported Term"}, "Adverse Events")


def test_cli_errors_name_the_option(stored_cohort: StoredCohort, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "sdtm", "--out", str(tmp_path), "--database-url", stored_cohort.url]
    )
    assert result.exit_code == 2
    assert "--meddra" in result.output
    result = CliRunner().invoke(
        app,
        [
            "export",
            "sdtm",
            "--out",
            str(tmp_path),
            "--timezone",
            "Mars/Base",
            "--database-url",
            stored_cohort.url,
        ],
    )
    assert result.exit_code == 2
    assert "--timezone" in result.output


def test_every_name_and_label_fits_transport_v5() -> None:
    from neurocart.interop.sdtm.export import dataset_label
    from neurocart.interop.sdtm.variables import DOMAINS, SUPP

    for name, (label, _, _, variables_) in DOMAINS.items():
        assert len(name) <= 8
        assert len(label) <= 40
        if len(name) == 2:  # a domain with a SUPP-- dataset
            assert len(dataset_label(f"SUPP{name}")) <= 40
        names = [v.name for v in variables_]
        assert len(names) == len(set(names)), name
        for v in [*variables_, *SUPP]:
            assert len(v.name) <= 8, v
            assert len(v.label) <= 40, v
            assert v.origin in {"Collected", "Derived", "Assigned", "Protocol", "Predecessor"}


def test_an_unwritable_out_directory_is_a_clear_error(
    stored_cohort: StoredCohort, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(
        app,
        [
            "export",
            "sdtm",
            "--out",
            str(blocker / "sdtm"),
            "--meddra",
            str(MEDDRA),
            "--database-url",
            stored_cohort.url,
        ],
    )
    assert result.exit_code == 2
    assert "--out: cannot write" in result.output
