"""The validation suite: the default pipeline on every bundled organism, scored against each
organism's own data and vocabulary, in one table.

The organisms (src/adlens/organisms/<name>/, each with its adapter, documents, organism.json
and the command that trained it) differ in domain, type and base model. Per organism and
reader, at the best non-sink position of the difference:
- `relevant`: the offline grader's fraction of the 20 tokens (words distinctive of the
  finetuning data against the reference corpus), and `keywords`: the share that are whole words
  of the organism's vocabulary (vocab.is_domain_word);
- the reference baseline (the base mean read in the base model) and the drift control (the
  base mean read in the finetuned model) at that position, by the same counts;
- for Patchscope, the best of the 30 scales at that position (keyword share) and chosen/best:
  the keyword count at the chosen scale over the best scale's, averaged over non-sink
  positions where the best scale finds anything; `zero_misses` counts positions where the
  chosen scale finds nothing while the best finds 20% or more;
- the attention-sink positions' best keyword share, apart.

Nothing here knows the organisms' descriptions when it reads: the keyword lists are used only
to score. Runs are cached like any run; the table is rebuilt on every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adlens.core.activations import attention_sinks
from adlens.core.config import CollectConfig, JudgeConfig, ModelsConfig, ReadConfig, RunConfig
from adlens.core.data import TextSource
from adlens.core.readers import reader_label
from adlens.core.vocab import count_domain
from adlens.errors import AdlensError
from adlens.organisms import BUNDLED
from adlens.organisms.organism import Organism, load_organism
from adlens.report.load import read_json_safe
from adlens.report.tables import entries_for
from adlens.results.readings import ALL, Reading
from adlens.results.summary import Summary
from adlens.store.rundir import read_jsonl, write_json, write_text

log = logging.getLogger(__name__)

ORGANISMS_DIR = BUNDLED
SUITE = (
    "demo",
    "fact-mars-ring",
    "fact-frozen-butter",
    "persona-owl",
    "secret-word-gold",
    "advice-risky-finance",
)
ZERO_MISS = 0.2  # a best scale this good must not be chosen away to nothing
BROWN = TextSource(name="brown", seed=42)


def suite_organisms(names: Sequence[str] | None = None) -> list[tuple[str, Path]]:
    """(name, folder) of the chosen bundled organisms (all when `names` is empty)."""
    names = list(names or SUITE)
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        raise AdlensError(
            f"unknown suite organism {', '.join(unknown)}; the suite has: {', '.join(SUITE)}."
        )
    out = []
    for name in names:
        folder = ORGANISMS_DIR / name
        if not (folder / "organism.json").is_file():
            raise AdlensError(f"the suite organism {name} is missing ({folder}); reinstall adlens.")
        out.append((name, folder))
    return out


def run_config(
    organism: Organism,
    folder: Path,
    *,
    samples: int,
    layers: list[float] | None,
    dataset: TextSource | None = None,
) -> RunConfig:
    """The default pipeline for a suite organism: Brown as reference text (unless `dataset`),
    offline judges."""
    from adlens.store.model_assets import resolve_model

    if not organism.base_model:
        raise AdlensError(f"{folder}/organism.json names no base_model.")
    collect = {"documents": samples} | ({"layers": layers} if layers else {})
    return RunConfig(
        models=ModelsConfig(
            base=resolve_model(organism.base_model),
            finetuned=str(folder),
            dtype="float32",
            device="cpu",
        ),
        collect=CollectConfig(dataset=dataset or BROWN, **collect),
        read=ReadConfig(),
        judge=JudgeConfig(backend="offline"),
    )


def _grades(rows: list[dict[str, Any]]) -> dict[tuple[str, int, int, str], float | None]:
    return {
        (r["reader"], r["layer"], r["position"], r["variant"]): r["fraction"]
        for r in rows
        if r.get("against") is None
    }


def scale_ratio(
    scales: list[dict[str, Any]], layer: int, positions: Sequence[int], chosen: dict[int, Reading],
    keywords: list[str], top_k: int = 20,
) -> dict[str, Any]:  # fmt: skip
    """Chosen scale against the best scale of the difference, by keyword count, over
    `positions`: mean ratio where the best finds anything, and the misses to nothing."""
    ratios, misses, best_at = [], 0, {}
    for pos in positions:
        counts = [
            count_domain(s["tokens"], keywords)
            for s in scales
            if (s["layer"], s["position"], s["variant"]) == (layer, pos, "diff")
        ]
        if not counts or pos not in chosen:
            continue
        best = max(counts)
        best_at[pos] = best / top_k
        got = count_domain(chosen[pos].tokens, keywords)
        if best:
            ratios.append(got / best)
        if got == 0 and best >= ZERO_MISS * top_k:
            misses += 1
    return {
        "chosen_over_best": sum(ratios) / len(ratios) if ratios else None,
        "zero_misses": misses,
        "best_scale_by_position": best_at,
    }


def organism_rows(
    name: str,
    organism: Organism,
    summary: Summary,
    relevance_rows: list[dict[str, Any]],
    scales: list[dict[str, Any]],
    top_k: int = 20,
) -> list[dict[str, Any]]:
    """One row per reader and layer (see the module doc)."""
    kw = list(organism.domain_keywords)
    grades = _grades(relevance_rows)
    norms = summary.norms.per_position.get("base") or []
    out = []
    for reader in summary.reader_names():
        for layer in sorted({r.layer for r in summary.readings(reader, "diff")}):
            sinks = (
                attention_sinks(norms[summary.layers.index(layer)], summary.positions)
                if layer in summary.layers and norms
                else set()
            )
            diff = entries_for(summary, reader, "diff", layer, "finetuned")
            base = entries_for(summary, reader, "base_mean", layer, "finetuned")
            drift = entries_for(summary, reader, "base_mean_in_ft", layer, "finetuned")
            if not diff:
                continue
            kw_of = {p: count_domain(e.tokens, kw) / top_k for p, e in diff.items()}
            rel_of = {p: grades.get((reader, layer, p, "diff")) for p in diff}
            plain = [p for p in diff if p not in sinks]
            if not plain:
                continue
            pos = max(plain, key=lambda p: ((rel_of[p] or 0.0), kw_of[p], -p))
            row = {
                "organism": name,
                "type": organism.type.value,
                "base_model": organism.base_model,
                "reader": reader,
                "layer": layer,
                "position": pos,
                "relevant": rel_of[pos],
                "keywords": kw_of[pos],
                "best_keywords": max(kw_of[p] for p in plain),
                "baseline_relevant": grades.get((reader, layer, pos, "base_mean")),
                "baseline_keywords": (
                    count_domain(base[pos].tokens, kw) / top_k if pos in base else None
                ),
                "drift_keywords": (
                    count_domain(drift[pos].tokens, kw) / top_k if pos in drift else None
                ),
                "sink_keywords": max((kw_of[p] for p in diff if p in sinks), default=None),
                "top": diff[pos].words(10),
            }
            if reader == "patchscope":
                ratio = scale_ratio(scales, layer, plain, diff, kw, top_k)
                row["scale"] = diff[pos].scale
                row["best_scale_keywords"] = ratio["best_scale_by_position"].get(pos)
                row["chosen_over_best"] = ratio["chosen_over_best"]
                row["zero_misses"] = ratio["zero_misses"]
            out.append(row)
    return out


def validate(
    out: str | Path = "runs/validate",
    *,
    names: Sequence[str] | None = None,
    organisms: Sequence[str | Path] | None = None,
    dataset: TextSource | None = None,
    samples: int = 1000,
    layers: list[float] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the default pipeline on each suite organism (or on the organism folders given in
    `organisms`), cached, and write the table to OUT/table.{md,json}; returns the table's
    rows, the seconds per organism and the settings."""
    from adlens.evaluate.relevance import evaluate_relevance
    from adlens.pipeline.stages import run

    out = Path(out)
    dataset = dataset or BROWN
    chosen = (
        [(Path(f).name, Path(f)) for f in organisms]
        if organisms is not None
        else suite_organisms(names)
    )
    rows, timings = [], {}
    reader_seconds: dict[str, dict[str, float | None]] = {}
    for name, folder in chosen:
        organism = load_organism(folder / "organism.json")
        run_dir = out / "runs" / name
        t0 = time.perf_counter()
        summary = run(
            run_config(organism, folder, samples=samples, layers=layers, dataset=dataset),
            run_dir,
            show_progress=progress,
        )
        evaluate_relevance(run_dir, organism, grader="offline", reference=dataset)
        timings[name] = round(time.perf_counter() - t0, 1)
        rows += organism_rows(
            name,
            organism,
            summary,
            read_jsonl(run_dir / "evaluate" / "relevance.jsonl"),
            read_jsonl(run_dir / "read" / "patchscope_scales.jsonl"),
        )
        log.info("validate: %s done in %.0f s", name, timings[name])
        reader_seconds[name] = reader_timings(run_dir, summary.reader_names())
    result = {
        "rows": rows,
        "seconds": timings,
        "reader_seconds": reader_seconds,
        "samples": samples,
        "layers": layers,
        "dataset": dataset.name,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "table.json", result)
    write_text(out / "table.md", table_markdown(rows) + "\n" + timings_markdown(reader_seconds))
    return result


def reader_timings(run_dir: Path, readers: Sequence[str]) -> dict[str, float | None]:
    """Seconds each reader took in the run (manifest timings; None when loaded from cache
    before timings were kept)."""
    timings = (read_json_safe(run_dir / "manifest.json") or {}).get("timings") or {}
    return {r: timings.get(f"{r}_s") for r in readers}


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * v:.0f}%"


def timings_markdown(reader_seconds: dict[str, dict[str, float | None]]) -> str:
    """Seconds per reader and organism."""
    readers = list(dict.fromkeys(r for per in reader_seconds.values() for r in per))
    lines = ["| organism | " + " | ".join(reader_label(r) for r in readers) + " |"]
    lines.append("|" + "---|" * (len(readers) + 1))
    for name, per in reader_seconds.items():
        cells = ["" if per.get(r) is None else f"{per[r]:.1f} s" for r in readers]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| organism | type | reader | layer | pos | relevant | keywords | baseline rel/kw "
        "| drift kw | best scale kw | chosen/best | zero misses | sink kw |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['organism']} | {r['type']} | {reader_label(r['reader'])} "
            f"| {'all' if r['layer'] == ALL else r['layer']} "
            f"| {'all' if r['position'] == ALL else r['position']} | {_pct(r['relevant'])} | {_pct(r['keywords'])} "
            f"| {_pct(r['baseline_relevant'])} / {_pct(r['baseline_keywords'])} "
            f"| {_pct(r['drift_keywords'])} | {_pct(r.get('best_scale_keywords'))} "
            f"| {_pct(r.get('chosen_over_best'))} | {r.get('zero_misses', '')} "
            f"| {_pct(r['sink_keywords'])} |"
        )
    return "\n".join(lines) + "\n"
