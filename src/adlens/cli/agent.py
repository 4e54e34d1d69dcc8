"""`adlens agent` and `adlens grade`: the interpretability agent, the black-box baseline and the
hypothesis grader over a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from adlens.agent.config import AgentConfig
from adlens.cli.agent_table import table_command
from adlens.cli.common import (
    JudgeBackend,
    JudgeMaxTokens,
    JudgeRoles,
    ReasoningEffort,
    field_help,
    first_error,
    handle_errors,
    judge_config,
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
    typer.Option(
        help="The organism (organism.json/yaml or its folder, or a paper organism id such as "
        "cake_bake/qwen3_1_7b): grade each hypothesis."
    ),
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
    out = Table(
        title="agent grades (1-5; shares of graded runs; keywords: the keyword rule's mean)",
        title_justify="left",
    )
    cols = ("agent", "budget", "runs", "graded", "mean", ">= 2", ">= 4", "keywords", "interactions")
    for col in cols:
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
            "-" if r.get("keyword_mean") is None else f"{r['keyword_mean']:.2f}",
            f"{r['mean_interactions']:g}",
        )
    return out


def agent_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with summary.json.")],
    organism: OrganismOpt = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="paper: the reference study's design, 5 repeats, ADL budgets 0,5, black box "
            "0,5,50, 3 grader calls. Without it (or demo, fast): 1 repeat, budgets 0,5 and 0,5, "
            "3 grader calls. The options below override it."
        ),
    ] = None,
    budgets: Annotated[
        str | None,
        typer.Option(help="Model interactions of the ADL agent, comma-separated (default 0,5)."),
    ] = None,
    black_box_budgets: Annotated[
        str | None,
        typer.Option(
            help="Budgets of the black-box baseline ('none': skip it; default 0,5, paper preset "
            "0,5,50)."
        ),
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(help="Runs per agent and budget (default 1, paper preset 5).")
    ] = None,
    grader_repeats: Annotated[
        int | None, typer.Option(help="Grader calls per hypothesis, median taken (default 3).")
    ] = None,
    judge: JudgeBackend = "auto",
    model: Model = None,
    base_url: BaseUrl = None,
    grader_model: GraderModel = None,
    judge_role: JudgeRoles = None,
    judge_max_tokens: JudgeMaxTokens = None,
    reasoning_effort: ReasoningEffort = None,
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
    temperature: Annotated[
        float | None, typer.Option(help=field_help(AgentConfig, "temperature", "Default 0.7."))
    ] = None,
    max_reply_tokens: Annotated[
        int | None,
        typer.Option(
            help=field_help(AgentConfig, "max_reply_tokens", "Default 2048, paper preset 10000.")
        ),
    ] = None,
    device: Annotated[str, typer.Option(help=field_help(AgentConfig, "device"))] = "auto",
    force: Annotated[bool, typer.Option(help="Run again even if cached.")] = False,
    verbose: Verbose = False,
) -> None:
    """Run the agent and the black-box baseline on a run directory, and grade them.

    An LLM finds out what the finetune was from the run's lens readings and samples (the
    black-box baseline from samples only); with --organism each hypothesis is graded 1-5.
    Writes RUN_DIR/agent/. `adlens agent RUN_DIR ...` is the same command."""

    setup_logging(verbose)
    handle_errors(_agent)(
        run_dir,
        organism=organism,
        preset=preset,
        budgets=budgets,
        black_box_budgets=black_box_budgets,
        repeats=repeats,
        grader_repeats=grader_repeats,
        judge=judge,
        model=model,
        base_url=base_url,
        grader_model=grader_model,
        judge_role=judge_role,
        judge_max_tokens=judge_max_tokens,
        reasoning_effort=reasoning_effort,
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
    from adlens.agent.config import agent_preset
    from adlens.errors import AdlensError
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.inputs import check_base_url, check_device, check_number

    plan = agent_preset(kw["preset"])  # the preset's plan; options given override it
    for key in ("repeats", "grader_repeats"):
        kw[key] = plan[key] if kw[key] is None else kw[key]
    adl = plan["budgets"]
    if kw["budgets"] is not None:
        adl = parse_budgets(kw["budgets"], "--budgets")
    blackbox = plan["black_box_budgets"]
    if kw["black_box_budgets"] is not None:
        blackbox = parse_budgets(kw["black_box_budgets"], "--black-box-budgets")
    check_number("--repeats", kw["repeats"], at_least=1)
    check_number("--grader-repeats", kw["grader_repeats"], at_least=1)
    try:
        given = {
            "max_llm_calls": kw["max_llm_calls"],
            "max_total_tokens": kw["max_tokens"],
            "temperature": kw["temperature"],
            "max_reply_tokens": kw["max_reply_tokens"],
        }
        # the preset's settings, under the options given
        cfg = AgentConfig(
            **(plan.get("settings", {}) | {k: v for k, v in given.items() if v is not None}),
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
    judge = judge_options(kw)
    client = make_client(kw["model"], kw["base_url"], log_path=root / "calls.jsonl", judge=judge)
    grader = None
    if organism is not None:
        grader = make_client(
            kw["grader_model"],
            kw["base_url"],
            log_path=root / "grader_calls.jsonl",
            judge=judge,
            role="grader",
            fallback_model=client.model,  # no grader model of its own: the agent's
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
    judge_role: JudgeRoles = None,
    judge_max_tokens: JudgeMaxTokens = None,
    reasoning_effort: ReasoningEffort = None,
    force: Annotated[bool, typer.Option(help="Grade again even if cached.")] = False,
    verbose: Verbose = False,
) -> None:
    """Grade every agent hypothesis in RUN_DIR/agent 1-5 against the organism's description and
    rewrite the table. The keyword rule (the organism's domain keywords and key facts, no LLM)
    grades them too, into grade-keywords.json; --judge offline grades with it alone."""

    setup_logging(verbose)
    handle_errors(_grade)(
        run_dir,
        organism=organism,
        repeats=repeats,
        judge=judge,
        model=model,
        base_url=base_url,
        judge_role=judge_role,
        judge_max_tokens=judge_max_tokens,
        reasoning_effort=reasoning_effort,
        force=force,
    )


def judge_options(kw: dict[str, Any]) -> Any:
    """The JudgeConfig of the judge options; --force asks the LLM again, too (no cache)."""
    return judge_config(
        kw["judge"],
        llm_only=True,
        roles=kw["judge_role"],
        max_tokens=kw["judge_max_tokens"],
        reasoning_effort=kw["reasoning_effort"],
        cache=not kw["force"],
    )


def _grade(run_dir: Path, **kw: Any) -> None:
    from adlens.agent import grade_all, make_client
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.inputs import check_base_url, check_number

    check_number("--repeats", kw["repeats"], at_least=1)
    if kw["judge"] != "local":
        check_base_url(kw["base_url"])
    organism = load_organism(kw["organism"])
    root = Path(run_dir) / "agent"
    client = (
        None
        if kw["judge"] == "offline"
        else make_client(
            kw["model"],
            kw["base_url"],
            log_path=root / "grader_calls.jsonl",
            judge=judge_options(kw),
            role="grader",
        )
    )
    table = grade_all(run_dir, organism, client, repeats=kw["repeats"], force=kw["force"])
    Console().print(agent_table(table))
    Console().print(f"grades in {root}/ (table.md, runs.jsonl)")


class AgentGroup(TyperGroup):
    """`adlens agent RUN_DIR ...` (the form before `run` and `table` existed) means `adlens
    agent run RUN_DIR ...`: a first word that is no subcommand (nor --help) gets `run` put
    before it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


agent_app = typer.Typer(
    cls=AgentGroup,
    no_args_is_help=True,
    help="The interpretability agent and the black-box baseline: `adlens agent run RUN_DIR` "
    "(or `adlens agent RUN_DIR`) runs and grades them; `adlens agent table RUNS...` pools the "
    "grades of many runs.",
)
agent_app.command("run")(agent_command)
agent_app.command("table")(table_command)
