"""Writing a cohort as SDTM: one XPT v5 file per dataset, and define.xml.

    data = write_sdtm(frames, Path("out"), SdtmConfig("NADCART", "CHN", "Asia/Shanghai", meddra))

Only current facts are exported (the store's frames export leaves out superseded and
retracted rows). Subjects are identified by their pseudonymous study ID only.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from neurocart.frames import CohortFrames
from neurocart.interop.sdtm.define import build_define, write_define
from neurocart.interop.sdtm.domains import (
    MEDDRA_SHAPE,
    MEDDRA_UNREADABLE,
    SdtmConfig,
    SdtmData,
    SdtmError,
    build_sdtm,
)
from neurocart.interop.sdtm.variables import DOMAINS, variables
from neurocart.interop.sdtm.xpt import write_xpt


@dataclass(frozen=True)
class SdtmFiles:
    """The SDTM datasets an export built, the files written and the define.xml describing them."""

    data: SdtmData
    files: list[Path]
    define: Path


def dataset_label(name: str) -> str:
    """The dataset label define.xml and the transport files carry; SUPP-- datasets are named after
    their parent.
    """
    return (
        f"Supplemental Qualifiers for {name[4:]}" if name.startswith("SUPP") else DOMAINS[name][0]
    )


def write_sdtm(frames: CohortFrames, out: Path, config: SdtmConfig) -> SdtmFiles:
    """Build every dataset, check the v5 limits of all before writing any, write them."""
    data = build_sdtm(frames, config)
    from neurocart.interop.sdtm.xpt import check_limits

    labels = {n: {v.name: v.label for v in variables(n)} for n in data.datasets}
    for name, frame in data.datasets.items():
        check_limits(name, frame, labels[name], dataset_label(name))
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, frame in data.datasets.items():
        path = out / f"{name.lower()}.xpt"
        write_xpt(path, name, frame, labels[name], dataset_label(name))
        files.append(path)
    define = out / "define.xml"
    write_define(build_define(data.datasets, config), str(define))
    return SdtmFiles(data, files, define)


def load_meddra(path: Path) -> dict[str, str]:
    """A site's MedDRA coding: TOML ``[terms]`` "reported term" = "MedDRA preferred term"."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SdtmError(MEDDRA_UNREADABLE.format(path=path, error=exc)) from None
    table = doc.get("terms")
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise SdtmError(MEDDRA_SHAPE.format(path=path))
    return dict(table)
