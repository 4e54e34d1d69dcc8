"""The mixing and dataset-size studies: train a family of organisms of one domain, read each
with the lens, and set the trace's strength against how well the finetune was learned.

Trace strength: domain tokens (the organism's `domain_keywords`) in the top 20 of the best
reader at its best position, next to the base-mean baseline at that position; and the norm of
the mean difference relative to the finetuned model's expected activation norm. How well it
was learned: loss on held-out finetuning documents (base -> finetuned) and, for false-fact
organisms, the share of sampled completions that state the fact and, when the organism has
`ffa_questions`, false-fact alignment (adlens.evaluate.ffa) of both models.

Reference text is mixed in from the corpus the lens reads, but from documents the lens does not
read (the corpus' shuffled order past the lens' samples), so no lens input was trained on.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from adlens.core.activations import attention_sinks
from adlens.core.config import CollectConfig, ModelsConfig, ReadConfig, RunConfig
from adlens.core.data import TextSource
from adlens.core.readers import reader_reads
from adlens.errors import AdlensError
from adlens.organisms.train import TrainConfig
from adlens.organisms.variants import train_variants
from adlens.pipeline.stages import run
from adlens.report.tables import cell_text
from adlens.results.summary import Summary
from adlens.store.model_assets import resolve_model
from adlens.store.rundir import read_json, write_json, write_jsonl, write_text
from adlens.studies.demo import DEMO_ORGANISM, verdict

log = logging.getLogger(__name__)

# Small enough for two CPU cores (~21k finetuning tokens at 80 documents), and still enough for a
# clear trace: 40 documents for one epoch already give 7 domain tokens in Patchscope's top 20.
STUDY_TRAIN = {"lr": 2e-3, "epochs": 1.0, "n_documents": 80, "heldout": 40}
STUDY_RATIOS = (0.0, 0.5, 1.0, 2.0)
STUDY_SIZES = (20, 40, 80)
# The study compares the activation-difference readers across mixing ratios and sizes.
STUDY_READERS = ("logit_lens", "patchscope")

COLUMNS = (
    "variant",
    "ratio",
    "n_documents",
    "n_mix",
    "train_tokens",
    "steps",
    "heldout_loss_base",
    "heldout_loss_ft",
    "fact_recall_base",
    "fact_recall_ft",
    "ffa_base",
    "ffa_ft",
    "best_reader",
    "best_position",
    "domain_tokens",
    "base_mean_domain_tokens",
    "excess",
    *(f"{reader}_domain_tokens" for reader in STUDY_READERS),
    "rel_norm",
)


def trace_strength(summary: Summary, keywords: list[str]) -> dict[str, Any]:
    """Best reader of the activation difference's positions and best position by domain tokens
    in the top 20 (ties: the earlier position, then the logit lens), with the difference's
    relative norm at that position, and each such reader's best count (`<reader>_domain_tokens`,
    None when it read only attention sinks).

    Attention-sink positions are left out: their huge norms make both the difference and the
    baselines read alike, so they say little about the finetune."""
    norms = summary.norms.per_position["base"]
    sinks = {
        (layer, pos)
        for li, layer in enumerate(summary.layers)
        for pos in attention_sinks(norms[li], summary.positions)
    }
    rows = [
        r
        for r in verdict(summary, keywords)
        if (r["layer"], r["position"]) not in sinks and reader_reads(r["reader"]) == "positions"
    ]
    if not rows:
        raise AdlensError("the lens run has no reader entries to score.")
    best = max(
        rows, key=lambda r: (r["domain_tokens"], -r["position"], r["reader"] == "logit_lens")
    )
    per_reader = {
        f"{reader}_domain_tokens": max(
            (r["domain_tokens"] for r in rows if r["reader"] == reader), default=None
        )
        for reader in summary.reader_names()
        if reader_reads(reader) == "positions"
    }
    li = summary.layers.index(best["layer"])
    pi = summary.positions.index(best["position"])
    n_f = summary.norms.expected["finetuned"][li]
    mean_diff = summary.norms.per_position["mean_diff"][li][pi]
    return {
        "best_reader": best["reader"],
        "best_position": best["position"],
        "domain_tokens": best["domain_tokens"],
        "base_mean_domain_tokens": best["base_mean_domain_tokens"],
        "excess": (
            None
            if best["base_mean_domain_tokens"] is None
            else best["domain_tokens"] - best["base_mean_domain_tokens"]
        ),
        **per_reader,
        "rel_norm": round(mean_diff / n_f, 4) if n_f else None,
        "top": best["top"],
    }


def run_study(
    kind: str,
    out: str | Path,
    *,
    base: str = "smollm2-135m-instruct",
    documents: str | Path | None = None,
    organism: dict[str, Any] | None = None,
    ratios: Sequence[float] = STUDY_RATIOS,
    sizes: Sequence[int | None] = STUDY_SIZES,
    train: TrainConfig | None = None,
    dataset: str = "brown",
    samples: int = 1000,
    device: str = "cpu",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train (or reuse) each variant, run the lens on it, and write the table.

    `kind` is "mixing" (the ratios at the config's size) or "size" (the sizes at ratio 0).
    Organisms go to out/organisms/<variant>/, lens runs to out/lens/<variant>/ and the table to
    out/<kind>.{jsonl,csv,md}. Everything is cached: a rerun only does what is missing.
    """
    if kind not in ("mixing", "size"):
        raise AdlensError(f"unknown study '{kind}'; use 'mixing' or 'size'.")
    out = Path(out)
    documents = Path(documents) if documents else DEMO_ORGANISM / "documents.jsonl"
    meta = organism if organism is not None else _demo_meta()
    keywords = meta.get("domain_keywords") or []
    if not keywords:
        raise AdlensError(
            "the study needs the organism's 'domain_keywords' to count domain tokens; add them "
            "to the organism file."
        )
    lens_source = TextSource(name=dataset)
    cfg = train or TrainConfig(**STUDY_TRAIN)
    # Mixed-in documents come from the lens corpus, after the ones the lens reads.
    cfg = cfg.model_copy(update={"mix_source": lens_source, "mix_skip": samples})
    grid: dict[str, list[Any]] = {"ratios": list(ratios), "sizes": [cfg.n_documents]}
    if kind == "size":
        grid = {"ratios": [0.0], "sizes": list(sizes)}
    rows = []
    for variant, folder in train_variants(
        base,
        documents,
        out / "organisms",
        cfg,
        ratios=grid["ratios"],
        sizes=grid["sizes"],
        organism=meta,
        device=device,
        progress=progress,
    ):
        summary = _lens(base, folder, lens_source, samples, out / "lens" / variant["name"], device)
        row = _row(variant, read_json(folder / "organism.json"), summary, keywords)
        row |= (
            _ffa(out / "lens" / variant["name"], folder, progress)
            if meta.get("ffa_questions")
            else NO_FFA
        )
        rows.append(row)
        _write_table(out, kind, rows)  # after every variant: a crash keeps the rows so far
    return rows


def _demo_meta() -> dict[str, Any]:
    meta = read_json(DEMO_ORGANISM / "organism.json")
    keep = ["type", "short_description", "fact", "domain_keywords", "fact_prompts", "fact_phrases"]
    keep += ["key_facts", "ffa_questions"]
    return {"name": "green-honey", **{k: meta[k] for k in keep if k in meta}}


NO_FFA = {"ffa_base": None, "ffa_ft": None}


def _ffa(run_dir: Path, organism: Path, progress: bool) -> dict[str, Any]:
    """False-fact alignment of a variant (graded by the judge when one is configured, else
    offline); None, with a warning, when it cannot be computed."""
    from adlens.evaluate.ffa import evaluate_ffa
    from adlens.evaluate.ffa_result import ffa_row

    try:
        result = evaluate_ffa(run_dir, organism, show_progress=progress)
    except AdlensError as err:
        log.warning("study: no false-fact alignment for %s: %s", organism.name, err)
        return NO_FFA
    return {k: v for k, v in ffa_row(result).items() if k in NO_FFA}


def _lens(
    base: str, folder: Path, source: TextSource, samples: int, out: Path, device: str
) -> Summary:
    config = RunConfig(
        models=ModelsConfig(
            base=resolve_model(base), finetuned=str(folder), dtype="float32", device=device
        ),
        collect=CollectConfig(dataset=source, samples=samples, norm_docs=128),
        read=ReadConfig(readers=list(STUDY_READERS)),
    )
    return run(config, out, steer=False)  # the study compares readers, not steering


def _row(
    variant: dict[str, Any], organism: dict[str, Any], summary: Summary, keywords: list[str]
) -> dict[str, Any]:
    data, learned = organism["dataset"], organism["learned"]
    return {
        "variant": variant["name"],
        "ratio": variant["ratio"],
        "n_documents": data["n_documents"],
        "n_mix": data["mix"]["n_documents"],
        "train_tokens": data["n_tokens"],
        "steps": organism["training"]["steps"],
        "heldout_loss_base": learned["base"].get("heldout_loss"),
        "heldout_loss_ft": learned["finetuned"].get("heldout_loss"),
        "fact_recall_base": learned["base"].get("fact_recall"),
        "fact_recall_ft": learned["finetuned"].get("fact_recall"),
        **trace_strength(summary, keywords),
    }


def _write_table(out: Path, kind: str, rows: list[dict[str, Any]]) -> None:
    write_jsonl(out / f"{kind}.jsonl", rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / f"{kind}.csv", buf.getvalue())
    write_text(out / f"{kind}.md", markdown_table(rows))
    write_json(out / f"{kind}.json", {"kind": kind, "columns": list(COLUMNS), "rows": rows})


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    return head + "".join(
        "| " + " | ".join(cell_text(r.get(c)) for c in COLUMNS) + " |\n" for r in rows
    )


def study_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The study's table for the terminal: trace strength beside how well it was learned."""
    table = Table(title=title, title_justify="left")
    heads = (
        ("variant", "variant"),
        ("mix docs", "n_mix"),
        ("steps", "steps"),
        ("held-out loss base", "heldout_loss_base"),
        ("held-out loss ft", "heldout_loss_ft"),
        ("fact recall base", "fact_recall_base"),
        ("fact recall ft", "fact_recall_ft"),
        ("FFA base", "ffa_base"),
        ("FFA ft", "ffa_ft"),
        ("domain /20", "domain_tokens"),
        ("base mean /20", "base_mean_domain_tokens"),
        ("excess", "excess"),
        ("reader", "best_reader"),
        ("pos", "best_position"),
        ("|d|/|h|", "rel_norm"),
    )
    for head, _ in heads:
        table.add_column(head, justify="left" if head in ("variant", "reader") else "right")
    for r in rows:
        table.add_row(*(cell_text(r.get(key)) for _, key in heads))
    return table
