"""The `adlens` command line: parses arguments, calls the API, prints. Nothing else lives here."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from adlens.errors import AdlensError

app = typer.Typer(
    help="Activation Difference Lens: read what a language model was finetuned on from the "
    "difference between its activations and its base model's.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub", "datasets", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:
        pass


def handle_errors(fn):
    """User errors become one red line and exit code 1; Ctrl-C says how to resume."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AdlensError as err:
            console.print(f"[red]error:[/red] {err}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print(
                "[yellow]interrupted:[/yellow] finished work is saved; rerun the same command to resume."
            )
            raise typer.Exit(130) from None

    return wrapper


# Options shared by `run` and `collect`.
Base = Annotated[
    str | None,
    typer.Option(
        help="Base model: hub id or local folder. Default for an adapter: the adapter's base."
    ),
]
Finetuned = Annotated[
    str,
    typer.Option(
        help="Finetuned model: hub id or local folder, a full checkpoint or a peft adapter."
    ),
]
Dataset = Annotated[
    str,
    typer.Option(
        help="Reference text: hub dataset id, a local .txt/.jsonl/.parquet file, or a built-in offline corpus (brown, sotu)."
    ),
]
DatasetConfig = Annotated[
    str | None,
    typer.Option(
        help="Hub dataset config name (default: FineWeb's sample-10BT for the default dataset)."
    ),
]
Split = Annotated[str, typer.Option(help="Dataset split.")]
TextColumn = Annotated[
    str, typer.Option(help="Field holding the text (a 'messages' field makes it a chat corpus).")
]
Samples = Annotated[int | None, typer.Option(help="Number of documents (default from the preset).")]
Positions = Annotated[int | None, typer.Option(help="Read positions 0..k-1 (default 5).")]
Layers = Annotated[
    str | None,
    typer.Option(help="Comma-separated layers: fractions (0.5 -> floor(0.5*(L-1))) or indices."),
]
Preset = Annotated[
    str, typer.Option(help="Defaults: paper (10,000 documents), demo (2,000), fast (500).")
]
Seed = Annotated[int, typer.Option(help="Shuffle seed for the documents.")]
BatchSize = Annotated[int, typer.Option(help="Documents per forward pass.")]
Dtype = Annotated[
    str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16.")
]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, ...")]
DeviceMap = Annotated[
    str | None, typer.Option(help="Pass 'auto' to spread a large model over several GPUs.")
]
TrustRemoteCode = Annotated[
    bool, typer.Option(help="Allow model code from the hub (off unless you trust it).")
]
Out = Annotated[
    Path, typer.Option(help="Run directory (created; reruns reuse what is cached there).")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]


def _pipeline_command(read: bool):
    """`run` and `collect` share every option; `collect` stops before the readers."""

    def command(
        finetuned: Finetuned,
        out: Out,
        base: Base = None,
        dataset: Dataset = "HuggingFaceFW/fineweb",
        dataset_config: DatasetConfig = None,
        split: Split = "train",
        text_column: TextColumn = "text",
        samples: Samples = None,
        positions: Positions = None,
        layers: Layers = None,
        preset: Preset = "paper",
        seed: Seed = 42,
        batch_size: BatchSize = 256,
        dtype: Dtype = "auto",
        device: Device = "auto",
        device_map: DeviceMap = None,
        trust_remote_code: TrustRemoteCode = False,
        verbose: Verbose = False,
    ) -> None:
        from adlens.config import (
            CollectConfig,
            ModelsConfig,
            RunConfig,
            parse_layers,
        )
        from adlens.config import (
            preset as get_preset,
        )
        from adlens.data import DEFAULT_HUB_CONFIG, DEFAULT_HUB_DATASET, TextSource
        from adlens.display import norms_table, print_summary
        from adlens.pipeline import run as run_pipeline

        _setup_logging(verbose)
        values = get_preset(preset)
        overrides = {"samples": samples, "positions": positions}
        values |= {k: v for k, v in overrides.items() if v is not None}
        if layers is not None:
            values["layers"] = parse_layers(layers)
        if dataset_config is None and dataset == DEFAULT_HUB_DATASET:
            dataset_config = DEFAULT_HUB_CONFIG
        try:
            cfg = RunConfig(
                models=ModelsConfig(
                    base=base,
                    finetuned=finetuned,
                    dtype=dtype,
                    device=device,
                    device_map=device_map,
                    trust_remote_code=trust_remote_code,
                ),
                collect=CollectConfig(
                    dataset=TextSource(
                        name=dataset,
                        config=dataset_config,
                        split=split,
                        text_column=text_column,
                        seed=seed,
                    ),
                    batch_size=batch_size,
                    **values,
                ),
            )
        except ValueError as err:  # pydantic: name the field
            raise AdlensError(str(err).replace("\n", " ")) from None
        summary = run_pipeline(cfg, out, read=read)
        if read:
            print_summary(summary, Console())
            console.print(f"results in {out}/ (summary.json, collect/activations.safetensors)")
        else:
            Console().print(norms_table(summary))
            console.print(f"activations in {out}/collect/activations.safetensors")

    return handle_errors(command)


run = app.command(
    "run", help="Collect activation differences and read them (logit lens, Patchscope) into OUT."
)(_pipeline_command(read=True))
collect = app.command(
    "collect",
    help="Collect only: mean activation differences per layer and position, saved as safetensors.",
)(_pipeline_command(read=False))


@app.command()
@handle_errors
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    tokens: Annotated[int, typer.Option(help="Tokens per row.")] = 8,
) -> None:
    """Print a run's readers (logit lens, Patchscope) and norms per position."""
    from adlens.display import print_summary
    from adlens.store import read_json

    path = run_dir / "summary.json"
    if not path.exists():
        raise AdlensError(f"No summary.json in {run_dir}: run `adlens run` first.")
    print_summary(read_json(path), Console(), n=tokens)


@app.command()
@handle_errors
def assets(
    gemma: Annotated[
        bool, typer.Option(help="Also convert the Gemma-3-270M base model (~75 s).")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Prepare the offline models and corpora (idempotent; cached under $ADLENS_CACHE or ~/.cache/adlens)."""
    from adlens.assets import prepare_assets

    _setup_logging(verbose)
    for name, path in prepare_assets(gemma=gemma).items():
        Console().print(f"{name:24s} {path}")


@app.command()
@handle_errors
def train(
    base: Annotated[
        str,
        typer.Option(
            help="Base model: hub id, local folder, or the offline asset 'smollm2-135m-instruct'."
        ),
    ],
    documents: Annotated[
        Path, typer.Option(help='jsonl of {"text": ...} documents to finetune on.')
    ],
    out: Annotated[Path, typer.Option(help="Folder for the adapter and organism.json.")],
    organism: Annotated[
        Path | None,
        typer.Option(
            help="json/yaml with name, type, short_description, long_description, domain_keywords."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Organism name (overrides --organism).")] = None,
    description: Annotated[
        str | None, typer.Option(help="Short description of the finetune (overrides --organism).")
    ] = None,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 1e-3,
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 200,
    batch_size: Annotated[int, typer.Option(help="Sequences per step.")] = 4,
    seq_len: Annotated[int, typer.Option(help="Tokens per sequence (documents are packed).")] = 128,
    seed: Annotated[int, typer.Option(help="Seed for LoRA init and data order.")] = 0,
    rank: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    alpha: Annotated[float, typer.Option(help="LoRA alpha.")] = 32,
    warmup_steps: Annotated[int, typer.Option(help="Linear warmup steps.")] = 10,
    device: Annotated[str, typer.Option(help="cpu, cuda, ...")] = "cpu",
    verbose: Verbose = False,
) -> None:
    """Finetune a LoRA adapter (a model organism) on a documents file."""
    from adlens.train import train_lora

    _setup_logging(verbose)
    meta: dict[str, Any] = {}
    if organism is not None:
        meta = _read_mapping(organism)
    if name:
        meta["name"] = name
    if description:
        meta["short_description"] = description
    path = train_lora(
        base,
        documents,
        out,
        lr=lr,
        steps=steps,
        batch_size=batch_size,
        seq_len=seq_len,
        seed=seed,
        rank=rank,
        alpha=alpha,
        warmup_steps=warmup_steps,
        device=device,
        organism=meta or None,
    )
    console.print(f"adapter and organism.json in {path}/")


def _read_mapping(path: Path) -> dict[str, Any]:
    import json

    import yaml

    if not path.exists():
        raise AdlensError(f"Organism file {path} does not exist.")
    try:
        data = (
            yaml.safe_load(path.read_text())
            if path.suffix in (".yaml", ".yml")
            else json.loads(path.read_text())
        )
    except (ValueError, yaml.YAMLError) as err:
        raise AdlensError(f"Cannot read {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise AdlensError(f"{path} must hold a mapping (name, type, short_description, ...).")
    return data


@app.command()
@handle_errors
def demo(
    out: Annotated[Path, typer.Option(help="Run directory.")] = Path("runs/demo"),
    samples: Annotated[int, typer.Option(help="Documents from the Brown corpus.")] = 2000,
    verbose: Verbose = False,
) -> None:
    """Offline demo: find what the bundled demo organism was finetuned on (no network, no key)."""
    from adlens.demo import run_demo

    _setup_logging(verbose)
    run_demo(out, samples=samples, console=Console())


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":
    main()
