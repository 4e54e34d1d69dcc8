"""`adlens prompts`: the bundled steering prompt sets, listed and shown."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adlens.cli.common import handle_errors
from adlens.core.chat_prompts import PROMPT_SETS, load_prompts

prompts_app = typer.Typer(
    help="Steering prompt sets: bundled ones by name, or a file of your own "
    "(--prompts / --search-prompts on run and steer).",
    no_args_is_help=True,
)


@prompts_app.command("list")
@handle_errors
def list_command() -> None:
    """The bundled prompt sets: name, what they are for, how many prompts."""
    table = Table("set", "used for", "prompts", "description")
    for s in PROMPT_SETS:
        used = "final samples (--prompts)" if s.purpose == "final" else "search (--search-prompts)"
        table.add_row(s.name, used, str(len(load_prompts(s.name))), s.description)
    Console().print(table)


@prompts_app.command("show")
@handle_errors
def show_command(
    name: Annotated[str, typer.Argument(help="A bundled set's name or a prompt file.")],
) -> None:
    """Every prompt of a set, numbered (on standard output)."""
    for i, prompt in enumerate(load_prompts(name), 1):
        typer.echo(f"{i:>3}. {prompt}")
