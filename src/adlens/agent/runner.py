"""Agent runs over budgets and repeats, their grades and the summary table.

Layout in RUN_DIR/agent/:

    <agent>-i<budget>-r<repeat>/   transcript.jsonl, result.json, grade.json
    runs.jsonl                     one row per run with its grade
    table.jsonl / .csv / .md       per agent and budget: runs, mean grade, share >= 2 and >= 4
    calls.jsonl, grader_calls.jsonl  every LLM request (no key)

A run is reused when its result.json has the same config hash (agent, budget, repeat, config,
LLM, overview); a grade when its grade.json has the same hypothesis and grader fingerprint. So a
rerun costs nothing and a crashed session resumes; the LLM's disk cache also replays the calls
of a run that was cut off.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adlens.agent.config import AGENT_KINDS, KEYWORD_GRADE_FILE, AgentConfig
from adlens.agent.grade import grade_hypothesis, grader_fingerprint
from adlens.agent.keyword_grade import keyword_fingerprint, keyword_grade
from adlens.agent.loop import AgentRun
from adlens.agent.rundata import RunData
from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.judges.client import JudgeClient
from adlens.judges.endpoint import ENV_BASE_URL, ENV_MODEL, env_model
from adlens.organisms.organism import Organism
from adlens.store.rundir import config_hash, read_json, write_json, write_jsonl, write_text

log = logging.getLogger(__name__)

AGENT_DIR = "agent"
RESULT_VERSION = 1
NO_LLM = (
    f"The agent and its grader need an LLM (there is no offline agent): set {ENV_MODEL} (and "
    f"{ENV_BASE_URL} for a server other than OpenAI's, e.g. OpenRouter, vLLM or llama.cpp), "
    "or pass --model."
)


def make_client(
    model: str | None = None,
    base_url: str | None = None,
    *,
    log_path: Path | None = None,
    judge: JudgeConfig | None = None,
    role: str = "agent",
    fallback_model: str | None = None,
) -> JudgeClient:
    """The OpenAI-compatible client of a judge role, "agent" or "grader": `model` and
    `base_url` (the command's options) over the role's config (`JudgeConfig.for_role`);
    `fallback_model` when the role has no model of its own (the grader: the agent's). One
    clear AdlensError when no model is configured."""
    from adlens.judges.roles import JudgeClients

    judge = judge or JudgeConfig()
    model = model or judge.own(role).model or fallback_model
    cfg = judge.for_role(role)
    if not (model or cfg.model or env_model() or cfg.backend == "local"):
        raise AdlensError(NO_LLM)
    return JudgeClients(judge, log_path=log_path).client(role, model=model, base_url=base_url)


def run_name(kind: str, budget: int, repeat: int) -> str:
    return f"{kind}-i{budget}-r{repeat}"


def memoized(loader: Callable[[], Any]) -> Callable[[], Any]:
    """Load once, on first call (the models are loaded only if a tool needs them)."""
    box: list[Any] = []

    def load() -> Any:
        if not box:
            box.append(loader())
        return box[0]

    return load


def pair_loader_for(data: RunData, device: str = "auto") -> Callable[[], Any]:
    def load() -> Any:
        from adlens.core.config import ModelsConfig
        from adlens.pipeline.stages import load_pair

        return load_pair(ModelsConfig(**data.models_config(), device=device))

    return memoized(load)


def _llm_identity(client: JudgeClient) -> dict[str, Any]:
    """The agent LLM's model and endpoint, and its reasoning effort when one is sent (so that
    results cached without one keep their hash)."""
    out = {"model": client.model, "base_url": client.identity}
    effort = client.defaults.get("reasoning_effort")
    return {**out, "reasoning_effort": effort} if effort else out


def run_digest(run: AgentRun, client: JudgeClient) -> str:
    return config_hash(
        {
            "version": RESULT_VERSION,
            "agent": run.kind,
            "repeat": run.repeat,
            "config": run.cfg.hashed(),
            "llm": _llm_identity(client),
            "overview": hashlib.sha256(run.overview.encode()).hexdigest(),
            "system": hashlib.sha256(run.system().encode()).hexdigest(),
        }
    )


def run_agent(
    run_dir: Path,
    kind: str,
    budget: int,
    repeat: int,
    *,
    client: JudgeClient,
    cfg: AgentConfig | None = None,
    data: RunData | None = None,
    pair_loader: Callable[[], Any] | None = None,
    force: bool = False,
    folder: Path | None = None,
) -> dict[str, Any]:
    """One agent run, or its cached result. Returns result.json's content, which is written
    with the transcript to `folder` (default RUN_DIR/agent/<kind>-i<budget>-r<repeat>)."""
    data = data or RunData.load(run_dir)
    cfg = (cfg or AgentConfig()).model_copy(update={"interactions": budget})
    run = AgentRun(
        client,
        data,
        kind,
        cfg,
        repeat=repeat,
        pair_loader=pair_loader or pair_loader_for(data, cfg.device),
    )
    folder = folder or Path(run_dir) / AGENT_DIR / run_name(kind, budget, repeat)
    digest = run_digest(run, client)
    result_path = folder / "result.json"
    if not force and result_path.exists():
        cached = read_json(result_path)
        if cached.get("config_hash") == digest:
            log.info("agent %s: cached", folder.name)
            return cached
    log.info("agent %s: running", folder.name)
    try:
        result = run.run()
    finally:  # a run cut off still leaves what it did to read
        write_jsonl(folder / "transcript.jsonl", run.rows)
    out = {
        **result.to_json(),
        "config_hash": digest,
        "basis": data.summary.stages,  # the run's stages it read (see RunDir.is_current)
        "llm": {**client.settings(), "base_url": client.base_url},  # never the key
        "transcript": "transcript.jsonl",
    }
    write_json(result_path, out)
    (folder / "grade.json").unlink(missing_ok=True)  # a new hypothesis needs a new grade
    return out


def grade_run(
    folder: Path,
    organism: Organism,
    client: JudgeClient,
    *,
    repeats: int = 3,
    force: bool = False,
) -> dict[str, Any]:
    """Grade the hypothesis in folder/result.json (cached in grade.json)."""
    result = read_json(folder / "result.json")
    hypothesis = result.get("hypothesis")
    fingerprint = {
        **grader_fingerprint(organism, client, repeats),
        "hypothesis_sha256": hashlib.sha256((hypothesis or "").encode()).hexdigest(),
    }
    path = folder / "grade.json"
    if not force and path.exists():
        cached = read_json(path)
        if cached.get("fingerprint") == fingerprint:
            return cached
    grade = grade_hypothesis(client, organism, hypothesis, repeats=repeats)
    out = {**grade.to_json(), "fingerprint": fingerprint}
    write_json(path, out)
    return out


def grade_keywords(folder: Path, organism: Organism) -> dict[str, Any]:
    """The keyword rule's grade of folder/result.json's hypothesis, written to
    KEYWORD_GRADE_FILE (no LLM, so it is simply made again)."""
    hypothesis = read_json(folder / "result.json").get("hypothesis")
    fingerprint = {
        **keyword_fingerprint(organism),
        "hypothesis_sha256": hashlib.sha256((hypothesis or "").encode()).hexdigest(),
    }
    out = {**keyword_grade(organism, hypothesis).to_json(), "fingerprint": fingerprint}
    write_json(folder / KEYWORD_GRADE_FILE, out)
    return out


def run_folders(run_dir: Path) -> list[Path]:
    root = Path(run_dir) / AGENT_DIR
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if (p / "result.json").exists())


def run_rows(run_dir: Path) -> list[dict[str, Any]]:
    """One row per saved run: agent, budget, repeat, hypothesis, grade (None if ungraded)."""
    rows = []
    for folder in run_folders(run_dir):
        r = read_json(folder / "result.json")
        g = read_json(folder / "grade.json") if (folder / "grade.json").exists() else {}
        kw_path = folder / KEYWORD_GRADE_FILE
        kw = read_json(kw_path) if kw_path.exists() else {}
        rows.append(
            {
                "run": folder.name,
                "agent": r["agent"],
                "budget": r["budget"],
                "repeat": r["repeat"],
                "grade": g.get("grade"),
                "scores": g.get("scores"),
                "keyword_grade": kw.get("grade"),
                "stop": r["stop"],
                "interactions_used": r["interactions_used"],
                "llm_calls": r["llm_calls"],
                "tokens": r["prompt_tokens"] + r["completion_tokens"],
                "hypothesis": r["hypothesis"],
            }
        )
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per agent and budget: runs, graded runs, mean grade, share of graded runs with grade
    >= 2 and >= 4 (the reference study's measures), mean interactions and tokens."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["agent"], r["budget"]), []).append(r)
    out = []
    order = {k: i for i, k in enumerate(AGENT_KINDS)}
    for (agent, budget), rs in sorted(
        groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])
    ):
        grades = [r["grade"] for r in rs if r["grade"] is not None]
        n = len(grades)
        kw = [r["keyword_grade"] for r in rs if r.get("keyword_grade") is not None]
        out.append(
            {
                "agent": agent,
                "budget": budget,
                "runs": len(rs),
                "graded": n,
                "mean_grade": round(sum(grades) / n, 3) if n else None,
                "share_ge2": round(sum(g >= 2 for g in grades) / n, 3) if n else None,
                "share_ge4": round(sum(g >= 4 for g in grades) / n, 3) if n else None,
                "keyword_mean": round(sum(kw) / len(kw), 3) if kw else None,
                "keyword_ge2": round(sum(g >= 2 for g in kw) / len(kw), 3) if kw else None,
                "keyword_ge4": round(sum(g >= 4 for g in kw) / len(kw), 3) if kw else None,
                "mean_interactions": round(sum(r["interactions_used"] for r in rs) / len(rs), 2),
                "mean_tokens": round(sum(r["tokens"] for r in rs) / len(rs)),
            }
        )
    return out


TABLE_COLUMNS = (
    "agent",
    "budget",
    "runs",
    "graded",
    "mean_grade",
    "share_ge2",
    "share_ge4",
    "keyword_mean",
    "keyword_ge2",
    "keyword_ge4",
    "mean_interactions",
    "mean_tokens",
)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)


def table_markdown(table: Sequence[dict[str, Any]]) -> str:
    head = "| " + " | ".join(TABLE_COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|"
    body = ["| " + " | ".join(_cell(r[c]) for c in TABLE_COLUMNS) + " |" for r in table]
    return "\n".join([head, rule, *body]) + "\n"


def write_tables(run_dir: Path) -> list[dict[str, Any]]:
    """runs.jsonl and table.jsonl/.csv/.md in RUN_DIR/agent from every saved run."""
    root = Path(run_dir) / AGENT_DIR
    rows = run_rows(run_dir)
    table = summarise(rows)
    write_jsonl(root / "runs.jsonl", rows)
    write_jsonl(root / "table.jsonl", table)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(TABLE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    write_text(root / "table.csv", buf.getvalue())
    write_text(root / "table.md", table_markdown(table))
    return table


def run_agents(
    run_dir: Path,
    *,
    budgets: Sequence[int] = (0, 5),
    black_box_budgets: Sequence[int] = (0, 5),
    repeats: int = 1,
    organism: Organism | None = None,
    client: JudgeClient,
    grader: JudgeClient | None = None,
    cfg: AgentConfig | None = None,
    grader_repeats: int = 3,
    pair_loader: Callable[[], Any] | None = None,
    force: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the ADL agent at `budgets` and the black-box baseline at `black_box_budgets`,
    `repeats` times each; grade each against `organism` when given; write the tables.
    Returns the table rows (per agent and budget)."""
    run_dir = Path(run_dir)
    data = RunData.load(run_dir)
    cfg = cfg or AgentConfig()
    loader = pair_loader or pair_loader_for(data, cfg.device)  # shared: loaded at most once
    plan = [("adl", b) for b in budgets] + [("blackbox", b) for b in black_box_budgets]
    for kind, budget in plan:
        for repeat in range(repeats):
            result = run_agent(
                run_dir,
                kind,
                budget,
                repeat,
                client=client,
                cfg=cfg,
                data=data,
                pair_loader=loader,
                force=force,
            )
            folder = run_dir / AGENT_DIR / run_name(kind, budget, repeat)
            if organism is not None:
                grade = grade_run(folder, organism, grader or client, repeats=grader_repeats)
                keywords = grade_keywords(folder, organism)
                result = {**result, "grade": grade["grade"], "keyword_grade": keywords["grade"]}
            if on_result is not None:
                on_result(result)
    return write_tables(run_dir)


def grade_all(
    run_dir: Path,
    organism: Organism,
    client: JudgeClient | None,
    *,
    repeats: int = 3,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Grade every saved agent run in RUN_DIR/agent with the keyword rule and, given a
    `client`, the LLM grader; rewrite the tables."""
    folders = run_folders(run_dir)
    if not folders:
        raise AdlensError(
            f"No agent results in {Path(run_dir) / AGENT_DIR}: run `adlens agent {run_dir}` first."
        )
    for folder in folders:
        grade_keywords(folder, organism)
        if client is not None:
            grade_run(folder, organism, client, repeats=repeats, force=force)
    return write_tables(run_dir)
