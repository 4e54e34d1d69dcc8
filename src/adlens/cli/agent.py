"""`adlens agent` and `adlens grade`: the interpretability agent, the black-box baseline and the
hypothesis grader over a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from adlens.agent.config import AgentConfig
from adlens.cli.common import (
    JudgeBackend,
    field_help,
    first_error,
    handle_errors,
    judge_backend,
    setup_logging,
)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]
Model = Annotated[
    str | None,
    typer.Option(help="Agent LLM (default: $ADLENS_JUDGE_MODEL)."),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        help="OpenAI-compatible URL, e.g. https://openrouter.ai/api/v1 or "
        "http://127.0.0.1:8000/v1 (default: $ADLENS_JUDGE_BASE_URL, else OpenAI)."
    ),
]
GraderModel = Annotated[
    str | None, typer.Option(help="Grader LLM (default: the agent's model, same server).")
]
OrganismOpt = Annotated[
    Path | None,
    typer.Option(help="The organism (organism.json/yaml or its folder): grade each hypothesis."),
]


def parse_budgets(spec: str, option: str) -> list[int]:
    """'0,5,50' -> [0, 5, 50]; '' or 'none' -> []."""
    from adlens.errors import AdlensError

    if spec.strip().lower() in ("", "none", "-"):
        return []
    try:
        values = [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise AdlensError(
            f"{option}: use comma-separated whole numbers like 0,5 (got {spec!r})."
        ) from None
    if any(v < 0 for v in values):
        raise AdlensError(f"{option}: budgets cannot be negative (got {spec!r}).")
    return sorted(set(values))


def agent_table(table: list[dict[str, Any]]) -> Table:
    out = Table(title="agent grades (1-5; shares of graded runs)", title_justify="left")
    for col in ("agent", "budget", "runs", "graded", "mean", ">= 2", ">= 4", "interactions"):
        out.add_column(col, justify="left" if col == "agent" else "right")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f}%"

    for r in table:
        out.add_row(
            "ADL" if r["agent"] == "adl" else "black box",
            str(r["budget"]),
            str(r["runs"]),
            str(r["graded"]),
            "-" if r["mean_grade"] is None else f"{r['mean_grade']:.2f}",
            pct(r["share_ge2"]),
            pct(r["share_ge4"]),
            f"{r['mean_interactions']:g}",
        )
    return out


def agent_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    organism: OrganismOpt = None,
    budgets: Annotated[
        str, typer.Option(help="Model interactions of the ADL agent, comma-separated.")
    ] = "0,5",
    black_box_budgets: Annotated[
        str, typer.Option(help="Budgets of the black-box baseline ('none': skip it).")
    ] = "0,5",
    repeats: Annotated[int, typer.Option(help="Runs per agent and budget.")] = 1,
    grader_repeats: Annotated[int, typer.Option(help="Grader calls per hypothesis (median).")] = 3,
    judge: JudgeBackend = "auto",
    model: Model = None,
    base_url: BaseUrl = None,
    grader_model: GraderModel = None,
    no_tools: Annotated[
        bool,
        typer.Option(
            "--no-tools",
            help="Plain-text call protocol for servers without tool calling (auto-detected "
            "when the server rejects tools).",
        ),
    ] = False,
    max_llm_calls: Annotated[
        int | None, typer.Option(help=field_help(AgentConfig, "max_llm_calls"))
    ] = None,
    max_tokens: Annotated[
        int, typer.Option(help=field_help(AgentConfig, "max_total_tokens"))
    ] = 400_000,
    temperature: Annotated[float, typer.Option(help=field_help(AgentConfig, "temperature"))] = 0.7,
    max_reply_tokens: Annotated[
        int, typer.Option(help=field_help(AgentConfig, "max_reply_tokens"))
    ] = 2048,
    device: Annotated[str, typer.Option(help=field_help(AgentConfig, "device"))] = "auto",
    force: Annotated[bool, typer.Option(help="Run again even if cached.")] = False,
    verbose: Verbose = False,
) -> None:
    """Let an LLM find out what the finetune was from the run's lens readings and samples (and
    the black-box baseline from samples only); grade against --organism; write RUN_DIR/agent/."""

    setup_logging(verbose)
    handle_errors(_agent)(
        run_dir,
        organism=organism,
        budgets=budgets,
        black_box_budgets=black_box_budgets,
        repeats=repeats,
        grader_repeats=grader_repeats,
        judge=judge,
        model=model,
        base_url=base_url,
        grader_model=grader_model,
        no_tools=no_tools,
        max_llm_calls=max_llm_calls,
        max_tokens=max_tokens,
        temperature=temperature,
        max_reply_tokens=max_reply_tokens,
        device=device,
        force=force,
    )


def _agent(run_dir: Path, **kw: Any) -> None:
    from pydantic import ValidationError

    from adlens.agent import AgentConfig, RunData, make_client, run_agents
    from adlens.core.config import JudgeConfig
    from adlens.errors import AdlensError
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.inputs import check_base_url, check_device, check_number

    adl = parse_budgets(kw["budgets"], "--budgets")
    blackbox = parse_budgets(kw["black_box_budgets"], "--black-box-budgets")
    check_number("--repeats", kw["repeats"], at_least=1)
    check_number("--grader-repeats", kw["grader_repeats"], at_least=1)
    try:
        cfg = AgentConfig(
            max_llm_calls=kw["max_llm_calls"],
            max_total_tokens=kw["max_tokens"],
            temperature=kw["temperature"],
            max_reply_tokens=kw["max_reply_tokens"],
            protocol="text" if kw["no_tools"] else "auto",
            device=kw["device"],
        )
    except ValidationError as err:
        raise AdlensError(first_error(err, {("max_total_tokens",): "--max-tokens"})) from None
    check_device(kw["device"])
    if kw["judge"] != "local":
        check_base_url(kw["base_url"])
    organism = load_organism(kw["organism"]) if kw["organism"] else None
    RunData.load(run_dir)  # a missing run directory is reported before any LLM setup
    root = Path(run_dir) / "agent"
    # --force: ask the LLM again, too
    judge = JudgeConfig(backend=judge_backend(kw["judge"], llm_only=True), cache=not kw["force"])
    client = make_client(kw["model"], kw["base_url"], log_path=root / "calls.jsonl", judge=judge)
    grader = None
    if organism is not None:
        grader = make_client(
            kw["grader_model"] or client.model,
            kw["base_url"],
            log_path=root / "grader_calls.jsonl",
            judge=judge,
        )
    out = Console()

    def show(result: dict[str, Any]) -> None:
        grade = result.get("grade")
        mark = "" if "grade" not in result else f" grade {'?' if grade is None else f'{grade:g}'}"
        hyp = " ".join((result.get("hypothesis") or "(none)").split())
        out.print(
            f"[bold]{result['agent']} i{result['budget']} r{result['repeat']}[/bold]{mark} "
            f"({result['stop']}, {result['interactions_used']} interactions): {hyp[:200]}"
        )

    table = run_agents(
        run_dir,
        budgets=adl,
        black_box_budgets=blackbox,
        repeats=kw["repeats"],
        organism=organism,
        client=client,
        grader=grader,
        cfg=cfg,
        grader_repeats=kw["grader_repeats"],
        force=kw["force"],
        on_result=show,
    )
    out.print(agent_table(table))
    if organism is None:
        out.print("not graded: pass --organism to grade the hypotheses")
    out.print(f"results in {root}/ (table.md, runs.jsonl, one folder per run)")


def grade_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with agent results.")],
    organism: Annotated[
        Path, typer.Option(help="The organism (organism.json/yaml or its folder).")
    ],
    repeats: Annotated[int, typer.Option(help="Grader calls per hypothesis (median).")] = 3,
    judge: JudgeBackend = "auto",
    model: Annotated[
        str | None, typer.Option(help="Grader LLM (default: $ADLENS_JUDGE_MODEL).")
    ] = None,
    base_url: BaseUrl = None,
    force: Annotated[bool, typer.Option(help="Grade again even if cached.")] = False,
    verbose: Verbose = False,
) -> None:
    """Grade every agent hypothesis in RUN_DIR/agent 1-5 against the organism's description and
    rewrite the table."""

    setup_logging(verbose)
    handle_errors(_grade)(
        run_dir,
        organism=organism,
        repeats=repeats,
        judge=judge,
        model=model,
        base_url=base_url,
        force=force,
    )


def _grade(run_dir: Path, **kw: Any) -> None:
    from adlens.agent import grade_all, make_client
    from adlens.core.config import JudgeConfig
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.inputs import check_base_url, check_number

    check_number("--repeats", kw["repeats"], at_least=1)
    if kw["judge"] != "local":
        check_base_url(kw["base_url"])
    organism = load_organism(kw["organism"])
    root = Path(run_dir) / "agent"
    client = make_client(
        kw["model"],
        kw["base_url"],
        log_path=root / "grader_calls.jsonl",
        # --force: ask the LLM again, too
        judge=JudgeConfig(backend=judge_backend(kw["judge"], llm_only=True), cache=not kw["force"]),
    )
    table = grade_all(run_dir, organism, client, repeats=kw["repeats"], force=kw["force"])
    Console().print(agent_table(table))
    Console().print(f"grades in {root}/ (table.md, runs.jsonl)")
