"""Real-shaped HL7 v2.5.1 messages (segments joined by CR) for the HL7 tests."""

from __future__ import annotations

CR = "\r"


def oru(
    control: str = "LIS000123",
    *,
    pid: str = "H12345^^^HOSP_A^MR",
    code: str = "1988-5^C reactive protein [Mass/volume] in Serum or Plasma^LN",
    value: str = "86.4",
    units: str = "mg/L^mg/L^UCUM",
    status: str = "F",
    kind: str = "NM",
    order: str = "F445566^LIS",
    time: str = "20250603062000+0800",
    specimen: str = "SER^Serum^HL70487",
    version: str = "2.5.1",
    message_type: str = "ORU^R01^ORU_R01",
) -> str:
    """E1 (a final CRP) by default; change any field for the variants."""
    return CR.join(
        [
            f"MSH|^~\\&|LIS|HOSP_A|NEUROCART|SITE_A|20250603081500+0800||{message_type}|{control}"
            f"|P|{version}",
            f"PID|1||{pid}||DOE^JANE||19800101|F|||1 MAIN ST^^CITY",
            f"OBR|1|ORD778^HIS|{order}|{code}|||{time}|||||||||||||||20250603081200+0800|||"
            f"{status}",
            f"OBX|1|{kind}|{code}|1|{value}|{units}|0-10|H|||{status}|||{time}",
            f"SPM|1|S778&LIS^F445566&LIS||{specimen}|||||||||||||{time}",
        ]
    )


def temperature(control: str, value: str, time: str, pid: str) -> str:
    return oru(
        control,
        pid=pid,
        code="8310-5^Body temperature^LN",
        value=value,
        units="Cel^degree Celsius^UCUM",
        order=f"V{control}^NURSE",
        time=time,
        specimen="",
    ).replace(f"{CR}SPM|1|S778&LIS^F445566&LIS|||||||||||||||{time}", "")


def adt(
    trigger: str = "A01",
    control: str = "HIS0099",
    *,
    pid: str = "H12345^^^HOSP_A^MR",
    admit: str = "20250601090000+0800",
    discharge: str = "",
    patient_class: str = "I",
) -> str:
    """E3 (an admission) by default; A03 with `discharge` for the discharge."""
    pv1 = ["PV1", "1", patient_class, "HEM^12^3^HOSP_A"] + [""] * 15 + ["V778899^^^HOSP_A^VN"]
    pv1 += [""] * (44 - len(pv1)) + [admit, discharge]
    return CR.join(
        [
            f"MSH|^~\\&|HIS|HOSP_A|NEUROCART|SITE_A|20250601093000+0800||ADT^{trigger}^ADT_A01"
            f"|{control}|P|2.5.1",
            f"EVN|{trigger}|20250601092500+0800",
            f"PID|1||{pid}||DOE^JANE",
            "|".join(pv1),
        ]
    )


def msa(ack: str) -> list[str]:
    """The MSA fields of an ACK."""
    line = next(s for s in ack.split(CR) if s.startswith("MSA|"))
    return line.split("|")


def errs(ack: str) -> list[list[str]]:
    return [s.split("|") for s in ack.split(CR) if s.startswith("ERR|")]
