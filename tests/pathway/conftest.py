"""A small protocol that exercises every timing form, for engine tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neurocart.pathway import Protocol, parse_protocol

SMALL = """
[protocol]
id = "small"
title = "Small test protocol"
version = "1"

[anchors]
enrolment = "consent"
ld_start = "lymphodepletion"
infusion = "day 0"

[[phases]]
id = "screening"
title = "Screening"
start = { anchor = "enrolment" }

[[phases]]
id = "acute"
title = "Acute"
start = { anchor = "infusion" }
end = { anchor = "infusion", day = 1 }

[[phases]]
id = "follow_up"
title = "Follow-up"
start = { anchor = "infusion", month = 2 }

[[tasks]]
id = "screen"
title = "Screening labs"
phase = "screening"
discipline = "hematology"
anchor = "enrolment"
day = 0
window = { before_days = 1, after_days = 1 }
completed_by = { observations = ["2160-0"] }

[[tasks]]
id = "baseline_ice"
title = "Baseline ICE"
phase = "screening"
discipline = "neurology"
anchor = "ld_start"
day = -1
window = { after_days = 1 }
completed_by = { assessments = ["ice"] }

[[tasks]]
id = "vitals"
title = "Vitals"
phase = "acute"
discipline = "nursing"
anchor = "infusion"
repeat = { every_hours = 4, from_day = 0, to_day = 1 }
window = { after_hours = 4 }
critical = true
completed_by = { observations = ["8310-5", "8867-4"], require = "all" }

[[tasks]]
id = "ice"
title = "ICE"
phase = "acute"
discipline = "neurology"
anchor = "infusion"
repeat = { every_hours = 12, from_day = 0, to_day = 1 }
window = { after_hours = 12 }
critical = true
completed_by = { assessments = ["ice", "icans"] }

[[tasks]]
id = "mri"
title = "MRI"
phase = "follow_up"
discipline = "imaging"
anchor = "infusion"
months = [3, 6]
window = { before_days = 14, after_days = 14 }
condition = { diagnosis = ["ms", "nmosd"] }
completed_by = { events = ["mri"] }
"""

DAY0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def small() -> Protocol:
    return parse_protocol(SMALL, "small.toml")
