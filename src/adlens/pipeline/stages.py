"""The stages built so far, in order, with caching: load pair -> collect -> read -> steer ->
summary.

Every user error is raised before the run directory is created, so bad input never leaves a
partial run behind. Stages whose config hash matches are loaded, not recomputed; when all are
fresh the models are not even loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adlens import __version__
from adlens.core.activations import ActivationDiff
from adlens.core.collect import NORMS_CHECKPOINT, collect
from adlens.core.config import CollectConfig, ModelsConfig, RunConfig
from adlens.core.data import Document, check_source, iter_documents
from adlens.core.models import ModelPair
from adlens.core.readers import ReadContext, ReaderOutput, reader_spec
from adlens.core.scale_choice import ContentStability
from adlens.core.tokenization import TokenizedDocs, tokenize_documents, tokenize_for_norms
from adlens.judges.endpoint import uses_llm
from adlens.judges.roles import role_record, truncation_note
from adlens.pipeline.hashes import collect_hash, read_hash, reader_hash, steer_hash
from adlens.pipeline.inputs import check_run_inputs
from adlens.pipeline.reader_cache import ReaderCache
from adlens.pipeline.summary import build_summary, write_summary
from adlens.results.summary import Summary, load_summary
from adlens.store.rundir import (
    RunDir,
    check_writable,
    write_jsonl,
)

log = logging.getLogger(__name__)


def load_pair(models: ModelsConfig) -> ModelPair:
    """Load the pair a config names (hub ids or local folders; an adapter over its base).

    Args:
        models: which models, and the dtype, device and revisions to load them with.

    Example:
        >>> pair = load_pair(cfg.models)
        >>> pair.n_layers
        4
    """
    return ModelPair.load(
        models.base,
        models.finetuned,
        dtype=models.dtype,
        device=models.device,
        device_map=models.device_map,
        base_revision=models.base_revision,
        finetuned_revision=models.finetuned_revision,
        trust_remote_code=models.trust_remote_code,
        adapter_base=models.adapter_base,
    )


def _stash_first(documents: Iterator[Document], n: int, into: list[Document]) -> Iterator[Document]:
    """Pass documents through, keeping the first n (for the expected-norm estimate)."""
    for doc in documents:
        if len(into) < n:
            into.append(doc)
        yield doc


def prepare_inputs(pair: ModelPair, cfg: CollectConfig) -> tuple[list[int], TokenizedDocs, Any]:
    """Resolve layers and tokenise; raises a clear error for every bad input.

    Args:
        pair: the models (their tokenizer and depth).
        cfg: the documents, positions and layers to collect.

    Returns:
        (layer indices, the tokenised documents, the expected-norm estimate's (ids, mask)),
        the arguments `collect` takes.

    Example:
        >>> layers, docs, norm_inputs = prepare_inputs(pair, cfg.collect)
        >>> layers, len(docs)
        ([1], 20)
    """
    layers = pair.resolve_layers(cfg.layers)
    stash: list[Document] = []
    docs = tokenize_documents(
        pair.tokenizer,
        _stash_first(iter_documents(cfg.dataset), cfg.norm_docs, stash),
        positions=cfg.positions,
        n_docs=cfg.documents,
    )
    norm_inputs = tokenize_for_norms(
        pair.tokenizer, stash, n_docs=cfg.norm_docs, max_tokens=cfg.norm_tokens, skip=cfg.norm_skip
    )
    return layers, docs, norm_inputs


def run(
    config: RunConfig,
    out: Path,
    *,
    pair: ModelPair | None = None,
    read: bool = True,
    steer: bool | None = None,
    show_progress: bool = True,
) -> Summary:
    """Run collect, read (unless `read=False`) and steer (unless `steer=False`; None: as
    config.steer.enabled) into `out`, reusing fresh cached stages.

    summary.json always names the hashes of the stages it was built from; a stage whose inputs
    changed is recomputed and the stages after it are invalidated.

    Args:
        config: the pair and every stage's settings.
        out: the run directory (created; a rerun reuses its fresh stages).
        pair: models already loaded (None: loaded from `config.models` when needed).
        read: run the readers (False: collect only).
        steer: run the steering stage (None: as `config.steer.enabled`).
        show_progress: draw progress bars.

    Returns:
        The run's `Summary` (without readings when read=False).

    Example:
        >>> summary = run(cfg, tmp / "run", show_progress=False)
        >>> summary.reader_names(), summary.counts.documents
        (['logit_lens', 'patchscope', 'diffmine', 'contrastive', 'weights'], 20)
        >>> run(cfg, tmp / "run", show_progress=False) == summary  # cached: nothing is recomputed
        True
    """
    out = Path(out)
    check_writable(out)
    rd = RunDir(out)
    steer = read and (config.steer.enabled if steer is None else steer)
    check_run_inputs(config, read=read, steer=steer)
    c_hash = collect_hash(config.models, config.collect)
    r_hash = read_hash(c_hash, config.read, config.judge)
    s_hash = steer_hash(r_hash, config)
    current = rd.summary_stages()
    collect_fresh = rd.done_hash("collect") == c_hash
    read_fresh = collect_fresh and rd.done_hash("read") == r_hash and current.get("read") == r_hash
    steer_fresh = read_fresh and rd.done_hash("steer") == s_hash and current.get("steer") == s_hash
    if (
        current.get("collect") == c_hash
        and collect_fresh
        and (not read or read_fresh)
        and (not steer or steer_fresh)
    ):
        log.info("all stages are cached in %s (config %s)", out, c_hash)
        return load_summary(rd)

    if not collect_fresh:
        check_source(config.collect.dataset)
    t0 = time.perf_counter()
    pair = pair or load_pair(config.models)
    t_load = time.perf_counter() - t0
    inputs = None if collect_fresh else prepare_inputs(pair, config.collect)

    # Inputs are valid: from here on the run directory exists.
    rd.path.mkdir(parents=True, exist_ok=True)
    rd.update_manifest(
        adlens_version=__version__,
        models={**pair.info},
        dataset=config.collect.dataset.model_dump(),
        config=config.model_dump(),
        config_hash={
            "collect": c_hash,
            **({"read": r_hash} if read else {}),
            **({"steer": s_hash} if steer else {}),
        },
        timings={"load_models_s": round(t_load, 2)},
    )
    if inputs is None:
        log.info("collect: cached (config %s)", c_hash)
        diff = ActivationDiff.load(rd.stage("collect"))
    else:
        rd.invalidate("collect", "read", "steer")
        diff = collect_stage(rd, pair, config.collect, c_hash, *inputs, show_progress)
    if current.get("collect") != c_hash:  # the summary on disk belongs to other activations
        write_summary(rd, build_summary(pair.info, diff, [], config), collect=c_hash)
        current = {"collect": c_hash}
    if not read:
        return load_summary(rd)
    if read_fresh:
        log.info("read: cached (config %s)", r_hash)
        summary = load_summary(rd)
    else:
        rd.invalidate("read", "steer")
        summary = read_stage(rd, pair, diff, config, r_hash, show_progress)
        summary = write_summary(rd, summary, collect=c_hash, read=r_hash)
    if steer and not steer_fresh:
        rd.invalidate("steer")
        summary = steer_stage(rd, pair, diff, config, s_hash, summary, show_progress)
        summary = write_summary(rd, summary, collect=c_hash, read=r_hash, steer=s_hash)
    return summary


def offline_coherence_judge(pair: ModelPair, side: str) -> Any:
    """The offline coherence judge for steered chat answers: it scores each answer under the
    unsteered `side` model, in the exact context it was generated in (chat template, thinking
    off). Calibrate it on unsteered answers before it judges."""
    from adlens.core.steer import encode_prompts
    from adlens.judges import OfflineCoherenceJudge

    return OfflineCoherenceJudge(
        pair, side=side, format_prompt=lambda p: encode_prompts(pair.tokenizer, [p])[0]
    )


def steer_stage(
    rd: RunDir,
    pair: ModelPair,
    diff: ActivationDiff,
    config: RunConfig,
    digest: str,
    summary: Summary,
    show_progress: bool = True,
) -> Summary:
    """Strength search and final samples per steered position (see steer_stage.py); the
    overview goes into summary.json under "steer"."""
    from adlens.judges import make_judges
    from adlens.pipeline.steer_stage import SteerStage, choose_positions

    cfg = config.steer
    targets = choose_positions(cfg, diff, summary.readers, pair.n_layers)
    judges = make_judges(
        config.judge, pair=pair, log_path=rd.path / "judges" / "calls.jsonl", roles=("coherence",)
    )
    log.info(judges.describe())
    if judges.offline:
        judges.coherence = offline_coherence_judge(pair, cfg.side)
    stage = rd.stage("steer")
    t0 = time.perf_counter()
    overview = SteerStage(stage, pair, diff, cfg, judges.coherence, digest, show_progress).run(
        targets
    )
    record = role_record(config.judge, "coherence", judges.client)
    note = truncation_note(record)
    if note:
        log.warning("steer: %s", note)
    overview.judges = judges.describe() + (f"; {note}" if note else "")
    summary = summary.model_copy(update={"steer": overview})
    rd.mark_done("steer", digest, {"positions": [[t[0], t[1]] for t in targets]})
    rd.update_manifest(
        timings={"steer_s": round(time.perf_counter() - t0, 2)},
        counts={"steer_generations": overview.generations["total"]},
        judges={"coherence": record},
    )
    return summary


def collect_stage(
    rd: RunDir,
    pair: ModelPair,
    cfg: CollectConfig,
    digest: str,
    layers: list[int],
    docs: Any,
    norm_inputs: Any,
    show_progress: bool,
) -> ActivationDiff:
    """Collect into run_dir/collect/ (resuming a checkpoint of the same config) and mark it
    done; warns when fewer documents than requested were usable."""
    stage = rd.stage("collect")
    stage.mkdir(parents=True, exist_ok=True)
    checkpoint = stage / "partial.safetensors"
    diff = collect(
        pair,
        docs,
        layers,
        batch_size=cfg.batch_size,
        norm_inputs=norm_inputs,
        norm_skip=cfg.norm_skip,
        checkpoint=checkpoint,
        checkpoint_tag=digest,
        show_progress=show_progress,
    )
    diff.meta["requested"] = cfg.documents
    if diff.n_docs < cfg.documents:
        log.warning(
            "only %d of the %d requested documents were usable (%d too short of %d seen)",
            diff.n_docs,
            cfg.documents,
            diff.n_dropped,
            diff.meta["n_seen"],
        )
    diff.save(stage)
    rd.mark_done("collect", digest, {"n_docs": diff.n_docs})
    checkpoint.unlink(missing_ok=True)
    checkpoint.with_name(NORMS_CHECKPOINT).unlink(missing_ok=True)
    rd.update_manifest(
        counts={"documents": diff.n_docs, "dropped": diff.n_dropped, "requested": cfg.documents},
        timings={"collect_s": diff.meta["collect_seconds"], "norms_s": diff.meta["norm_seconds"]},
    )
    return diff


def read_stage(
    rd: RunDir,
    pair: ModelPair,
    diff: ActivationDiff,
    config: RunConfig,
    digest: str,
    show_progress: bool = True,
) -> Summary:
    """Run every reader of `config.read.readers`; write their readings (read/entries.jsonl),
    the unfiltered lists (read/raw_entries.jsonl) and any files of their own (read/<file>).

    Each reader's output is also kept under read/readers/<name>/ with its own hash: a reader
    whose inputs did not change is loaded, not rerun (adding a reader runs only that one)."""
    stage = rd.stage("read")
    c_digest = rd.done_hash("collect") or ""
    chooser, judges = None, None  # None: the offline content-stability choice
    if uses_llm(config.judge.for_role("tournament")):  # the reference: an LLM tournament
        from adlens.judges import make_judges

        log_path = rd.path / "judges" / "calls.jsonl"
        judges = make_judges(config.judge, pair=pair, log_path=log_path, roles=("tournament",))
        chooser = judges.scale_chooser

    def documents() -> list[Document]:
        docs = iter_documents(config.collect.dataset)
        return [d for _, d in zip(range(config.collect.documents), docs, strict=False)]

    ctx = ReadContext(
        pair, diff, config.read, chooser=chooser, documents=documents, show_progress=show_progress
    )
    outputs: list[ReaderOutput] = []
    timings = {}
    for name in config.read.readers:
        cache = ReaderCache(stage / "readers" / name)
        r_digest = reader_hash(c_digest, name, config.read, config.judge)
        out = cache.load(r_digest)
        if out is None:
            t0 = time.perf_counter()
            out = reader_spec(name).load().read(ctx)
            timings[f"{name}_s"] = round(time.perf_counter() - t0, 2)
            cache.save(out, r_digest)
        else:
            log.info("read: %s cached (config %s)", name, r_digest)
        outputs.append(out)
    readings = [r for out in outputs for r in out.readings]
    write_jsonl(stage / "entries.jsonl", [r.to_json() for r in readings])
    # The unfiltered lists (whitespace, punctuation and special tokens included), kept apart.
    write_jsonl(stage / "raw_entries.jsonl", [r.to_json() for out in outputs for r in out.raw])
    for out in outputs:
        for file, rows in out.files.items():
            write_jsonl(stage / file, rows)
    summary = build_summary(pair.info, diff, readings, config)
    summary.scale_chooser = chooser.name if chooser else ContentStability.name
    rd.mark_done("read", digest, {"entries": len(readings)})
    record = role_record(config.judge, "tournament", judges.scale_client if judges else None)
    if truncation_note(record):
        log.warning("read (scale tournament): %s", truncation_note(record))
    rd.update_manifest(timings=timings, judges={"tournament": record})
    return summary
