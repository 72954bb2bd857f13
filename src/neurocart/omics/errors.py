"""The two ways an omics step refuses: input it cannot use, and the extra not installed."""

from __future__ import annotations

NOT_INSTALLED = (
    "the omics extra is not installed (missing: {missing}); install it with: pip install "
    "'neurocart[omics]'"
)
MESSAGES = (NOT_INSTALLED,)
"""The refusal of a missing extra as a message key (the input errors' keys are those of
`neurocart.omics.samplesheet.MESSAGES`)."""


class OmicsInputError(ValueError):
    """Input the pipeline cannot use; `field` says where (``row 3: tissue``, ``gex``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class OmicsUnavailableError(RuntimeError):
    """The `omics` extra is not installed; says which packages are missing and how to add them."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(NOT_INSTALLED.format(missing=", ".join(missing)))
        self.missing = missing
