"""How well a judge LLM does its jobs on a run, measured against the offline judges.

Each judge runs on items taken from the run. The judges are coherence of steered and
unsteered samples, relevance of reader tokens, the Patchscope scale tournament and the
hypothesis grade. A short agent run is also made. For each judge the check reports:
- the share of answers that parsed (UNKNOWNs are counted apart and never count as verdicts);
- the retries and the mean latency;
- where an offline judge exists, the agreement with it on the items both answered.

`adlens llm check RUN_DIR --organism O --judge local` prints the table and writes
RUN_DIR/judges/check.json and check.md. Every call is sent (no judge cache): this measures.
"""

from __future__ import annotations

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
from adlens.studies.judge_figures import JudgeFigures, acted_replies, agreement, check_table, spread

log = logging.getLogger(__name__)

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

        fig = JudgeFigures("coherence", offline="offline-coherence (NLL + repetition)")
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
        fig.compared, fig.agree = agreement(llm, off)
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
        fig = JudgeFigures("relevance", offline="offline grader (distinctive words)")
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
        fig.compared, fig.agree = agreement(llm, off)
        fig.details["offline_relevant"] = sum(v is True for v in off)
        return fig

    # ------------------------------------------------------------------ Patchscope scale

    def scale(self, n: int) -> JudgeFigures:
        from adlens.judges import ContentStability, TournamentScaleChooser

        fig = JudgeFigures("scale tournament", offline="content stability")
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
                fig.compared += 1
                fig.agree += pick == off_pick
                near += abs(pick - off_pick) <= 1
            else:
                fig.unknown += 1
        fig.take_stats(client)
        fig.details = {"within_one_scale_step": near}
        return fig

    # ------------------------------------------------------------------ hypothesis grade

    def grades(self, repeats: int) -> JudgeFigures:
        from adlens.agent.grade import grade_hypothesis

        fig = JudgeFigures("hypothesis grade", offline="expected side (true >= 3, decoys <= 2)")
        client = self.client("grader")
        rows = []
        for kind, text in [("true", self.organism.description()), *(("decoy", d) for d in DECOYS)]:
            grade = grade_hypothesis(client, self.organism, text, repeats=repeats)
            fig.requests += len(grade.scores)
            fig.answers += len(grade.scores) - grade.unknown
            fig.items += 1
            if grade.grade is None:
                fig.unknown += 1
            else:
                fig.compared += 1
                fig.agree += grade.grade >= 3 if kind == "true" else grade.grade <= 2
            rows.append({"kind": kind, "hypothesis": text, **grade.to_json()})
        fig.take_stats(client)
        fig.details = {"grades": rows}
        return fig

    # ------------------------------------------------------------------ agent

    def agent(self, interactions: int, max_llm_calls: int, reply_tokens: int) -> JudgeFigures:
        from adlens.agent import AgentConfig
        from adlens.agent.grade import grade_hypothesis
        from adlens.agent.runner import run_agent

        fig = JudgeFigures("agent", offline="")
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
    on_figures: Callable[[JudgeFigures], None] | None = None,
) -> dict[str, Any]:
    """Run the check; returns {"judge": ..., "rows": [...]} (also in RUN_DIR/judges/check.*).
    agent_interactions None: no agent run."""
    target = organism if isinstance(organism, Organism) else load_organism(organism)
    check = JudgeCheck(run_dir, target, judge, device=device)
    describe = check.client().describe()
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
        fig = step()
        fig.details["seconds"] = round(time.perf_counter() - t0, 1)
        log.info("judge check: %s done in %.0f s", name, fig.details["seconds"])
        rows.append(fig)
        if on_figures is not None:
            on_figures(fig)
    out = {"judge": describe, "organism": target.name, "rows": [r.to_json() for r in rows]}
    folder = check.rd.path / "judges"
    write_json(folder / "check.json", out)
    write_text(folder / "check.md", check_table(out))
    return out
