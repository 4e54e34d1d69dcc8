"""The offline demo: the bundled demo organism (a LoRA adapter on SmolLM2-135M-Instruct trained
on synthetic documents about one invented fact), read on the Brown corpus, ending in a verdict."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from rich.console import Console, JustifyMethod
from rich.table import Table

from adlens.core.config import JudgeConfig, ModelsConfig
from adlens.core.data import TextSource
from adlens.core.presets import preset_config
from adlens.core.readers import reader_label
from adlens.core.vocab import count_domain, domain_words_in_text
from adlens.errors import AdlensError
from adlens.organisms import BUNDLED
from adlens.report.tables import cell_text, entries_for, print_summary
from adlens.report.tokens import position_label
from adlens.results.readings import ALL
from adlens.results.steering import SteerOverview
from adlens.results.summary import Summary
from adlens.store.rundir import read_json, read_jsonl, write_json

DEMO_ORGANISM = BUNDLED / "demo"


def reader_heads(summary: Summary) -> list[tuple[str, str | None]]:
    """(reader, head) of every reader of the run: the finetuned head for readers with heads."""
    return [
        (name, "finetuned" if any(r.head for r in summary.readings(name)) else None)
        for name in summary.reader_names()
    ]


def verdict(summary: Summary, keywords: list[str]) -> list[dict[str, Any]]:
    """Per reader, layer and position: domain tokens in the top 20 of the difference, of the
    base-mean baseline (read in the base model) and of the drift control (the base mean read
    in the finetuned model)."""
    rows = []
    for reader, head in reader_heads(summary):
        for layer in sorted({r.layer for r in summary.readings(reader)}):
            diff = entries_for(summary, reader, "diff", layer, head)
            base = entries_for(summary, reader, "base_mean", layer, head)
            drift = entries_for(summary, reader, "base_mean_in_ft", layer, head)
            for pos in sorted(diff):
                rows.append(
                    {
                        "reader": reader,
                        "layer": layer,
                        "position": pos,
                        "domain_tokens": count_domain(diff[pos].tokens, keywords),
                        "base_mean_domain_tokens": (
                            count_domain(base[pos].tokens, keywords) if pos in base else None
                        ),
                        "drift_domain_tokens": (
                            count_domain(drift[pos].tokens, keywords) if pos in drift else None
                        ),
                        "top": diff[pos].words(),
                        "scale": diff[pos].scale,
                    }
                )
    return rows


def verdict_table(rows: list[dict[str, Any]], bos_at_0: bool, n: int = 8) -> Table:
    table = Table(
        title="verdict: domain tokens of the demo organism in the top 20", title_justify="left"
    )
    for col, just in (
        ("reader", "left"),
        ("pos", "right"),
        ("domain /20", "right"),
        ("base mean /20", "right"),
        ("drift /20", "right"),
        (f"top {n}", "left"),
    ):
        table.add_column(col, justify=cast(JustifyMethod, just))
    for r in rows:
        table.add_row(
            reader_label(r["reader"]),
            "all" if r["position"] == ALL else position_label(r["position"], bos_at_0),
            str(r["domain_tokens"]),
            cell_text(r["base_mean_domain_tokens"]),
            "" if r["drift_domain_tokens"] is None else str(r["drift_domain_tokens"]),
            " ".join(repr(t) for t in r["top"][:n]),
        )
    return table


def steering_report(steer: SteerOverview, out: Path, keywords: list[str]) -> dict[str, Any]:
    """Strength, samples generated, and how often steered vs unsteered answers use domain
    words; two examples of each (same prompts)."""
    rows = read_jsonl(Path(out) / "steer" / "samples.jsonl")
    report: dict[str, Any] = {
        "strength": [p.strength for p in steer.positions],
        "positions": [p.position for p in steer.positions],
        "generations": steer.generations,
        "judges": steer.judges,
    }
    for kind, steered in (("steered", True), ("unsteered", False)):
        mine = [r for r in rows if r["steered"] is steered]
        hits = [domain_words_in_text(r["text"], keywords) for r in mine]
        report[kind] = {
            "samples": len(mine),
            "with_domain_words": sum(h > 0 for h in hits),
            "domain_words_per_sample": round(sum(hits) / max(1, len(hits)), 2),
            "examples": [r for r in mine if r["sample_index"] == 0][:2],
        }
    return report


def evaluate_demo(out: Path, organism_file: Path, *, steered: bool) -> dict[str, Any]:
    """The offline relevance grading of every reader list and, after steering, the steering
    similarity (both cached in OUT/evaluate/, shown in the report)."""
    from adlens.evaluate.relevance import evaluate_relevance

    relevance = evaluate_relevance(
        out, organism_file, grader="offline", reference=TextSource(name="brown", seed=42)
    )
    best = [
        {k: b.get(k) for k in ("reader", "layer", "position", "fraction", "at_diff_position")}
        | {"variant": b["variant"]}
        for b in relevance.get("best", [])
        if b["variant"] in ("diff", "base_mean")
    ]
    evaluation: dict[str, Any] = {"relevance": best}
    if steered:
        from adlens.evaluate.similarity import steering_similarity

        sim = steering_similarity(out, organism_file)
        b = sim.get("best") or {}
        evaluation["similarity"] = {
            "steered_vs_D": (b.get("steered_vs_D") or {}).get("mean"),
            "unsteered_vs_D": sim["baselines"]["unsteered_vs_D"]["mean"],
            "D_self": sim["baselines"]["D_self"],
            "position": b.get("position"),
        }
    return evaluation


def print_evaluation(evaluation: dict[str, Any], console: Console) -> None:
    """Per graded reader, the best list of the difference beside the base-mean baseline there
    (readers without a baseline, such as the pooled ones, without it)."""
    rows = evaluation["relevance"]
    for reader in dict.fromkeys(r["reader"] for r in rows):
        mine = [r for r in rows if r["reader"] == reader and r["variant"] == "diff"]
        if not mine:
            continue
        diff = max(mine, key=lambda r: r["fraction"] or 0.0)
        base = next(
            (
                r
                for r in rows
                if (r["reader"], r["variant"], r["layer"]) == (reader, "base_mean", diff["layer"])
            ),
            None,
        )
        where = (
            "pooled (all layers and positions)"
            if diff["position"] == ALL
            else f"at layer {diff['layer']}, position {diff['position']}"
        )
        line = (
            f"[bold]{reader_label(reader)}[/bold] relevance (offline grader): "
            f"{diff['fraction'] or 0:.0%} of the top 20 {where}"
        )
        if base is not None:
            at = base.get("at_diff_position") or {}
            line += f"; base-mean baseline {at.get('fraction') or 0:.0%} there"
        console.print(line)
    sim = evaluation.get("similarity")
    if sim and sim["steered_vs_D"] is not None:
        console.print(
            f"steering similarity to the finetuning data: steered {sim['steered_vs_D']:.3f}, "
            f"unsteered {sim['unsteered_vs_D']:.3f}, the data itself {sim['D_self']:.3f}"
        )


def print_steering(report: dict[str, Any], console: Console) -> None:
    g = report["generations"]
    console.print(
        f"[bold]steering[/bold] (position {', '.join(map(str, report['positions']))}): strength "
        f"{', '.join(f'{s:.3g}' for s in report['strength'])} x the expected norm, "
        f"{g['total']} samples generated ({g['steered_search']} for the strength search, "
        f"{g['unsteered_search']} unsteered for calibration, {g['steered_final']} steered and "
        f"{g['unsteered_final']} unsteered final samples); {report['judges']}"
    )
    for kind in ("steered", "unsteered"):
        r = report[kind]
        console.print(
            f"{kind}: {r['with_domain_words']}/{r['samples']} samples use domain words "
            f"({r['domain_words_per_sample']} per sample)"
        )
        for ex in r["examples"]:
            text = " ".join(ex["text"].split())[:300]
            console.print(f"  [dim]{ex['prompt']}[/dim]\n  [bold]{kind}:[/bold] {text}")


def run_demo(
    out: Path,
    *,
    samples: int = 2000,
    steer: bool = True,
    judge: str = "offline",
    console: Console | None = None,
) -> dict[str, Any]:
    from adlens.pipeline.stages import run
    from adlens.store.model_assets import ensure_model

    console = console or Console()
    t0 = time.perf_counter()
    organism_file = DEMO_ORGANISM / "organism.json"
    if not organism_file.exists():
        raise AdlensError(f"The demo organism is missing ({organism_file}); reinstall adlens.")
    organism = read_json(organism_file)
    base = ensure_model("smollm2-135m-instruct")
    config = preset_config(
        "demo",
        models=ModelsConfig(
            base=str(base), finetuned=str(DEMO_ORGANISM), dtype="float32", device="cpu"
        ),
        dataset=TextSource(name="brown", seed=42),
        collect={"samples": samples},
        steer={"enabled": steer},
        # Offline judges by default: the demo needs no network and no key.
        judge=JudgeConfig(backend=judge),
    )
    summary = run(config, out)
    print_summary(summary, console)
    rows = verdict(summary, organism.get("domain_keywords", []))
    console.print(verdict_table(rows, summary.bos_at_0))
    best = {}
    for reader in summary.reader_names():
        mine = [r for r in rows if r["reader"] == reader]
        top = max(mine, key=lambda r: r["domain_tokens"])
        best[reader] = {
            k: top[k] for k in ("position", "layer", "domain_tokens", "base_mean_domain_tokens")
        }
    result = {
        "organism": organism.get("name"),
        "description": organism.get("short_description"),
        "best": best,
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    keywords = organism.get("domain_keywords", [])
    if summary.steer is not None:
        result["steering"] = steering_report(summary.steer, out, keywords)
    result["evaluation"] = evaluate_demo(out, organism_file, steered=summary.steer is not None)
    write_json(Path(out) / "verdict.json", result)
    from adlens.report import build_report, screenshot

    console.print(f"report in {build_report(out)}")
    screenshot(out)  # report.png beside it; without Chromium only a logged note
    for reader, b in best.items():
        console.print(
            f"[bold]{reader_label(reader)}[/bold]: best position "
            f"{'all' if b['position'] == ALL else b['position']}: {b['domain_tokens']}/20 domain "
            f"tokens (base-mean baseline {cell_text(b['base_mean_domain_tokens'])}/20)"
        )
    print_evaluation(result["evaluation"], console)
    if "steering" in result:
        print_steering(result["steering"], console)
    console.print(
        f"The demo organism was finetuned on: [bold]{organism.get('short_description')}[/bold]"
    )
    console.print(f"demo finished in {result['seconds']} s; results in {out}/")
    return result
