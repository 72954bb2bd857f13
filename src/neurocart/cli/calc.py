"""`neurocart calc`: list, describe and run the calculators from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neurocart import standards
from neurocart.cli.console import BAD_INPUT, err, out
from neurocart.cli.console import fail as _fail
from neurocart.standards import Calculator, CalculatorInputError, NotVectorizedError
from neurocart.standards.fields import walk_fields

if TYPE_CHECKING:
    import pandas as pd

CSV_CHUNK_ROWS = 100_000


def _calculator(name: str) -> Calculator[Any]:
    try:
        return standards.get(name)
    except standards.UnknownCalculatorError as exc:
        raise _fail(str(exc)) from None


def _list_calculators() -> None:
    table = Table(title="neurocart calculators", show_lines=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("title", overflow="fold")
    table.add_column("source", overflow="fold")
    for name in sorted(standards.REGISTRY):
        calc = standards.REGISTRY[name]
        table.add_row(name, calc.title, calc.citation)
    out.print(table)


def _describe(calc: Calculator[Any]) -> None:
    out.print(f"[bold]{calc.name}[/] — {calc.title}", highlight=False)
    out.print(f"source: {calc.citation}\n", highlight=False)
    for spec in walk_fields(calc.fields):
        unit = f" {spec.unit}" if spec.unit else ""
        default = "required" if spec.required else f"default {json.dumps(spec.default)}"
        out.print(
            f"  [bold]{spec.name}[/]  {spec.kind}{unit}  [cyan]{spec.range_text}[/]  ({default})",
            highlight=False,
        )
        out.print(f"      {spec.description}", highlight=False)
    for check in calc.checks:
        out.print(f"  • {check.field}: {check.message}", highlight=False)
    usage = f"neurocart calc {calc.name} --json '{{...}}'"
    if calc.vectorized is not None:
        usage += f"\n       neurocart calc {calc.name} --csv IN.csv --out OUT.csv"
    out.print(f"\nusage: {usage}", highlight=False)


def _grade_json(calc: Calculator[Any], text: str) -> None:
    try:
        inputs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"--json is not valid JSON: {exc}") from None
    try:
        result = calc(inputs)
    except CalculatorInputError as exc:
        raise _fail(str(exc)) from None
    typer.echo(result.model_dump_json(indent=2))


def _grade_csv(calc: Calculator[Any], source: Path, target: Path) -> None:
    import pandas as pd  # here: the command line's start-up (`neurocart serve`) stays light

    if not source.is_file():
        raise _fail(f"--csv: no such file {source}")
    try:
        total = sum(1 for _ in source.open(encoding="utf-8")) - 1
    except UnicodeDecodeError:
        raise _fail(f"--csv: {source} is not UTF-8 text") from None
    graded: list[pd.DataFrame] = []
    progress = Progress(
        TextColumn(f"grading {calc.name}"),
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
        raise _fail(f"{exc}\n(rows are line numbers of {source})") from None
    except NotVectorizedError as exc:
        raise _fail(str(exc)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(f"--csv: cannot read {source}: {exc}") from None
    result = pd.concat(graded) if graded else pd.DataFrame(columns=["value", "label"])
    result.to_csv(target, index=False)
    err.print(f"graded {len(result)} rows → {target}", highlight=False)


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
            raise _fail("--csv needs --out FILE")
        _grade_csv(calculator, csv, output)
    else:
        raise _fail(
            f"give --json '{{...}}' or --csv FILE --out FILE (see neurocart calc {name} --help)"
        )
