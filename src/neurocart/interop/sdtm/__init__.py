"""CDISC SDTM (SDTMIG 3.4) datasets as SAS transport v5 files, described by Define-XML 2.1."""

from neurocart.interop.sdtm.domains import SdtmConfig, SdtmData, SdtmError, build_sdtm
from neurocart.interop.sdtm.export import SdtmFiles, load_meddra, write_sdtm
from neurocart.interop.sdtm.xpt import XptLimitError

__all__ = [
    "SdtmConfig",
    "SdtmData",
    "SdtmError",
    "SdtmFiles",
    "XptLimitError",
    "build_sdtm",
    "load_meddra",
    "write_sdtm",
]
