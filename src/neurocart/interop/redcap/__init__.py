"""REDCap in both directions: neurocart's project and records out, a center's records in."""

from neurocart.interop.redcap.export import write_project
from neurocart.interop.redcap.importer import ImportResult, Plan, apply, read_project
from neurocart.interop.redcap.mapping import Mapping, load
from neurocart.interop.redcap.records import Problem, ProjectFiles, RedcapError

__all__ = [
    "ImportResult",
    "Mapping",
    "Plan",
    "Problem",
    "ProjectFiles",
    "RedcapError",
    "apply",
    "load",
    "read_project",
    "write_project",
]
