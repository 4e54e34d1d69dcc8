"""`adlens agent table`: agent grades pooled over run directories, with confidence intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from adlens.cli.common import handle_errors, setup_logging


def table_command(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Run directories with agent results (one per organism and model)."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table as JSON (with every run read).")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the table as markdown, for a paper.")
    ] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the table's numbers to this CSV file.")
    ] = None,
    mixed_graders: Annotated[
        bool,
        typer.Option(
            "--mixed-graders",
            help="Pool runs graded by different graders (default: only the most common one).",
        ),
    ] = False,
    grades: Annotated[
        str,
        typer.Option(
            help="Whose grades: llm (the LLM grader's, grade.json) or keywords (the keyword "
            "rule's, grade-keywords.json: the organism's domain keywords and key facts, no LLM)."
        ),
    ] = "llm",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Pool the graded agent runs of many run directories into one table.

    Per agent and budget, per organism type and overall: the share of runs with grade >= 2 and
    >= 4 (95% Wilson intervals over runs), and the reference's per-organism shares (each
    organism's mean grade over its repeats; Wilson intervals over organisms). Runs left out
    (ungraded, stale grades, another grader) are counted in a warning line."""

    setup_logging(verbose)
    handle_errors(_table)(
        run_dirs,
        as_json=as_json,
        markdown=markdown,
        csv_file=csv_file,
        mixed_graders=mixed_graders,
        grades=grades,
    )


def _table(run_dirs: list[Path], **kw: Any) -> None:
    import csv
    import json

    from rich.console import Console
    from rich.markup import escape

    from adlens.agent.pooled import LEGEND, csv_columns, pool_runs, to_markdown
    from adlens.errors import AdlensError

    if kw["as_json"] and kw["markdown"]:
        raise AdlensError("--json and --markdown: choose one.")
    pooled = pool_runs(run_dirs, mixed_graders=kw["mixed_graders"], grades=kw["grades"])
    if kw["csv_file"] is not None:
        path = Path(kw["csv_file"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=csv_columns(pooled.rows))
                writer.writeheader()
                writer.writerows(pooled.rows)
        except OSError as err:
            raise AdlensError(f"--csv: cannot write {path}: {err.strerror or err}.") from None
    stderr = Console(stderr=True, soft_wrap=True)
    if kw["as_json"]:
        typer.echo(json.dumps(pooled.to_json(), indent=2))
    elif kw["markdown"]:
        typer.echo(to_markdown(pooled), nl=False)
    else:
        out = Console()
        for table in terminal_tables(pooled):
            out.print(table)
        out.print(LEGEND, soft_wrap=False)
        if pooled.grader:
            out.print(f"grader: {escape(pooled.grader)}", soft_wrap=True)
    for note in pooled.notes:  # on stderr, so that --json and --markdown stay clean
        stderr.print(f"[yellow]{escape(note)}[/yellow]")
    if kw["csv_file"] is not None and not kw["as_json"]:
        stderr.print(f"table written to {escape(str(kw['csv_file']))}")


def terminal_tables(pooled: Any) -> list[Any]:
    """One rich table per organism type ("all" first); each share over its 95% interval."""
    from rich import box
    from rich.table import Table

    from adlens.agent.pooled import display_rows

    head, body = display_rows(pooled, compact=True)
    names = {"organisms": "orgs", "mean grade": "mean"}
    tables: dict[str, Table] = {}
    for cells in body:
        kind = cells[0]
        if kind not in tables:
            orgs = len(
                {
                    r.run_dir
                    for r in pooled.records
                    if r.status == "used" and kind in ("all", r.organism_type)
                }
            )
            title = "all organisms" if kind == "all" else kind
            tables[kind] = table = Table(
                title=f"{title} ({orgs} run director{'y' if orgs == 1 else 'ies'})",
                title_justify="left",
                box=box.SIMPLE_HEAD,
                pad_edge=False,
            )
            for col in head[1:]:
                table.add_column(
                    names.get(col, col.replace("organisms", "orgs").replace(">=", "≥")),
                    justify="left" if col == "agent" else "right",
                    min_width=6 if ">=" in col else None,  # '80-100'
                )
        tables[kind].add_row(*cells[1:])
    return list(tables.values())
