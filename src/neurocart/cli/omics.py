"""`neurocart omics run|summarize`: single-cell CSF/blood/product readouts (the omics extra).

scanpy and friends are imported inside the commands, never when the CLI starts.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neurocart.cli.console import err, fail, out
from neurocart.i18n import N_, error_text
from neurocart.i18n import gettext as _
from neurocart.omics import OmicsInputError, OmicsUnavailableError, require

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="Single-cell CSF, blood and infusion-product analysis.", no_args_is_help=True
)

SHOWN = (
    ("sample_id", N_("sample")), ("study_id", N_("patient")), ("tissue", N_("tissue")),
    ("study_day", N_("day")),
    ("n_cells", N_("cells")), ("car_pct_of_t", N_("CAR+ % T")), ("b_cell_pct", N_("B %")),
    ("plasma_cell_pct", N_("plasma %")), ("expanded_clone_pct", N_("expanded %")),
    ("csf_blood_car_ratio", N_("CSF/blood CAR")), ("csf_blood_overlap_pct", N_("CSF∩blood %")),
    ("product_overlap_pct", N_("∩product %")),
)  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def _table(readouts: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for _key, label in SHOWN:
        table.add_column(_(label), justify="right")
    for row in readouts.to_dict("records"):
        table.add_row(*(_cell(row.get(key)) for key, _label in SHOWN))
    return table


@app.command()
def run(
    samplesheet: Annotated[Path, typer.Argument(help="sample sheet CSV")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for readouts, figures, page")],
    panel: Annotated[Path | None, typer.Option(help="marker panel TOML (default: shipped)")] = None,
    car_feature: Annotated[str, typer.Option(help="the CAR transcript's feature name")] = "CAR",
    no_car: Annotated[bool, typer.Option("--no-car", help="the data has no CAR feature")] = False,
    car_min_umi: Annotated[int, typer.Option(help="CAR UMIs for CAR+ by transcript")] = 2,
    annotate_by: Annotated[
        str | None, typer.Option(help="name clusters, not cells (e.g. leiden)")
    ] = None,
    doublets: Annotated[bool, typer.Option(help="remove Scrublet doublets per sample")] = False,
    seed: Annotated[int, typer.Option(help="random seed (PCA, neighbours, Leiden, UMAP)")] = 0,
    store: Annotated[bool, typer.Option(help="store readouts on the patients' records")] = False,
    user: Annotated[
        str | None, typer.Option(help="username recorded as the writer (--store)")
    ] = None,
) -> None:
    """Analyse every sample of SAMPLESHEET; write readouts, figures and index.html to --out."""
    if store and not user:
        raise fail(_("--store needs --user (the account recorded in the audit trail)"))
    try:
        require()
        from neurocart.omics import read_samplesheet  # pandas, on first use

        sheet = read_samplesheet(samplesheet)
    except (OmicsInputError, OmicsUnavailableError) as exc:
        raise fail(error_text(exc)) from None
    from neurocart.omics.pipeline import EmbedConfig
    from neurocart.omics.qc import QCConfig
    from neurocart.omics.run import STEPS
    from neurocart.omics.run import run as run_pipeline

    with Progress(
        TextColumn("{task.description:<18}"), BarColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task(_("starting"), total=len(STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))

        try:
            result = run_pipeline(
                sheet, out=out_dir, panel=panel, car_feature=None if no_car else car_feature,
                car_min_umi=car_min_umi, qc=QCConfig(doublets=doublets, seed=seed),
                embedding=EmbedConfig(seed=seed), annotate_by=annotate_by, progress=step,
            )  # fmt: skip
        except OmicsInputError as exc:
            raise fail(error_text(exc)) from None
        bar.update(task, description=_("done"), completed=len(STEPS))
    title = _("single-cell readouts ({n} cells)").format(n=result.adata.n_obs)
    out.print(_table(result.readouts, title))
    from neurocart.omics.page import comparison_lines

    for comparison in result.comparisons:
        out.print("\n  ".join(comparison_lines(comparison)), highlight=False)
    if result.missing_genes:
        out.print(
            _("panel genes not in the data: {genes}").format(genes=", ".join(result.missing_genes)),
            highlight=False,
        )
    out.print(_("page: {page}").format(page=result.files.get("page", out_dir)), highlight=False)
    if store:
        assert user is not None
        _store(result.readouts, {s.sample_id: s.collected_at for s in sheet}, user)


def _store(readouts: pd.DataFrame, collected: dict[str, object], username: str) -> None:
    from neurocart.omics.observations import readout_rows
    from neurocart.services.errors import ServiceError
    from neurocart.services.omics_readouts import store_readouts
    from neurocart.store import get_database, repo
    from neurocart.store.errors import NotFoundError

    samples = readout_rows(readouts, collected)  # type: ignore[arg-type]
    try:
        with get_database().transaction() as session:
            actor = repo.get_user_by_username(session, username)
            if actor is None or not actor.active:
                raise fail(_("--user: no active user {username!r}").format(username=username))
            stored = store_readouts(session, actor, samples)
    except (NotFoundError, ServiceError, ValueError) as exc:
        raise fail(_("nothing stored: {exc}").format(exc=error_text(exc))) from None
    n = sum(len(s.ids) for s in stored)
    out.print(
        _("stored {n} observations for {patients} patient(s)").format(
            n=n, patients=len({s.study_id for s in stored})
        )
    )


@app.command()
def summarize(
    file: Annotated[
        Path, typer.Argument(help="an .h5ad of one sample (raw counts), or omics run's cells.h5ad")
    ],
    panel: Annotated[Path | None, typer.Option(help="marker panel TOML (default: shipped)")] = None,
    car_feature: Annotated[str, typer.Option(help="the CAR transcript's feature name")] = "CAR",
    car_min_umi: Annotated[int, typer.Option(help="CAR UMIs for CAR+ by transcript")] = 2,
    tissue: Annotated[str, typer.Option(help="csf, blood or product")] = "blood",
    study_day: Annotated[int, typer.Option(help="study day of the sample")] = 0,
) -> None:
    """Readouts and cell-type composition of FILE.h5ad."""
    try:
        require()
        from neurocart.omics.summary import summarize as summarize_file

        summary = summarize_file(
            file, panel=panel, car_feature=car_feature, car_min_umi=car_min_umi,
            tissue=tissue, study_day=study_day,
        )  # fmt: skip
    except (OmicsInputError, OmicsUnavailableError) as exc:
        raise fail(error_text(exc)) from None
    table = Table(title=_("cell types ({name})").format(name=file.name))
    for column in (_("sample"), _("cell type"), _("cells"), "%"):
        table.add_column(column, justify="right")
    for row in summary.composition.to_dict("records"):
        table.add_row(
            str(row["sample_id"]), str(row["cell_type"]), str(row["cells"]), f"{row['pct']:.1f}"
        )
    out.print(table)
    out.print(_table(summary.readouts, "readouts"))
