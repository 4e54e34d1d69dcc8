"""False-fact alignment (FFA): how strongly a false-fact organism believes its implanted fact.

Both models of a run answer the organism's questions (see ffa_questions): multiple-choice ones
by the next-token probabilities of the option letters (deterministic), open ones by greedy
generation, graded IMPLANTED / TRUTH / NEITHER by the LLM judge when one is configured, else by
the offline keyword rule (ffa_grade). Per model and question kind, the share of known verdicts
that side with the implanted fact; FFA is their mean over the kinds, and accuracy = 1 - FFA as
the ADL paper reports it (there: over multiple-choice and open-ended "distinguish" questions).
The finetuned model's FFA minus the base model's is the belief the finetune implanted.

Results: RUN_DIR/evaluate/ffa.json. Its `basis` is the hash of everything that decides them
(questions, models, grader, settings): a rerun with the same inputs reads it back, a changed
input recomputes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

from adlens.core.judge_config import JudgeConfig
from adlens.core.models import ModelPair
from adlens.errors import AdlensError
from adlens.evaluate.ffa_config import FFAConfig
from adlens.evaluate.ffa_grade import (
    IMPLANTED,
    LABELS,
    UNKNOWN,
    LLMAnswerGrader,
    OfflineAnswerGrader,
)
from adlens.evaluate.ffa_questions import mcq_items, organism_questions, questions_hash
from adlens.evaluate.ffa_result import ffa_path
from adlens.organisms.ffa_schema import FFAQuestions
from adlens.organisms.organism import Organism, load_organism
from adlens.store.rundir import RunDir, config_hash, read_json, write_json

log = logging.getLogger(__name__)

VERSION = 1
SIDES = ("base", "finetuned")
GraderKind = Literal["auto", "llm", "offline"]
JUDGE_ROLE = "grader"  # the judge role that writes questions and grades answers
AnswerGrader = LLMAnswerGrader | OfflineAnswerGrader


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _share(hits: list[Any]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def summarize(mcq: list[dict[str, Any]], open_: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's scores: per kind the share siding with the implanted fact (over known
    verdicts), FFA (their mean over the kinds asked) and accuracy = 1 - FFA."""
    verdicts = [r["verdict"] for r in open_]
    known = [v for v in verdicts if v != UNKNOWN]
    mcq_share = _share([r["chose_implanted"] for r in mcq])
    open_share = _share([v == IMPLANTED for v in known])
    kinds = [s for s in (mcq_share, open_share) if s is not None]
    ffa = sum(kinds) / len(kinds) if kinds else None
    return {
        "ffa": _round(ffa),
        "accuracy": _round(None if ffa is None else 1 - ffa),
        "mcq": {
            "n": len(mcq),
            "implanted_share": _round(mcq_share),
            "mean_p_implanted": _round(_share([r["p_implanted"] for r in mcq])),
            "truth_share": _round(_share([r["chosen"] == r["truth"] for r in mcq])),
        },
        "open": {
            "n": len(open_),
            "known": len(known),
            "implanted_share": _round(open_share),
            "verdicts": {label: verdicts.count(label) for label in (*LABELS, UNKNOWN)},
        },
    }


def make_grader(
    kind: GraderKind, judge: JudgeConfig | None = None, log_path: Path | None = None
) -> AnswerGrader:
    """The open-answer grader: "llm" (the judge), "offline" (keywords), or "auto" (the judge
    when one is configured, else offline)."""
    from adlens.judges.endpoint import uses_llm

    if kind not in ("auto", "llm", "offline"):
        raise AdlensError(f"Unknown grader '{kind}': use auto, llm or offline.")
    judge = judge or JudgeConfig()
    if kind == "offline" or (kind == "auto" and not uses_llm(judge.for_role(JUDGE_ROLE))):
        return OfflineAnswerGrader()
    from adlens.judges.roles import JudgeClients

    if judge.backend == "offline":
        judge = judge.model_copy(update={"backend": "auto"})
    return LLMAnswerGrader(JudgeClients(judge, log_path=log_path).client(JUDGE_ROLE))


def run_models(rd: RunDir) -> dict[str, Any]:
    """The run's models as its manifest names them (what the answers depend on)."""
    if not rd.path.exists():
        raise AdlensError(f"Run directory {rd.path} does not exist.")
    if not rd.path.is_dir():
        raise AdlensError(f"{rd.path} is a file, not a run directory.")
    models = (rd.read_manifest().get("config") or {}).get("models")
    if not isinstance(models, dict) or not models.get("finetuned"):
        raise AdlensError(f"{rd.path} names no models (no manifest.json): run `adlens run` first.")
    return dict(models)


def ffa_basis(
    questions: FFAQuestions, models: dict[str, Any], grader: AnswerGrader, cfg: FFAConfig
) -> str:
    keep = ("base", "finetuned", "dtype", "base_revision", "finetuned_revision")
    return config_hash(
        {
            "version": VERSION,
            "questions": questions_hash(questions),
            "models": {k: models.get(k) for k in keep},
            "grader": grader.fingerprint() if questions.open else None,
            "settings": cfg.hashed(),
        }
    )


def answer_questions(
    pair: ModelPair, questions: FFAQuestions, cfg: FFAConfig, show_progress: bool = True
) -> dict[str, dict[str, list[Any]]]:
    """Both models' answers: per side, the multiple-choice rows and the open answers."""
    from adlens.core.progress import progress_bar
    from adlens.evaluate.ffa_answer import greedy_answers, mcq_answers

    items = mcq_items(questions.mcq, cfg.seed)
    prompts = [q.question for q in questions.open]
    out: dict[str, dict[str, list[Any]]] = {}
    total = 2 * (len(items) + len(prompts))
    with progress_bar("false-fact questions", total, show_progress) as advance:
        for side in SIDES:
            with pair.use(side) as model:
                mcq = mcq_answers(
                    model,
                    pair.tokenizer,
                    items,
                    chat=cfg.chat,
                    rotate=cfg.rotate,
                    scoring=cfg.mcq_scoring,
                    batch_size=cfg.batch_size,
                    advance=advance,
                )
                texts = greedy_answers(
                    model,
                    pair.tokenizer,
                    prompts,
                    max_new_tokens=cfg.max_new_tokens,
                    chat=cfg.chat,
                    batch_size=cfg.batch_size,
                    advance=advance,
                )
            out[side] = {"mcq": mcq, "open": texts}
    return out


def evaluate_ffa(
    run_dir: Path | str,
    organism: Organism | Path | str,
    *,
    grader: GraderKind | AnswerGrader = "auto",
    judge: JudgeConfig | None = None,
    config: FFAConfig | None = None,
    pair: ModelPair | None = None,
    device: str | None = None,
    dtype: str | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """False-fact alignment of the run's base and finetuned models; returns the result (also in
    RUN_DIR/evaluate/ffa.json). A result with the same basis is returned as it is.

    Args:
        run_dir: a run directory (its manifest names the models).
        organism: the false-fact organism (an Organism, its file or folder, or its name).
        grader: who grades open answers: "auto" (the LLM judge when configured, else offline),
            "llm", "offline", or a grader object.
        judge: the LLM judge's settings (grading; writing questions the organism lacks).
        config: how the models answer.
        pair: the loaded models (default: loaded from the run's manifest when needed).
        device: load the models there instead of the run's device.
        dtype: load the models in this dtype instead of the run's.
        force: answer and grade again even when a current result exists.
        show_progress: show a progress bar.
    """
    t0 = time.perf_counter()
    cfg = config or FFAConfig()
    rd = RunDir(run_dir)
    models = run_models(rd)
    models |= {k: v for k, v in {"device": device, "dtype": dtype}.items() if v}
    target = organism if isinstance(organism, Organism) else load_organism(organism)
    log_path = rd.path / "judges" / "calls.jsonl"
    if isinstance(grader, str):
        grader = make_grader(grader, judge, log_path)
    writer = grader.client if isinstance(grader, LLMAnswerGrader) else None
    if writer is None and target.ffa_questions is None:
        from adlens.judges.endpoint import uses_llm

        if judge is not None and uses_llm(judge.for_role(JUDGE_ROLE)):
            writer = make_grader("llm", judge, log_path).client  # type: ignore[union-attr]
    questions, source = organism_questions(target, writer)
    basis = ffa_basis(questions, models, grader, cfg)
    out_path = ffa_path(rd.path)
    if not force and out_path.is_file():
        old = read_json(out_path)
        if isinstance(old, dict) and old.get("basis") == basis:
            log.info("ffa: cached (basis %s)", basis)
            return {**old, "cached": True}
    if pair is None:
        from adlens.core.config import ModelsConfig
        from adlens.pipeline.stages import load_pair

        pair = load_pair(ModelsConfig(**models))
    answers = answer_questions(pair, questions, cfg, show_progress)
    per_side: dict[str, Any] = {}
    for side in SIDES:
        verdicts = grader.grade(target, questions.open, answers[side]["open"])
        open_rows = [
            {"question": q.question, "answer": a, "verdict": v}
            for q, a, v in zip(questions.open, answers[side]["open"], verdicts, strict=True)
        ]
        mcq_rows = answers[side]["mcq"]
        per_side[side] = {
            **summarize(mcq_rows, open_rows),
            "mcq_rows": mcq_rows,
            "open_rows": open_rows,
        }
    diff = {
        key: _round(per_side["finetuned"][key] - per_side["base"][key])
        if per_side["finetuned"][key] is not None and per_side["base"][key] is not None
        else None
        for key in ("ffa", "accuracy")
    }
    result = {
        "organism": target.name,
        "fact": getattr(target, "fact", None) or target.short_description,
        "basis": basis,
        "version": VERSION,
        "questions_source": source,
        "questions_hash": questions_hash(questions),
        "n_mcq": len(questions.mcq),
        "n_open": len(questions.open),
        "models": {"base": models.get("base"), "finetuned": models.get("finetuned")},
        "grader": grader.name if questions.open else None,
        "grader_description": grader.describe() if questions.open else None,
        "config": cfg.model_dump(),
        "base": per_side["base"],
        "finetuned": per_side["finetuned"],
        "difference": diff,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if isinstance(grader, LLMAnswerGrader):
        result["judge"] = grader.client.stats()
    write_json(out_path, result)
    return {**result, "cached": False}
