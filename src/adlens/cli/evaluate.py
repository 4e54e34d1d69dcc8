"""`adlens evaluate ...`: score a run directory against the organism's description and data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from adlens.cli.common import (
    DeviceOverride,
    DtypeOverride,
    JudgeBackend,
    JudgeBaseUrl,
    JudgeMaxTokens,
    JudgeModel,
    JudgeRoles,
    ReasoningEffort,
    field_help,
    first_error,
    handle_errors,
    judge_backend,
    judge_config,
    setup_logging,
)
from adlens.cli.evaluate_ffa import ffa
from adlens.cli.evaluate_tables import causal_table, relevance_table, similarity_table
from adlens.evaluate.relevance_config import RelevanceConfig
from adlens.results.readings import ALL

evaluate_app = typer.Typer(
    help="Score a run against what the organism was finetuned on: token relevance, steering "
    "similarity, causal effect.",
    no_args_is_help=True,
)

# --- relevance -------------------------------------------------------------------------------


@evaluate_app.command("relevance")
def relevance(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    organism: Annotated[
        Path,
        typer.Option(
            help="The organism: its organism.json/yaml, the folder `adlens train` wrote, or a "
            "bundled or paper organism's name (`adlens organisms list`)."
        ),
    ],
    grader: Annotated[
        str,
        typer.Option(
            help="auto (the LLM judge when --judge is local or openai, or ADLENS_JUDGE_MODEL or "
            "--judge-model is set, else "
            "offline), llm, or offline (distinctive words of the finetuning data)."
        ),
    ] = "auto",
    aggregate: Annotated[str, typer.Option(help=field_help(RelevanceConfig, "aggregate"))] = "all",
    shuffles: Annotated[int, typer.Option(help=field_help(RelevanceConfig, "shuffles"))] = 3,
    top_k: Annotated[int, typer.Option(help=field_help(RelevanceConfig, "top_k"))] = 20,
    control: Annotated[
        list[Path] | None,
        typer.Option(help="Another organism to grade the same tokens against (repeatable)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Reference corpus of the offline grader (default: the run's own dataset)."
        ),
    ] = None,
    reference_docs: Annotated[
        int, typer.Option(help=field_help(RelevanceConfig, "reference_docs"))
    ] = 2000,
    judge: JudgeBackend = "auto",
    judge_model: JudgeModel = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_role: JudgeRoles = None,
    judge_max_tokens: JudgeMaxTokens = None,
    reasoning_effort: ReasoningEffort = None,
    seed: Annotated[int, typer.Option(help=field_help(RelevanceConfig, "seed"))] = 0,
    force: Annotated[bool, typer.Option(help="Grade again even if cached.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Grade the top tokens of every reader of the run (difference and baselines) for
    relevance to the organism; saves RUN_DIR/evaluate/relevance.jsonl and relevance.json."""

    setup_logging(verbose)
    handle_errors(_relevance)(
        run_dir,
        organism,
        grader=grader,
        aggregate=aggregate,
        shuffles=shuffles,
        top_k=top_k,
        controls=control or [],
        reference=reference,
        reference_docs=reference_docs,
        judge=judge,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
        judge_role=judge_role,
        judge_max_tokens=judge_max_tokens,
        reasoning_effort=reasoning_effort,
        seed=seed,
        force=force,
    )


def _relevance(run_dir: Path, organism: Path, **kw: Any) -> None:
    from pydantic import ValidationError

    from adlens.core.data import TextSource
    from adlens.core.readers import reader_label
    from adlens.errors import AdlensError
    from adlens.evaluate.relevance import evaluate_relevance

    try:
        cfg = RelevanceConfig(
            top_k=kw["top_k"],
            shuffles=kw["shuffles"],
            aggregate=kw["aggregate"],
            seed=kw["seed"],
            reference_docs=kw["reference_docs"],
        )
    except ValidationError as err:
        raise AdlensError(first_error(err)) from None
    backend = judge_backend(kw["judge"])
    judge = judge_config(
        "offline" if kw["grader"] == "offline" else backend,
        roles=kw["judge_role"],
        max_tokens=kw["judge_max_tokens"],
        reasoning_effort=kw["reasoning_effort"],
        model=kw["judge_model"],
        base_url=kw["judge_base_url"],
    )
    overview = evaluate_relevance(
        run_dir,
        organism,
        grader=kw["grader"],
        config=cfg,
        controls=kw["controls"],
        judge=judge,
        reference=TextSource(name=kw["reference"]) if kw["reference"] else None,
        force=kw["force"],
    )
    out = Console()
    out.print(relevance_table(overview))
    for r in overview["best"]:
        if r["variant"] == "diff" and r["relevant_tokens"]:
            tokens = " ".join(repr(t) for t in r["relevant_tokens"][:10])
            where = "pooled" if r["position"] == ALL else f"position {r['position']}"
            out.print(f"{reader_label(r['reader'])}, {where}: {tokens}")
    cached = " (cached)" if overview.get("cached") else ""
    out.print(f"graded by the {overview['grader']}{cached}")
    from adlens.judges.roles import truncation_note

    if truncation_note(overview.get("judge") or {}):
        out.print(f"[yellow]{truncation_note(overview['judge'])}[/yellow]")
    if overview.get("skipped_controls"):
        out.print(
            f"controls skipped (no finetuning data): {', '.join(overview['skipped_controls'])}"
        )
    out.print(f"results in {Path(run_dir) / 'evaluate'}/relevance.jsonl and relevance.json")


# --- similarity ------------------------------------------------------------------------------


@evaluate_app.command("similarity")
def similarity(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with steering samples.")],
    organism: Annotated[
        Path,
        typer.Option(
            help="The organism: its organism.json/yaml, the folder `adlens train` wrote, a "
            "bundled or paper organism's name (`adlens organisms list`), or a documents .jsonl."
        ),
    ],
    embedder: Annotated[
        str,
        typer.Option(
            help="auto (Qwen/Qwen3-Embedding-0.6B from the hub, the offline MiniLM asset when "
            "the hub is unreachable), minilm, a local sentence-transformers folder or a hub id."
        ),
    ] = "auto",
    documents: Annotated[int, typer.Option(help="Finetuning documents to embed.")] = 500,
    chat: Annotated[int, typer.Option(help="Ordinary chat replies to embed.")] = 500,
    chat_source: Annotated[
        str,
        typer.Option(help="Chat replies: chatterbot (offline), a local file or a hub dataset."),
    ] = "chatterbot",
    max_tokens: Annotated[
        int, typer.Option(help="Embedder input is cut at this many tokens.")
    ] = 512,
    seed: Annotated[int, typer.Option(help="Seed for choosing documents and replies.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Texts per embedder batch.")] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, ...")] = "auto",
    force: Annotated[bool, typer.Option(help="Recompute even if cached.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Embed steered and unsteered samples, finetuning documents and chat replies; report mean pairwise cosines (steered vs D against unsteered vs D); saves RUN_DIR/evaluate/similarity.json."""  # noqa: E501 (one line: typer keeps line breaks)

    setup_logging(verbose)
    handle_errors(_similarity)(
        run_dir,
        organism,
        dict(
            embedder=embedder,
            documents=documents,
            chat=chat,
            chat_source=chat_source,
            max_tokens=max_tokens,
            seed=seed,
            batch_size=batch_size,
            device=device,
        ),
        force,
    )


def _option_error(err: Any) -> Exception:
    from adlens.errors import AdlensError

    return AdlensError(first_error(err))


def _similarity(run_dir: Path, organism: Path, options: dict[str, Any], force: bool) -> None:
    from pydantic import ValidationError

    from adlens.evaluate.similarity import SimilarityConfig, steering_similarity
    from adlens.pipeline.inputs import check_device

    try:
        cfg = SimilarityConfig(**options)
    except ValidationError as err:
        raise _option_error(err) from None
    check_device(cfg.device)
    result = steering_similarity(run_dir, organism, cfg, force=force)
    out = Console()
    out.print(similarity_table(result))
    best = result["best"]
    out.print(
        f"best: layer {best['layer']} position {best['position']}: steered vs D "
        f"{best['steered_vs_D']['mean']:.3f} against unsteered "
        f"{result['baselines']['unsteered_vs_D']['mean']:.3f} (D self-similarity "
        f"{result['baselines']['D_self']:.3f})"
    )
    out.print(f"results in {Path(run_dir) / 'evaluate'}/similarity.json")


# --- causal ----------------------------------------------------------------------------------


@evaluate_app.command("causal")
def causal(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (after `adlens run`).")],
    organism: Annotated[
        Path,
        typer.Option(
            help="The organism: its organism.json/yaml, the folder `adlens train` wrote, a "
            "bundled or paper organism's name (`adlens organisms list`), or a documents .jsonl."
        ),
    ],
    mode: Annotated[
        str,
        typer.Option(help="base: replace the component with the base model's; zero: remove it."),
    ] = "base",
    documents: Annotated[int, typer.Option(help="Documents per corpus (D and R).")] = 64,
    max_tokens: Annotated[int, typer.Option(help="Tokens per document.")] = 128,
    random: Annotated[
        int, typer.Option(help="Random directions, and random activation differences, per layer.")
    ] = 16,
    positions: Annotated[
        str | None, typer.Option(help="Comma-separated positions (default: all collected).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for documents and random controls.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Documents per forward pass.")] = 8,
    device: DeviceOverride = None,
    dtype: DtypeOverride = None,
    force: Annotated[bool, typer.Option(help="Recompute even if cached.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Replace (or zero) the component along each d_j in the finetuned model at the run's layer; loss on finetuning documents and the reference corpus, against random directions; saves RUN_DIR/evaluate/causal.json."""  # noqa: E501 (one line: typer keeps line breaks)

    setup_logging(verbose)
    handle_errors(_causal)(
        run_dir,
        organism,
        dict(
            mode=mode,
            documents=documents,
            max_tokens=max_tokens,
            random=random,
            positions=positions,
            seed=seed,
            batch_size=batch_size,
        ),
        device=device,
        dtype=dtype,
        force=force,
    )


def _causal(run_dir: Path, organism: Path, options: dict[str, Any], **kw: Any) -> None:
    from pydantic import ValidationError

    from adlens.errors import AdlensError
    from adlens.evaluate.causal import CausalConfig
    from adlens.evaluate.causal_stage import run_causal
    from adlens.pipeline.inputs import check_device, check_dtype

    spec = options.pop("positions")
    try:
        if spec:
            options["positions"] = [int(p) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise AdlensError(f"--positions: give positions like 1,2 (got {spec!r}).") from None
    try:
        cfg = CausalConfig(**options)
    except ValidationError as err:
        raise _option_error(err) from None
    device = check_device(kw["device"]) if kw.get("device") else None
    if kw.get("dtype"):
        check_dtype(kw["dtype"], device)
    result = run_causal(run_dir, organism, cfg, **kw)
    out = Console()
    out.print(causal_table(result))
    out.print(
        f"{result['corpora']['D']['documents']} finetuning and "
        f"{result['corpora']['R']['documents']} reference documents ({result['reference_dataset']}), "
        f"{result['config']['max_tokens']} tokens each; {result['wall_seconds']:.0f} s"
    )
    out.print(f"results in {Path(run_dir) / 'evaluate'}/causal.json")


evaluate_app.command("ffa")(ffa)  # false-fact alignment (cli/evaluate_ffa.py)
