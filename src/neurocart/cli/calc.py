"""`neurocart calc`: list, describe and run the calculators from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neurocart import standards
from neurocart.cli.console import BAD_INPUT, err, out
from neurocart.cli.console import fail as _fail
from neurocart.i18n import core_text, input_error, term
from neurocart.i18n import gettext as _
from neurocart.standards import Calculator, CalculatorInputError, NotVectorizedError
from neurocart.standards.fields import walk_fields

if TYPE_CHECKING:
    import pandas as pd

CSV_CHUNK_ROWS = 100_000


def _calculator(name: str) -> Calculator[Any]:
    try:
        return standards.get(name)
    except standards.UnknownCalculatorError as exc:
        raise _fail(core_text(str(exc))) from None


def _list_calculators() -> None:
    table = Table(title=_("neurocart calculators"), show_lines=False)
    table.add_column(_("name"), style="bold", no_wrap=True)
    table.add_column(_("title"), overflow="fold")
    table.add_column(_("source"), overflow="fold")
    for name in sorted(standards.REGISTRY):
        calc = standards.REGISTRY[name]
        table.add_row(name, _(calc.title), _(calc.citation))
    out.print(table)


def _describe(calc: Calculator[Any]) -> None:
    out.print(f"[bold]{calc.name}[/] — {escape(_(calc.title))}", highlight=False)
    out.print(escape(_("source: {citation}").format(citation=_(calc.citation))) + "\n")
    for spec in walk_fields(calc.fields):
        unit = f" {spec.unit}" if spec.unit else ""
        default = (
            _("required")
            if spec.required
            else _("default {value}").format(value=json.dumps(spec.default))
        )
        out.print(
            f"  [bold]{spec.name}[/]  {spec.kind}{unit}  [cyan]{escape(core_text(spec.range_text))}"
            f"[/]  ({escape(default)})",
            highlight=False,
        )
        out.print(f"      {escape(term(spec.description))}", highlight=False)
    for check in calc.checks:
        out.print(f"  • {check.field}: {escape(core_text(check.message))}", highlight=False)
    usage = f"neurocart calc {calc.name} --json '{{...}}'"
    if calc.vectorized is not None:
        usage += f"\n       neurocart calc {calc.name} --csv IN.csv --out OUT.csv"
    out.print("\n" + escape(_("usage: {usage}").format(usage=usage)), highlight=False)


def _grade_json(calc: Calculator[Any], text: str) -> None:
    try:
        inputs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(_("--json is not valid JSON: {error}").format(error=exc)) from None
    try:
        result = calc(inputs)
    except CalculatorInputError as exc:
        raise _fail(input_error(exc)) from None
    typer.echo(result.model_dump_json(indent=2))


def _grade_csv(calc: Calculator[Any], source: Path, target: Path) -> None:
    import pandas as pd  # here: the command line's start-up (`neurocart serve`) stays light

    if not source.is_file():
        raise _fail(_("--csv: no such file {file}").format(file=source))
    try:
        total = sum(1 for _ in source.open(encoding="utf-8")) - 1
    except UnicodeDecodeError:
        raise _fail(_("--csv: {file} is not UTF-8 text").format(file=source)) from None
    graded: list[pd.DataFrame] = []
    progress = Progress(
        TextColumn(escape(_("grading {name}").format(name=calc.name))),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("rows", total=max(total, 0))
            reader = pd.read_csv(source, chunksize=CSV_CHUNK_ROWS, keep_default_na=True)
            offset = 0
            for chunk in reader:
                chunk.index = pd.RangeIndex(
                    offset + 2, offset + 2 + len(chunk)
                )  # file line numbers
                scored = calc.frame(chunk)
                graded.append(pd.concat([chunk, scored], axis=1))
                offset += len(chunk)
                progress.update(task, advance=len(chunk))
    except CalculatorInputError as exc:
        rows = _("(rows are line numbers of {file})").format(file=source)
        raise _fail(f"{input_error(exc)}\n{rows}") from None
    except NotVectorizedError as exc:
        raise _fail(core_text(str(exc))) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(
            _("--csv: cannot read {file}: {error}").format(file=source, error=exc)
        ) from None
    result = pd.concat(graded) if graded else pd.DataFrame(columns=["value", "label"])
    result.to_csv(target, index=False)
    err.print(
        escape(_("graded {n} rows → {file}").format(n=len(result), file=target)), highlight=False
    )


def calc(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="calculator name (see --list)")] = None,
    json_input: Annotated[
        str | None, typer.Option("--json", help="one input as a JSON object")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="grade every row of this CSV")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="where --csv writes")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the calculators")] = False,
    help_: Annotated[
        bool, typer.Option("--help", "-h", help="show this help, or NAME's fields")
    ] = False,
) -> None:
    """Grade with a published clinical standard: --list, NAME --help, NAME --json, NAME --csv."""
    if list_:
        _list_calculators()
        return
    if name is None:
        typer.echo(ctx.get_help())
        if not help_:
            raise typer.Exit(BAD_INPUT)
        return
    calculator = _calculator(name)
    if help_:
        _describe(calculator)
    elif json_input is not None:
        _grade_json(calculator, json_input)
    elif csv is not None:
        if output is None:
            raise _fail(_("--csv needs --out FILE"))
        _grade_csv(calculator, csv, output)
    else:
        raise _fail(
            _(
                "give --json '{{...}}' or --csv FILE --out FILE (see neurocart calc {name} --help)"
            ).format(name=name)
        )
