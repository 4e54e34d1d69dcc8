"""`adlens organisms list|show`: the paper's model organisms (the registry) and any organism
`--organism` accepts."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adlens.cli.common import handle_errors

organisms_app = typer.Typer(
    help="The ADL paper's model organisms (33 organism/model pairs): list them, show one. "
    "Their ids work wherever --organism is accepted.",
    no_args_is_help=True,
)


@organisms_app.command("list")
@handle_errors
def list_command(
    type: Annotated[
        str | None,
        typer.Option(
            help="Only this type: false_fact, misalignment, subliminal_preference, "
            "secret_word (aliases such as SDF, EM, taboo work too)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Only this base model: a model of the ids (qwen3_1_7b) or a hub id."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print json lines instead.")] = False,
) -> None:
    """The registry's organisms: id, type, base and finetuned model, adapter or not."""
    from adlens.organisms.registry import registry_entries

    entries = registry_entries(type=type, model=model)
    if as_json:
        for e in entries:
            typer.echo(json.dumps(e.model_dump(mode="json"), ensure_ascii=False))
        return
    table = Table(title=f"paper organisms ({len(entries)})", title_justify="left")
    for col in ("id", "type", "base", "finetuned", "adapter", "layer"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            e.id,
            e.type.value,
            e.base,
            e.finetuned,
            "yes" if e.adapter else "no",
            str(e.adl_layer),
        )
    Console(soft_wrap=False).print(table)


# Registry keys shown once, in this order, before the others.
_FIRST = ("type", "short_description", "base_model", "finetuned", "adapter_base")


@organisms_app.command("show")
@handle_errors
def show_command(
    name: Annotated[
        str,
        typer.Argument(
            help="A registry id (cake_bake/qwen3_1_7b), an organism with one model, a bundled "
            "organism (fact-mars-ring), or an organism file or folder."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the organism as json.")] = False,
) -> None:
    """Every field of one organism, its key facts last."""
    from adlens.organisms.registry import resolve_organism

    organism = resolve_organism(name)
    data = organism.model_dump(mode="json", exclude_none=True)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    out = Console(soft_wrap=True)
    out.print(f"[bold]{escape(organism.name)}[/bold] ({organism.type.label})")
    if organism.source is not None:
        out.print(f"file: {escape(str(organism.source))}")
    facts = data.pop("key_facts", [])
    data.pop("name", None)
    if facts and all(f in data.get("long_description", "") for f in facts):
        data.pop("long_description")  # the registry's: the key facts, listed below
    for key in (*[k for k in _FIRST if k in data], *[k for k in data if k not in _FIRST]):
        value = data[key]
        if value in ("", [], {}):
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        out.print(f"[cyan]{key}[/cyan]: {escape(str(value))}")
    if facts:
        out.print("[cyan]key_facts[/cyan]:")
        for i, fact in enumerate(facts, 1):
            out.print(f"  {i}. {escape(fact)}")


def organism_models(
    spec: str | None,
    *,
    base: str | None,
    finetuned: str | None,
    adapter_base: str | None,
) -> tuple[dict[str, str | None], int | None, str | None]:
    """What `--organism` gives a run: (the models' base, finetuned and adapter_base, the layer
    the paper reads, the organism's one-line description). Explicit --finetuned and --base
    win; a --base that differs from an adapter organism's own base replaces the reference only,
    the adapter staying on the model it was trained on."""
    models = {"base": base, "finetuned": finetuned, "adapter_base": adapter_base}
    if spec is None:
        if finetuned is None:  # a usage error, as a missing required option is
            errors: Any
            try:  # typer vendors click from 0.2x on
                from typer._click import exceptions as errors
            except ImportError:
                from click import exceptions as errors

            raise errors.MissingParameter(
                "Give --finetuned (hub id or folder) or --organism (a paper organism id like "
                "cake_bake/qwen3_1_7b, or an organism file)",
                param_hint="'--finetuned'",
                param_type="option",
            )
        return models, None, None
    from adlens.organisms.registry import organism_is_adapter, organism_layer, resolve_organism

    organism = resolve_organism(spec)
    own_base = organism.base_model_id()
    if finetuned is None:
        models["finetuned"] = organism.finetuned_path()
        if base is None:
            models["base"] = own_base
        elif (
            adapter_base is None
            and own_base is not None
            and base != own_base
            and organism_is_adapter(organism)
        ):
            models["adapter_base"] = own_base
    elif base is None:
        models["base"] = own_base
    return models, organism_layer(organism), f"{organism.name}: {organism.short_description}"
