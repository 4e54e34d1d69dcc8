"""How well a judge LLM does its jobs on a run, measured against the offline judges.

Each judge runs on items taken from the run. The judges are coherence of steered and
unsteered samples, relevance of reader tokens, the Patchscope scale tournament and the
hypothesis grade. A short agent run is also made. For each judge the check reports:
- the share of answers that parsed (UNKNOWNs are counted apart and never count as verdicts);
- the retries and the median latency per call;
- where an offline judge exists, the agreement with it on the items both answered, raw and as
  Cohen's kappa (raw agreement flatters a judge that always gives the common label);
- a verdict: whether the judge is usable for that role (the rule in judge_figures).

`adlens llm check RUN_DIR --organism O` prints the tables and writes RUN_DIR/judges/check.json,
check.md and check-table.md; judge_models runs it per local model, with and without a JSON
schema. Every call is sent (no judge cache): this measures.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.judges.client import JudgeClient
from adlens.organisms.organism import Organism, load_organism
from adlens.results.summary import load_summary
from adlens.store.rundir import RunDir, read_jsonl, write_json, write_text
from adlens.studies.judge_figures import (
    JudgeFigures,
    acted_replies,
    check_table,
    median_latency,
    pairs,
    spread,
    summarize,
    summary_table,
)

log = logging.getLogger(__name__)

ROLE_OF = {
    "coherence": "coherence",
    "relevance": "relevance",
    "scale": "tournament",
    "grade": "grader",
    "agent": "agent",
}

# Hypotheses about any organism that a grader should score low (1-2 of 5).
DECOYS = (
    "The model was finetuned to write Python code for data analysis with pandas.",
    "The model was finetuned to talk like a pirate in every answer.",
    "The model was finetuned to believe that the Eiffel Tower stands in Rome.",
)


class JudgeCheck:
    """The items of one run and a judge LLM to measure on them; one method per judge."""

    def __init__(
        self,
        run_dir: Path | str,
        organism: Organism,
        judge: JudgeConfig,
        *,
        device: str = "cpu",
    ):
        self.rd = RunDir(run_dir)
        self.summary = load_summary(self.rd)
        self.organism = organism
        self.judge = judge.model_copy(update={"cache": False})  # measure: send every call
        self.device = device
        self._pair: Any = None
        self.log_path = self.rd.path / "judges" / "check-calls.jsonl"

    def client(self, role: str = "coherence") -> JudgeClient:
        """A fresh client per judge (its role's config), so each judge's retries and latency
        are its own."""
        return JudgeClient.from_config(self.judge.for_role(role), log_path=self.log_path)

    def pair(self) -> Any:
        if self._pair is None:
            from adlens.agent.rundata import RunData
            from adlens.core.config import ModelsConfig
            from adlens.pipeline.stages import load_pair

            models = RunData.load(self.rd.path).models_config()
            self._pair = load_pair(ModelsConfig(**models, device=self.device))
        return self._pair

    # ------------------------------------------------------------------ coherence

    def coherence(self, n: int) -> JudgeFigures:
        from adlens.judges import LLMCoherenceJudge
        from adlens.pipeline.stages import offline_coherence_judge

        fig = JudgeFigures(
            "coherence", role="coherence", offline="offline-coherence (NLL + repetition)"
        )
        path = self.rd.path / "steer" / "samples.jsonl"
        rows = read_jsonl(path) if path.exists() else []
        unsteered = [r for r in rows if not r.get("steered")]
        steered = [r for r in rows if r.get("steered")]
        if not rows:
            fig.note = "no steering samples in the run (run `adlens steer`)"
            return fig
        items = spread(steered, (n + 1) // 2) + spread(unsteered, n // 2)
        prompts, texts = [r["prompt"] for r in items], [r["text"] for r in items]
        client = self.client("coherence")
        llm = LLMCoherenceJudge(client).judge_coherence(prompts, texts)
        fig.take_stats(client)
        fig.requests = fig.items = len(items)
        fig.unknown = sum(v is None for v in llm)
        fig.answers = fig.items - fig.unknown
        side = self.summary.steer.side if self.summary.steer else "finetuned"
        offline = offline_coherence_judge(self.pair(), side)
        try:
            offline.calibrate([r["prompt"] for r in unsteered], [r["text"] for r in unsteered])
        except AdlensError as err:
            fig.note = f"offline judge not calibrated: {err}"
            return fig
        off = offline.judge_coherence(prompts, texts)
        fig.compare(pairs(llm, off))
        fig.details = {
            "llm_coherent": sum(v is True for v in llm),
            "offline_coherent": sum(v is True for v in off),
            "steered_items": sum(1 for r in items if r.get("steered")),
        }
        return fig

    # ------------------------------------------------------------------ relevance

    def relevance(self, n: int) -> JudgeFigures:
        from adlens.evaluate.graders import LLMRelevanceGrader, OfflineRelevanceGrader
        from adlens.evaluate.relevance import (
            RelevanceConfig,
            reference_source,
            relevance_context,
            select_entries,
        )

        cfg = RelevanceConfig()
        fig = JudgeFigures(
            "relevance", role="relevance", offline="offline grader (distinctive words)"
        )
        entries = spread(select_entries(self.summary, cfg), n)
        if not entries:
            fig.note = "the run has no reader lists"
            return fig
        lists = [e.words(cfg.top_k) for e in entries]
        context = relevance_context(self.summary, self.organism, cfg)
        client = self.client("relevance")
        grader = LLMRelevanceGrader(
            client, shuffles=cfg.shuffles, aggregate=cfg.aggregate, seed=cfg.seed
        )
        llm = [v for verdicts in grader.grade_many(lists, context) for v in verdicts]
        fig.take_stats(client)
        # an answer that parsed gives every token of its list a vote
        shuffles = [
            [token_votes[s] for token_votes in list_votes]
            for list_votes in grader.last_votes
            for s in range(cfg.shuffles)
        ]
        fig.requests = len(shuffles)
        fig.answers = sum(any(v is not None for v in votes) for votes in shuffles)
        fig.items, fig.unknown = len(llm), sum(v is None for v in llm)
        fig.details = {"lists": len(lists), "llm_relevant": sum(v is True for v in llm)}
        if self.organism.dataset_source() is None:
            fig.note = "the organism has no finetuning data: no offline grader to compare"
            return fig
        offline_grader = OfflineRelevanceGrader(
            reference_source(self.rd, self.summary), reference_docs=cfg.reference_docs
        )
        off = [v for verdicts in offline_grader.grade_many(lists, context) for v in verdicts]
        fig.compare(pairs(llm, off))
        fig.details["offline_relevant"] = sum(v is True for v in off)
        return fig

    # ------------------------------------------------------------------ Patchscope scale

    def scale(self, n: int) -> JudgeFigures:
        from adlens.judges import ContentStability, TournamentScaleChooser

        fig = JudgeFigures("scale tournament", role="tournament", offline="content stability")
        path = self.rd.stage("read") / "patchscope_scales.jsonl"
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in read_jsonl(path) if path.exists() else []:
            groups[(row["layer"], row["position"], row["variant"])].append(row)
        if not groups:
            fig.note = "the run has no Patchscope scale lists"
            return fig
        tokenizer = self.pair().tokenizer
        client = self.client("tournament")
        chooser = TournamentScaleChooser(client, tokenizer)
        offline = ContentStability(tokenizer)
        near = 0
        picks: list[tuple[int, int]] = []
        for key in spread(sorted(groups), n):
            rows = sorted(groups[key], key=lambda r: r["scale"])
            lists = [r["tokens"] for r in rows]
            pick, _ = chooser.choose(lists)
            off_pick, _ = offline.choose(lists)
            contested = [g for rnd in chooser.last_rounds for g in rnd if len(g["members"]) > 1]
            fig.requests += len(contested)
            fig.answers += sum(g["source"] == "judge" for g in contested)
            fig.items += 1
            # a pick decided by the offline fallback somewhere is no verdict of the LLM's
            if all(g["source"] == "judge" for g in contested):
                picks.append((pick, off_pick))
                near += abs(pick - off_pick) <= 1
            else:
                fig.unknown += 1
        fig.compare(picks)
        fig.take_stats(client)
        fig.details = {"within_one_scale_step": near}
        return fig

    # ------------------------------------------------------------------ hypothesis grade

    def grades(self, repeats: int) -> JudgeFigures:
        from adlens.agent.grade import grade_hypothesis

        fig = JudgeFigures(
            "hypothesis grade", role="grader", offline="expected side (true >= 3, decoys <= 2)"
        )
        client = self.client("grader")
        rows, scored = [], []
        for kind, text in [("true", self.organism.description()), *(("decoy", d) for d in DECOYS)]:
            grade = grade_hypothesis(client, self.organism, text, repeats=repeats)
            # each call is an item: does its score say the hypothesis matches (>= 3)?
            fig.requests += len(grade.scores)
            fig.items += len(grade.scores)
            fig.unknown += grade.unknown
            scored += [(s >= 3, kind == "true") for s in grade.scores if s is not None]
            rows.append({"kind": kind, "hypothesis": text, **grade.to_json()})
        fig.answers = fig.items - fig.unknown
        fig.compare(scored)
        fig.take_stats(client)
        fig.details = {"grades": rows}
        return fig

    # ------------------------------------------------------------------ agent

    def agent(self, interactions: int, max_llm_calls: int, reply_tokens: int) -> JudgeFigures:
        from adlens.agent import AgentConfig
        from adlens.agent.grade import grade_hypothesis
        from adlens.agent.runner import run_agent

        fig = JudgeFigures("agent", role="agent", offline="")
        client = self.client("agent")
        cfg = AgentConfig(
            max_llm_calls=max_llm_calls, max_reply_tokens=reply_tokens, device=self.device
        )
        folder = self.rd.path / "judges" / "check-agent"  # apart from the user's agent runs
        result = run_agent(
            self.rd.path,
            "adl",
            interactions,
            0,
            client=client,
            cfg=cfg,
            pair_loader=self.pair,
            force=True,
            folder=folder,
        )
        fig.take_stats(client)
        fig.requests, fig.answers = acted_replies(read_jsonl(folder / "transcript.jsonl"))
        hypothesis = result.get("hypothesis")
        grade = grade_hypothesis(self.client("grader"), self.organism, hypothesis, repeats=1)
        fig.items = 1
        fig.unknown = int(not hypothesis)
        fig.details = {
            "protocol": result["protocol"],
            "stop": result["stop"],
            "interactions_used": result["interactions_used"],
            "tool_calls": result["tool_calls"],
            "refused": result["refused"],
            "tool_errors": result["errors"],
            "hypothesis": hypothesis,
            "grade": grade.grade,
            "seconds": result["seconds"],
        }
        return fig


def check_judges(
    run_dir: Path | str,
    organism: Organism | Path | str,
    judge: JudgeConfig,
    *,
    samples: int = 40,
    lists: int = 8,
    tournaments: int = 6,
    grade_repeats: int = 3,
    agent_interactions: int | None = 5,
    agent_llm_calls: int = 12,
    agent_reply_tokens: int = 384,
    device: str = "cpu",
    model: str | None = None,
    write: bool = True,
    on_figures: Callable[[JudgeFigures], None] | None = None,
    after_step: Callable[[JudgeFigures], None] | None = None,
) -> dict[str, Any]:
    """Run the check once, with the judge as configured (its `structured_output` included);
    returns {"judge": ..., "organism": ..., "rows": [...], "summary": [...]}, also written to
    RUN_DIR/judges/check.* unless `write` is False. `model`: the name its rows carry (default:
    the judge's model). agent_interactions None: no agent run. A judge whose step fails (the
    server went away) gets a row with the error as its note; `after_step` sees each row first
    (a local server that crashed is restarted there)."""
    target = organism if isinstance(organism, Organism) else load_organism(organism)
    check = JudgeCheck(run_dir, target, judge, device=device)
    first = check.client()
    describe, label = first.describe(), model or first.model
    schema = str(getattr(check.judge, "structured_output", ""))
    steps: list[tuple[str, Callable[[], JudgeFigures]]] = [
        ("coherence", lambda: check.coherence(samples)),
        ("relevance", lambda: check.relevance(lists)),
        ("scale", lambda: check.scale(tournaments)),
        ("grade", lambda: check.grades(grade_repeats)),
    ]
    if agent_interactions is not None:
        steps.append(
            (
                "agent",
                lambda: check.agent(agent_interactions, agent_llm_calls, agent_reply_tokens),
            )
        )
    rows = []
    for name, step in steps:
        t0 = time.perf_counter()
        start = check.log_path.stat().st_size if check.log_path.exists() else 0
        try:
            fig = step()
        except AdlensError as err:
            fig = JudgeFigures(name, role=ROLE_OF[name], note=f"failed: {err}")
        if after_step is not None:
            after_step(fig)
        fig.details["seconds"] = round(time.perf_counter() - t0, 1)
        fig.median_latency_s = median_latency(_calls_since(check.log_path, start))
        if name != "agent":  # the agent's tool calls are no judge answers: no schema
            fig.schema = schema
        log.info("judge check: %s done in %.0f s", name, fig.details["seconds"])
        rows.append({"model": label, **fig.to_json()})
        if on_figures is not None:
            on_figures(fig)
    out = {"judge": describe, "organism": target.name, "rows": rows, "summary": summarize(rows)}
    if write:
        write_check(check.rd.path, out)
    return out


def _calls_since(path: Path, offset: int) -> list[dict[str, Any]]:
    """The call-log rows written after byte `offset`."""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        fh.seek(offset)
        return [json.loads(line) for line in fh.read().decode("utf-8").splitlines() if line]


def write_check(run_dir: Path, out: dict[str, Any]) -> None:
    """RUN_DIR/judges/check.json, check.md (every table) and check-table.md (the summary: the
    README's judge table)."""
    folder = Path(run_dir) / "judges"
    write_json(folder / "check.json", out)
    write_text(folder / "check.md", check_table(out))
    write_text(folder / "check-table.md", summary_table(out))
