"""`adlens run|collect|steer`, and `show`, `assets`, `demo`: the pipeline commands and their
shared options."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adlens.cli.common import (
    JudgeBackend,
    JudgeMaxTokens,
    JudgeRoles,
    ReasoningEffort,
    Verbose,
    console,
    field_help,
    first_error,
    handle_errors,
    judge_backend,
    judge_config,
    setup_logging,
)
from adlens.core.config import CollectConfig, ModelsConfig, ReadConfig, SteerConfig
from adlens.core.data import TextSource
from adlens.errors import AdlensError

Base = Annotated[str | None, typer.Option(help=field_help(ModelsConfig, "base"))]
Finetuned = Annotated[str | None, typer.Option(help=field_help(ModelsConfig, "finetuned"))]
AdapterBase = Annotated[str | None, typer.Option(help=field_help(ModelsConfig, "adapter_base"))]
OrganismName = Annotated[
    str | None,
    typer.Option(
        "--organism",
        help="An organism instead of --finetuned: a paper organism id (cake_bake/qwen3_1_7b; "
        "see `adlens organisms list`), a bundled organism or an organism file. Gives the "
        "models and, for a paper organism, adds its layer (unless --layers); --base and "
        "--finetuned override.",
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the run's config as json and stop (loads nothing).")
]
Dataset = Annotated[str, typer.Option(help=field_help(TextSource, "name"))]
DatasetConfig = Annotated[str | None, typer.Option(help=field_help(TextSource, "config"))]
Split = Annotated[str, typer.Option(help=field_help(TextSource, "split"))]
TextColumn = Annotated[str, typer.Option(help=field_help(TextSource, "text_column"))]
Documents = Annotated[
    int | None,
    typer.Option(
        "--documents",
        "--samples",
        help=field_help(CollectConfig, "documents", "Default from the preset."),
    ),
]
Positions = Annotated[
    int | None, typer.Option(help=field_help(CollectConfig, "positions", "Default 5."))
]
Layers = Annotated[str | None, typer.Option(help=field_help(CollectConfig, "layers"))]
Preset = Annotated[
    str,
    typer.Option(
        help="paper: the reference protocol in every stage (10,000 documents; steering every "
        "position with the reference's 3 search and 20 final prompts, 5 samples of up to 512 "
        "tokens each). demo (2,000 documents) and fast (500) are cheaper: they steer the best "
        "position only, with everyday prompts and fewer, shorter samples."
    ),
]
Seed = Annotated[int, typer.Option(help=field_help(TextSource, "seed"))]
BatchSize = Annotated[int, typer.Option(help=field_help(CollectConfig, "batch_size"))]
Dtype = Annotated[str, typer.Option(help=field_help(ModelsConfig, "dtype"))]
Device = Annotated[str, typer.Option(help=field_help(ModelsConfig, "device"))]
DeviceMap = Annotated[str | None, typer.Option(help=field_help(ModelsConfig, "device_map"))]
TrustRemoteCode = Annotated[bool, typer.Option(help=field_help(ModelsConfig, "trust_remote_code"))]
Out = Annotated[
    Path, typer.Option(help="Run directory (created; reruns reuse what is cached there).")
]


Steer = Annotated[
    bool | None,
    typer.Option(
        "--steer/--no-steer",
        help="Also steer with the difference: strength search and samples (slow on CPU).",
    ),
]
SteerPositions = Annotated[str | None, typer.Option(help=field_help(SteerConfig, "positions"))]
MaxNewTokens = Annotated[
    int | None, typer.Option(help=field_help(SteerConfig, "final_max_new_tokens"))
]
SteerPrompts = Annotated[str | None, typer.Option(help=field_help(SteerConfig, "prompts"))]
SearchPrompts = Annotated[str | None, typer.Option(help=field_help(SteerConfig, "search_prompts"))]
Scales = Annotated[str | None, typer.Option(help=field_help(ReadConfig, "scales"))]
Readers = Annotated[str | None, typer.Option(help=field_help(ReadConfig, "readers"))]
READ_OPTIONS = ("scales", "readers")
STEER_OPTIONS = (
    "steer",
    "steer_positions",
    "max_new_tokens",
    "prompts",
    "search_prompts",
    "judge",
    "judge_role",
    "judge_max_tokens",
    "reasoning_effort",
)


# Config fields whose flag is not their own name.
PIPELINE_FLAGS: dict[tuple[str, ...], str] = {
    ("collect", "dataset", "name"): "--dataset",
    ("collect", "dataset", "config"): "--dataset-config",
    ("steer", "positions"): "--steer-positions",
    ("steer", "final_max_new_tokens"): "--max-new-tokens",
    ("steer", "prompts"): "--prompts",
    ("steer", "search_prompts"): "--search-prompts",
    ("read", "scales"): "--scales",
    ("read", "readers"): "--readers",
    ("judge", "backend"): "--judge",
}


def parse_names(spec: str) -> list[str]:
    return [name.strip() for name in spec.split(",") if name.strip()]


def parse_positions(spec: str) -> str | list[int]:
    if spec.strip() in ("best", "all"):
        return spec.strip()
    try:
        out = [int(p) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise AdlensError(
            f"Cannot read --steer-positions '{spec}': give best, all or positions like 1,2."
        ) from None
    if not out:
        raise AdlensError("No steering positions given.")
    return out


def _pipeline_command(read: bool, steer_always: bool = False):
    """`run`, `collect` and `steer` share every option; `collect` stops before the readers and
    has no steering options; `steer` always steers."""

    def command(
        out: Out,
        finetuned: Finetuned = None,
        organism: OrganismName = None,
        base: Base = None,
        adapter_base: AdapterBase = None,
        dataset: Dataset = "HuggingFaceFW/fineweb",
        dataset_config: DatasetConfig = None,
        split: Split = "train",
        text_column: TextColumn = "text",
        documents: Documents = None,
        positions: Positions = None,
        layers: Layers = None,
        preset: Preset = "paper",
        seed: Seed = 42,
        batch_size: BatchSize = 256,
        dtype: Dtype = "auto",
        device: Device = "auto",
        device_map: DeviceMap = None,
        trust_remote_code: TrustRemoteCode = False,
        scales: Scales = None,
        readers: Readers = None,
        steer: Steer = False,
        steer_positions: SteerPositions = None,
        max_new_tokens: MaxNewTokens = None,
        prompts: SteerPrompts = None,
        search_prompts: SearchPrompts = None,
        judge: JudgeBackend = "auto",
        judge_role: JudgeRoles = None,
        judge_max_tokens: JudgeMaxTokens = None,
        reasoning_effort: ReasoningEffort = None,
        dry_run: DryRun = False,
        verbose: Verbose = False,
    ) -> None:
        from adlens.cli.organisms import organism_models
        from adlens.core.chat_prompts import load_prompts
        from adlens.core.config import RunConfig, parse_layers, parse_scales
        from adlens.core.data import DEFAULT_HUB_CONFIG, DEFAULT_HUB_DATASET
        from adlens.core.presets import preset as get_preset
        from adlens.core.presets import steer_preset
        from adlens.pipeline.stages import run as run_pipeline
        from adlens.report.tables import norms_table, print_summary

        setup_logging(verbose)
        values = get_preset(preset)
        overrides = {"documents": documents, "positions": positions}
        values |= {k: v for k, v in overrides.items() if v is not None}
        if layers is not None:
            values["layers"] = parse_layers(layers)
        models, organism_layer, described = organism_models(
            organism, base=base, finetuned=finetuned, adapter_base=adapter_base
        )
        if layers is None and organism_layer is not None and organism_layer not in values["layers"]:
            values["layers"] = [*values["layers"], organism_layer]  # the layer the paper reads
        steer_values = steer_preset(preset) | {"enabled": steer or steer_always}
        if steer_positions is not None:
            steer_values["positions"] = parse_positions(steer_positions)
        if max_new_tokens is not None:
            steer_values["final_max_new_tokens"] = max_new_tokens
        for field, spec in (("prompts", prompts), ("search_prompts", search_prompts)):
            if spec is not None:
                steer_values[field] = load_prompts(spec)
        if dataset_config is None and dataset == DEFAULT_HUB_DATASET:
            dataset_config = DEFAULT_HUB_CONFIG
        from pydantic import ValidationError

        # From plain values, so an error's loc names the section (collect.positions is not
        # steer.positions) and maps to its flag.
        raw = {
            "models": {
                **models,
                "dtype": dtype,
                "device": device,
                "device_map": device_map,
                "trust_remote_code": trust_remote_code,
            },
            "collect": {
                "dataset": {
                    "name": dataset,
                    "config": dataset_config,
                    "split": split,
                    "text_column": text_column,
                    "seed": seed,
                },
                "batch_size": batch_size,
                **values,
            },
            "read": {
                "scales": parse_scales(scales) if scales else None,
                **({"readers": parse_names(readers)} if readers is not None else {}),
            },
            "steer": steer_values,
            "judge": judge_config(
                judge,
                roles=judge_role,
                max_tokens=judge_max_tokens,
                reasoning_effort=reasoning_effort,
            ),
        }
        try:
            cfg = RunConfig.model_validate(raw)
        except ValidationError as err:
            raise AdlensError(first_error(err, PIPELINE_FLAGS)) from None
        if described:
            console.print(f"organism {described}", soft_wrap=True)
        if dry_run:
            typer.echo(cfg.model_dump_json(indent=2))
            return
        summary = run_pipeline(cfg, out, read=read)
        if read:
            print_summary(summary, Console())
            console.print(f"results in {out}/ (summary.json, collect/activations.safetensors)")
            from adlens.report import build_report

            console.print(f"report in {build_report(out)}")
        else:
            Console().print(norms_table(summary))
            console.print(f"activations in {out}/collect/activations.safetensors")

    wrapped = handle_errors(command)
    # Typer reads the options from the signature: leave out those this command does not take.
    drop = READ_OPTIONS + STEER_OPTIONS if not read else ("steer",) if steer_always else ()
    sig = inspect.signature(command, eval_str=True)
    wrapped.__signature__ = sig.replace(
        parameters=[p for p in sig.parameters.values() if p.name not in drop]
    )
    return wrapped


@handle_errors
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    tokens: Annotated[int, typer.Option(help="Tokens per row.")] = 8,
) -> None:
    """Print a run's readings (logit lens, Patchscope, ...) and norms per position."""
    from adlens.pipeline.inputs import check_number
    from adlens.report.tables import print_summary
    from adlens.results.summary import load_summary
    from adlens.store.rundir import RunDir

    check_number("--tokens", tokens, at_least=1)
    print_summary(load_summary(RunDir(run_dir)), Console(), n=tokens)


@handle_errors
def assets(
    gemma: Annotated[
        bool, typer.Option(help="Also convert the Gemma-3-270M base model (~75 s).")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Prepare the offline models and corpora (idempotent; cached under $ADLENS_CACHE or ~/.cache/adlens)."""
    from adlens.store.assets import prepare_assets

    setup_logging(verbose)
    for name, path in prepare_assets(gemma=gemma).items():
        Console().print(f"{name:24s} {path}")


@handle_errors
def demo(
    out: Annotated[Path, typer.Option(help="Run directory.")] = Path("runs/demo"),
    documents: Annotated[
        int, typer.Option("--documents", "--samples", help="Documents from the Brown corpus.")
    ] = 2000,
    steer: Annotated[
        bool, typer.Option("--steer/--no-steer", help="Also steer the organism (about 2 min).")
    ] = True,
    judge: Annotated[
        str,
        typer.Option(
            help="Coherence judge of the steering: offline (no LLM), local (`adlens llm start`), "
            "or auto/openai (ADLENS_JUDGE_MODEL and ADLENS_JUDGE_BASE_URL)."
        ),
    ] = "offline",
    verbose: Verbose = False,
) -> None:
    """Offline demo: find what the bundled demo organism was finetuned on (no network, no key)."""
    from adlens.pipeline.inputs import check_number
    from adlens.studies.demo import run_demo

    setup_logging(verbose)
    check_number("--documents", documents, at_least=1)
    run_demo(out, samples=documents, steer=steer, judge=judge_backend(judge), console=Console())


def register(app: typer.Typer) -> None:
    """Add run, collect, steer, show, assets, demo to `app`."""
    app.command(
        "run",
        help="Collect activation differences and read them (logit lens, Patchscope) into OUT; "
        "--steer also steers with them.",
    )(_pipeline_command(read=True))
    app.command(
        "collect",
        help="Collect only: mean activation differences per layer and position, saved as safetensors.",
    )(_pipeline_command(read=False))
    app.command(
        "steer",
        help="Collect, read and steer with the activation difference (strength search, steered and "
        "unsteered samples in OUT/steer/): `run --steer`; cached stages are reused.",
    )(_pipeline_command(read=True, steer_always=True))
    app.command()(show)
    app.command()(assets)
    app.command()(demo)
