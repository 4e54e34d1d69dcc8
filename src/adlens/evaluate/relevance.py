"""Token relevance of a run's readers (PROTOCOL §4).

For the readings in RUN_DIR/summary.json of the chosen readers (default: every registered one;
a reader with heads through one head, the finetuned one by default), at every read position (or
pooled over all), for the difference and the base-mean and ft-mean baselines, the top-k tokens
are graded relevant or not to the organism (see graders.py). Per entry: the fraction of the list
that is relevant (an UNKNOWN verdict is not relevant; the fraction over known verdicts and the
unknown count beside it), the probability-weighted fraction, the "trivial" fraction (relevant
tokens that are simply among the 100 most frequent content tokens of the finetuning data), and
how many tokens stayed UNKNOWN (never counted as irrelevant). Per reader, variant and layer:
the best position. Optional controls grade the same tokens against other organisms.

Results: RUN_DIR/evaluate/relevance.jsonl (one row per graded list) and relevance.json (the
overview), written atomically; the stage is cached by the hash of everything that decides the
verdicts, so a rerun reads them back without grading anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from adlens.core.config import JudgeConfig
from adlens.core.data import TextSource
from adlens.errors import AdlensError
from adlens.evaluate.frequent import FrequentTokens, frequent_tokens, tokenizer_name
from adlens.evaluate.graders import (
    LLMRelevanceGrader,
    OfflineRelevanceGrader,
    RelevanceContext,
    RelevanceGrader,
)
from adlens.evaluate.relevance_config import RelevanceConfig
from adlens.evaluate.relevance_scores import _rows, best_positions
from adlens.organisms.organism import Organism, load_organism
from adlens.results.readings import ALL, Reading
from adlens.results.summary import Summary, load_summary
from adlens.store.rundir import RunDir, config_hash, read_json, write_json, write_jsonl

log = logging.getLogger(__name__)

STAGE = "evaluate/relevance"  # done-marker and frequent tokens; results beside it
VERSION = 2  # 2: the headline fraction is over all tokens; reference baselines
GraderKind = Literal["auto", "offline", "llm"]


# --------------------------------------------------------------------------- pieces


def select_entries(summary: Summary, cfg: RelevanceConfig) -> list[Reading]:
    """The readings to grade: chosen readers and variants, positions >= 0 (or pooled over
    all), readers with heads through `cfg.head` only."""
    return [
        e
        for e in summary.readers
        if e.reader in cfg.readers
        and e.variant in cfg.variants
        and (e.position >= 0 or e.position == ALL)
        and e.matches(head=cfg.head)
    ]


def reference_source(rd: RunDir, summary: Summary) -> TextSource:
    """The run's own reference text (manifest), else the dataset named in the summary."""
    dataset = rd.read_manifest().get("dataset")
    if isinstance(dataset, dict):
        try:
            return TextSource(**dataset)
        except ValueError:
            pass
    name = summary.dataset
    if not name:
        raise AdlensError(
            f"{rd.path} does not say which reference corpus it read; pass --reference."
        )
    return TextSource(name=name)


def grader_kind(kind: GraderKind, judge: JudgeConfig | None = None) -> str:
    """The grader "auto" stands for: the LLM judge when one is configured for the relevance
    role (its own model, judge.model or $ADLENS_JUDGE_MODEL, and judge.backend is not
    "offline"), else the offline grader."""
    from adlens.judges.endpoint import uses_llm

    if kind != "auto":
        return kind
    return "llm" if uses_llm((judge or JudgeConfig()).for_role("relevance")) else "offline"


def make_grader(
    kind: GraderKind,
    *,
    cfg: RelevanceConfig,
    judge: JudgeConfig | None = None,
    reference: TextSource | None = None,
    log_path: Path | None = None,
) -> RelevanceGrader:
    """A relevance grader of the given kind ("auto": see `grader_kind`)."""
    from adlens.judges.endpoint import env_model

    judge = judge or JudgeConfig()
    if grader_kind(kind, judge) == "llm":
        from adlens.judges.endpoint import ENV_BASE_URL, ENV_MODEL
        from adlens.judges.roles import JudgeClients

        role = judge.for_role("relevance")
        if not (role.model or env_model() or judge.backend == "local"):
            raise AdlensError(
                f"The LLM relevance grader needs a judge model: set {ENV_MODEL} (and "
                f"{ENV_BASE_URL} for a server other than OpenAI's) or pass --judge-model."
            )
        client = JudgeClients(judge, log_path=log_path).client("relevance")
        return LLMRelevanceGrader(
            client, shuffles=cfg.shuffles, aggregate=cfg.aggregate, seed=cfg.seed
        )
    if reference is None:
        raise AdlensError("The offline relevance grader needs a reference corpus.")
    return OfflineRelevanceGrader(reference, reference_docs=cfg.reference_docs)


def _organism_identity(organism: Organism) -> dict[str, Any]:
    return {
        "name": organism.name,
        "type": organism.type.value,
        "description": organism.description(),
        "data": organism.data_fingerprint(),
    }


def _entries_digest(entries: Sequence[Reading], top_k: int) -> str:
    return config_hash(
        [
            [e.reader, e.head, e.layer, e.position, e.variant]
            + [[t.token, t.prob] for t in e.tokens[:top_k]]
            for e in entries
        ]
    )


def _tokenizer_id(summary: Summary, organism: Organism) -> str | None:
    """The tokenizer to count frequent tokens with: the run's base model when it is a local
    folder, else the organism's base model."""
    base = summary.models.base
    if base and Path(base).exists():
        return str(base)
    return organism.base_model_id() or base


def _load_tokenizer(name: str | None) -> Any | None:
    if not name:
        return None
    from adlens.core.model_loading import load_tokenizer
    from adlens.store.model_assets import resolve_model

    try:
        return load_tokenizer(resolve_model(name))
    except AdlensError as err:
        log.warning(
            "frequent tokens: cannot load the tokenizer of %s (%s); counting words", name, err
        )
        return None


def _frequent(
    context: RelevanceContext, tokenizer: Any | None, cfg: RelevanceConfig
) -> FrequentTokens | None:
    if context.organism.dataset_source() is None:
        return None
    return frequent_tokens(
        context.texts(), tokenizer, top_n=cfg.frequent_top, min_count=cfg.frequent_min_count
    )


def relevance_context(
    summary: Summary, organism: Organism, cfg: RelevanceConfig
) -> RelevanceContext:
    """The organism as a grader sees it: its description, documents and frequent tokens
    (counted with the run's tokenizer)."""
    context = RelevanceContext(organism, max_documents=cfg.max_documents)
    context.frequent = _frequent(context, _load_tokenizer(_tokenizer_id(summary, organism)), cfg)
    return context


# --------------------------------------------------------------------------- the stage


def evaluate_relevance(
    run_dir: Path | str,
    organism: Organism | Path | str,
    *,
    grader: GraderKind | RelevanceGrader = "auto",
    config: RelevanceConfig | None = None,
    controls: Sequence[Organism | Path | str] = (),
    judge: JudgeConfig | None = None,
    reference: TextSource | None = None,
    tokenizer: Any | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Grade the run's reader lists for relevance to `organism`; returns the overview (also
    in RUN_DIR/evaluate/relevance.json). A fresh cached result is returned as it is.

    Args:
        run_dir: a run directory with readings.
        organism: the finetune's description (an Organism, its file or its folder).
        grader: "auto" (an LLM judge when configured, else offline), "offline", "llm", or a
            grader object.
        config: which readers, variants and positions to grade, and how.
        controls: other organisms whose relevance is the chance level.
        judge: the LLM judge's settings (for an LLM grader).
        reference: the reference text of the offline grader (default: the run's own).
        tokenizer: the run's tokenizer (default: loaded from the run's models when needed).
        force: grade again even when a fresh result exists.

    Example:
        >>> from adlens.organisms import BUNDLED
        >>> summary = run(cfg, tmp / "run", show_progress=False)
        >>> rel = evaluate_relevance(tmp / "run", BUNDLED / "persona-owl", grader="offline",
        ...                          reference=cfg.collect.dataset)
        >>> sorted({b["reader"] for b in rel["best"]})
        ['contrastive', 'diffmine', 'logit_lens', 'patchscope', 'weights']
    """
    t0 = time.perf_counter()
    cfg = config or RelevanceConfig()
    rd = RunDir(run_dir)
    summary = load_summary(rd)
    target = organism if isinstance(organism, Organism) else load_organism(organism)
    others = [c if isinstance(c, Organism) else load_organism(c) for c in controls]
    entries = select_entries(summary, cfg)
    if not entries:
        raise AdlensError(
            f"{rd.path}/summary.json has no {'/'.join(cfg.readers)} entries to grade; run "
            "`adlens run` (with reading) first."
        )
    log_path = rd.path / "judges" / "calls.jsonl"
    if isinstance(grader, str):
        if grader not in ("auto", "offline", "llm"):
            raise AdlensError(f"Unknown grader '{grader}': use auto, offline or llm.")
        offline = grader_kind(grader, judge) == "offline"
        ref = reference or (reference_source(rd, summary) if offline else None)
        grader = make_grader(grader, cfg=cfg, judge=judge, reference=ref, log_path=log_path)
    if isinstance(grader, OfflineRelevanceGrader) and target.dataset_source() is None:
        raise AdlensError(
            f"The offline grader needs the finetuning data of '{target.name}': add `dataset:` "
            "to its organism file, or use an LLM judge (--grader llm)."
        )
    tok_id = tokenizer_name(tokenizer) if tokenizer is not None else _tokenizer_id(summary, target)
    digest = config_hash(
        {
            "version": VERSION,
            "entries": _entries_digest(entries, cfg.top_k),
            "organism": _organism_identity(target),
            "controls": [_organism_identity(c) for c in others],
            "grader": grader.fingerprint(),
            "config": cfg.model_dump(),
            "tokenizer": tok_id,
        }
    )
    out_json = rd.path / "evaluate" / "relevance.json"
    if not force and rd.stage_is_fresh(STAGE, digest) and out_json.exists():
        log.info("relevance: cached (config %s)", digest)
        return {**read_json(out_json), "cached": True}

    (rd.stage(STAGE) / "done.json").unlink(missing_ok=True)
    if tokenizer is None:
        tokenizer = _load_tokenizer(tok_id)
    contexts = [RelevanceContext(target, max_documents=cfg.max_documents)]
    contexts += [RelevanceContext(c, max_documents=cfg.max_documents) for c in others]
    skipped = []
    lists = [e.words(cfg.top_k) for e in entries]
    rows: list[dict[str, Any]] = []
    for i, context in enumerate(contexts):
        against = None if i == 0 else context.name
        if isinstance(grader, OfflineRelevanceGrader) and context.organism.dataset_source() is None:
            log.warning("control '%s' has no finetuning data: skipped offline", context.name)
            skipped.append(context.name)
            continue
        context.frequent = _frequent(context, tokenizer, cfg)
        verdicts = grader.grade_many(lists, context)
        rows += _rows(entries, verdicts, grader, context, against, cfg.top_k)
    best = best_positions(rows)
    frequent = contexts[0].frequent
    write_jsonl(rd.path / "evaluate" / "relevance.jsonl", rows)
    if frequent is not None:
        write_json(rd.stage(STAGE) / "frequent_tokens.json", frequent.to_json())
    overview = {
        "organism": target.name,
        "description": target.short_description,
        "grader": grader.describe(),
        "grader_name": grader.name,
        "fingerprint": grader.fingerprint(),
        "config": cfg.model_dump(),
        "config_hash": digest,
        "basis": rd.basis(summary.stages, "collect", "read"),
        "controls": [c.name for c in others if c.name not in skipped],
        "skipped_controls": skipped,
        "frequent_tokens": (
            {
                "tokenizer": frequent.tokenizer,
                "n_documents": frequent.n_documents,
                "n_tokens": frequent.n_tokens,
                "tokens": frequent.display(),
            }
            if frequent is not None
            else None
        ),
        "best": best,
        "entries": len(entries),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if isinstance(grader, LLMRelevanceGrader):
        overview["judge"] = grader.client.stats()
    write_json(out_json, overview)
    rd.mark_done(STAGE, digest, {"rows": len(rows)})
    return {**overview, "cached": False}
