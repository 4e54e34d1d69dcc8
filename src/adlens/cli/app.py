"""The `adlens` command line: parses arguments, calls the API, prints. Nothing else lives here.

Each command group is a module of this package; this one only assembles them."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape

from adlens.cli import run, train
from adlens.cli.agent import agent_app, grade_command
from adlens.cli.analyze import register as register_analyze
from adlens.cli.common import console
from adlens.cli.evaluate import evaluate_app
from adlens.cli.llm import llm_app
from adlens.cli.organisms import organisms_app
from adlens.cli.prompts import prompts_app
from adlens.cli.report import report_command
from adlens.cli.reproduce import reproduce_command
from adlens.cli.validate import validate_command
from adlens.core.threads import pinned_threads
from adlens.errors import AdlensError

app = typer.Typer(
    help="Activation Difference Lens: read what a language model was finetuned on from the "
    "difference between its activations and its base model's.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
run.register(app)  # run, collect, steer, show, assets, demo
train.register(app)  # train, study
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(llm_app, name="llm")
app.add_typer(organisms_app, name="organisms")
app.add_typer(prompts_app, name="prompts")
app.command("reproduce")(reproduce_command)
app.add_typer(agent_app, name="agent")  # agent run, agent table; `agent RUN_DIR` = `agent run`
app.command("grade")(grade_command)
app.command("report")(report_command)
app.command("validate")(validate_command)
register_analyze(app)  # analyze ..., sweep


def main() -> None:
    click_errors: Any
    try:  # typer vendors click from 0.2x on
        from typer._click import exceptions as click_errors
    except ImportError:
        from click import exceptions as click_errors

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        pinned_threads()  # a bad ADLENS_THREADS fails now, not after the models have loaded
    except AdlensError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True, emoji=False)
        sys.exit(1)
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError:  # `adlens` or a group alone: the help, shown
        code = 0
    except click_errors.UsageError as err:  # a value that does not parse, an unknown option
        command = err.ctx.command_path if err.ctx else "adlens"
        console.print(
            f"[red]error:[/red] {escape(err.format_message())} (see `{command} --help`)",
            soft_wrap=True,
            emoji=False,
        )
        code = err.exit_code
    except typer.Abort:
        console.print("[yellow]interrupted[/yellow]")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
