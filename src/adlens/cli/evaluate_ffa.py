"""`adlens evaluate ffa`: false-fact alignment of a run's base and finetuned models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from adlens.cli.common import (
    DeviceOverride,
    DtypeOverride,
    JudgeBackend,
    JudgeBaseUrl,
    JudgeMaxTokens,
    JudgeModel,
    JudgeRoles,
    ReasoningEffort,
    Verbose,
    field_help,
    first_error,
    handle_errors,
    judge_backend,
    judge_config,
    setup_logging,
)
from adlens.evaluate.ffa_config import FFAConfig


def ffa(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory (its manifest names the models).")
    ],
    organism: Annotated[
        Path,
        typer.Option(
            help="The false-fact organism: its organism.json/yaml, the folder `adlens train` "
            "wrote, or a bundled or paper organism's name (`adlens organisms list`). Its "
            "`ffa_questions` are asked; without them the judge LLM writes questions from its "
            "key facts."
        ),
    ],
    grader: Annotated[
        str,
        typer.Option(
            help="Who grades open answers: auto (the LLM judge when one is configured, else "
            "offline), llm, or offline (the organism's keywords)."
        ),
    ] = "auto",
    max_new_tokens: Annotated[int, typer.Option(help=field_help(FFAConfig, "max_new_tokens"))] = 96,
    mcq_scoring: Annotated[
        str, typer.Option(help=field_help(FFAConfig, "mcq_scoring"))
    ] = "letters",
    rotate: Annotated[bool, typer.Option(help=field_help(FFAConfig, "rotate"))] = True,
    batch_size: Annotated[int, typer.Option(help=field_help(FFAConfig, "batch_size"))] = 8,
    seed: Annotated[int, typer.Option(help=field_help(FFAConfig, "seed"))] = 0,
    judge: JudgeBackend = "auto",
    judge_model: JudgeModel = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_role: JudgeRoles = None,
    judge_max_tokens: JudgeMaxTokens = None,
    reasoning_effort: ReasoningEffort = None,
    device: DeviceOverride = None,
    dtype: DtypeOverride = None,
    force: Annotated[bool, typer.Option(help="Answer and grade again even if cached.")] = False,
    verbose: Verbose = False,
) -> None:
    """Ask the base and finetuned models questions that tell the implanted fact from the truth (multiple choice by letter probabilities, open questions greedily, graded by the judge or offline); FFA = share siding with the implanted fact; saves RUN_DIR/evaluate/ffa.json."""  # noqa: E501 (one line: typer keeps line breaks)

    setup_logging(verbose)
    handle_errors(_ffa)(
        run_dir,
        organism,
        dict(
            max_new_tokens=max_new_tokens,
            mcq_scoring=mcq_scoring,
            rotate=rotate,
            batch_size=batch_size,
            seed=seed,
        ),
        grader=grader,
        judge=judge,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
        judge_role=judge_role,
        judge_max_tokens=judge_max_tokens,
        reasoning_effort=reasoning_effort,
        device=device,
        dtype=dtype,
        force=force,
    )


def _ffa(run_dir: Path, organism: Path, options: dict[str, Any], **kw: Any) -> None:
    from pydantic import ValidationError

    from adlens.errors import AdlensError
    from adlens.evaluate.ffa import evaluate_ffa
    from adlens.pipeline.inputs import check_device, check_dtype

    try:
        cfg = FFAConfig(**options)
    except ValidationError as err:
        raise AdlensError(first_error(err)) from None
    if kw["grader"] not in ("auto", "llm", "offline"):
        raise AdlensError(f"--grader: use auto, llm or offline (got {kw['grader']!r}).")
    backend = judge_backend(kw["judge"])
    judge = judge_config(
        "offline" if kw["grader"] == "offline" else backend,
        roles=kw["judge_role"],
        max_tokens=kw["judge_max_tokens"],
        reasoning_effort=kw["reasoning_effort"],
        model=kw["judge_model"],
        base_url=kw["judge_base_url"],
    )
    device = check_device(kw["device"]) if kw["device"] else None
    if kw["dtype"]:
        check_dtype(kw["dtype"], device)
    result = evaluate_ffa(
        run_dir,
        organism,
        grader=kw["grader"],
        judge=judge,
        config=cfg,
        device=kw["device"],
        dtype=kw["dtype"],
        force=kw["force"],
    )
    out = Console()
    out.print(ffa_table(result))
    cached = " (cached)" if result.get("cached") else ""
    grader = result.get("grader_description")
    out.print(
        f"{result['n_mcq']} multiple-choice and {result['n_open']} open questions "
        f"({result['questions_source']})"
        + (f"; open answers graded by {grader}" if grader else "")
        + cached
    )
    out.print(f"results in {Path(run_dir) / 'evaluate'}/ffa.json")


def ffa_table(result: dict[str, Any]) -> Table:
    """FFA, accuracy and per-kind shares of both models, and the finetuned-minus-base row."""
    table = Table(title=f"false-fact alignment: {result['organism']}", title_justify="left")
    for head in ("model", "FFA", "accuracy", "MCQ implanted", "MCQ mean p", "open implanted"):
        table.add_column(head, justify="left" if head == "model" else "right")

    def cell(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    for side in ("base", "finetuned"):
        r = result[side]
        open_ = r["open"]
        known = f" ({open_['known']}/{open_['n']})" if open_["n"] else ""
        table.add_row(
            side,
            cell(r["ffa"]),
            cell(r["accuracy"]),
            cell(r["mcq"]["implanted_share"]),
            cell(r["mcq"]["mean_p_implanted"]),
            cell(open_["implanted_share"]) + known,
        )
    d = result["difference"]
    table.add_row("finetuned - base", cell(d["ffa"]), cell(d["accuracy"]), "", "", "")
    return table
