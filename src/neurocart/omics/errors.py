"""The two ways an omics step refuses: input it cannot use, and the extra not installed."""

from __future__ import annotations

NOT_INSTALLED = (
    "the omics extra is not installed (missing: {missing}); install it with: pip install "
    "'neurocart[omics]'"
)
CANNOT_READ = "cannot read {path}: {error}"
NOT_A_MATRIX_FILE = "{name}: expected a 10x .h5, an mtx folder, .h5ad or .h5mu"
NO_GEX_MODALITY = "{name}: no gene-expression modality (gex or rna)"
NO_MATRIX = "{name}: no expression matrix"
NOT_COUNTS = "{name}: X is not raw UMI counts (put them in layers['counts'])"
NOT_CONTIGS = "{name}: expected 10x contig annotations (.csv) or an AIRR .tsv"
NO_CONTIG_MATCH = "no contig barcode matches a cell of the matrix"
NOT_A_LINEAGE = "{typed} is not one of {lineages}"
NOT_TOML = "not valid TOML: {error}"
NO_CELL_TYPE = "names no [[cell_type]]"
UNIQUE_NAMES = "cell type names must be unique and not 'unassigned'"
NOT_A_NUMBER = "must be a number"
NOT_A_STRING = "must be a non-empty string"
NOT_GENES = "must be a non-empty list of gene names"
NOT_A_FEATURE = "{value} is not a feature of the matrix (add it to the reference)"
AT_LEAST_ONE = "must be at least 1"
NOT_A_COLUMN = "{value} is not a column of the cells (e.g. leiden)"
NOT_H5AD = "{path}: expected an existing .h5ad file"
MESSAGES = (
    NOT_INSTALLED, CANNOT_READ, NOT_A_MATRIX_FILE, NO_GEX_MODALITY, NO_MATRIX, NOT_COUNTS,
    NOT_CONTIGS, NO_CONTIG_MATCH, NOT_A_LINEAGE, NOT_TOML, NO_CELL_TYPE, UNIQUE_NAMES,
    NOT_A_NUMBER, NOT_A_STRING, NOT_GENES, NOT_A_FEATURE, AT_LEAST_ONE, NOT_A_COLUMN, NOT_H5AD,
)  # fmt: skip
"""The refusal of a missing extra and the pipeline's input errors past the sample sheet (an
unreadable matrix or contig file, a marker panel, the CAR feature, the cells' grouping column,
the file given to `omics summarize`) as message keys with named fields, like the sample
sheet's (`neurocart.omics.samplesheet.MESSAGES`, which the panel and the summary share for a
missing file and a tissue). They live here, not beside the readers, so that saying them needs
no scanpy or anndata: `neurocart.i18n.error_text` finds them without the omics extra. The
file name, the path, the value given and the reader's own error are kept."""


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
