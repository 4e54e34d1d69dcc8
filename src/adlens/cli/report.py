"""`adlens report RUN_DIR`: the run's self-contained HTML report (and optionally a screenshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adlens.cli.common import handle_errors, setup_logging


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    open_: Annotated[
        bool, typer.Option("--open", help="Open the report in the default web browser.")
    ] = False,
    screenshot: Annotated[
        bool,
        typer.Option(
            "--screenshot",
            help="Also render RUN_DIR/report.png with headless Chromium (skipped if missing).",
        ),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the HTML (default RUN_DIR/report.html).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Write RUN_DIR/report.html: one offline page with every stage that has run (top tokens,
    Patchscope scales, steering, evaluation, agent, norms)."""

    setup_logging(verbose)
    handle_errors(_report)(run_dir, open_=open_, screenshot=screenshot, out=out)


def _report(run_dir: Path, *, open_: bool, screenshot: bool, out: Path | None) -> None:
    from adlens.errors import AdlensError
    from adlens.report import build_report
    from adlens.report import screenshot as take_screenshot

    if run_dir.exists() and not run_dir.is_dir():
        raise AdlensError(f"{run_dir} is a file, not a run directory.")
    console = Console(stderr=True)
    path = build_report(run_dir, out)
    console.print(f"report in {path}")
    if screenshot:
        png = take_screenshot(run_dir, html=path, out=path.with_suffix(".png"))
        if png is not None:
            console.print(f"screenshot in {png}")
    if open_:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            console.print(f"no web browser found: open {path} yourself")
