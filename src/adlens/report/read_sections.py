"""The report sections of collect and read: the first screen, the run, tokens per position,
Patchscope scales, norms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from adlens.core.readers import reader_label
from adlens.report import read_figures
from adlens.report.load import AgentRunView, RunView
from adlens.report.stage_sections import agent_run
from adlens.report.tokens import (
    Headline,
    cloud,
    is_content,
    position_label,
    show_token,
    sink_positions,
)
from adlens.report.util import Figures, as_int, fmt, short_name
from adlens.results.readings import ALL, Reading, TokenProb


def token_chips(
    tokens: Sequence[TokenProb], verdicts: dict[str, bool | None] | None, n: int = 20
) -> list[dict[str, Any]]:
    out = []
    for t in tokens[:n]:
        tok, prob = t.token, t.prob
        lead = tok.startswith(" ") and tok.strip() != ""
        out.append(
            {
                "lead": lead,
                "text": show_token(tok[1:] if lead else tok),
                "prob": _prob(prob),
                "title": f"{tok!r} p={prob}",
                "word": is_content(tok),
                "relevant": (verdicts or {}).get(tok),
            }
        )
    return out


def _prob(p: float) -> str:
    return "<.01" if p < 0.005 else f"{p:.2f}".lstrip("0")


def headline_context(
    view: RunView, h: Headline | None, verdicts: dict[tuple[str, int, int, str], Any]
) -> dict[str, Any] | None:
    if h is None:
        return None
    models = view.summary.models
    key = (h.reader, h.layer, h.position, "diff")
    base_key = (h.reader, h.layer, h.position, "base_mean")
    described = [reader_label(h.reader) + " of the activation difference"]
    described.append(f"layer {h.layer}")
    described.append(f"position {position_label(h.position, view.bos_at_0)}")
    if h.entry.scale is not None:
        described.append(f"scale {fmt(h.entry.scale)}")
    baseline_scale = h.baseline.scale if h.baseline else None
    return {
        "what": " · ".join(described),
        "how": h.how,
        "cloud": cloud(h.entry.tokens, verdicts.get(key)),
        "baseline": cloud(h.baseline.tokens, verdicts.get(base_key), max_px=30, min_px=12)
        if h.baseline
        else None,
        "baseline_what": "base-mean baseline: the base model's mean activation read in the base "
        "model, same reader"
        + (f", scale {fmt(baseline_scale)}" if baseline_scale is not None else ""),
        "fraction": h.fraction,
        "baseline_fraction": h.baseline_fraction,
        "graded": bool(verdicts.get(key)),
        "base": short_name(models.base),
        "finetuned": short_name(models.finetuned),
        "adapter": models.adapter,
        "dataset": view.summary.dataset,
        "documents": view.summary.counts.documents,
        "agent": _headline_agent(view),
        "steered": _headline_sample(view),
        "organism": (view.relevance or {}).get("organism"),
        "description": (view.relevance or {}).get("description"),
    }


def _headline_agent(view: RunView) -> dict[str, Any] | None:
    """The lens agent with the largest budget (first repeat): the reference setting, not the
    best-graded run, so the first screen does not cherry-pick."""
    runs = [r for r in view.agent_runs if r.result.get("hypothesis")]
    if not runs:
        return None

    def rank(r: AgentRunView) -> tuple[int, int, int]:
        res = r.result
        return (res.get("agent") == "adl", as_int(res.get("budget")), -as_int(res.get("repeat")))

    best = max(runs, key=rank)
    return agent_run(best)


def _headline_sample(view: RunView) -> dict[str, Any] | None:
    steered = [r for r in view.samples if r.get("steered") and r.get("text")]
    if not steered:
        return None
    first = min(
        steered, key=lambda r: (as_int(r.get("prompt_index")), as_int(r.get("sample_index")))
    )
    text = " ".join(str(first["text"]).split())
    return {
        "prompt": first.get("prompt"),
        "text": text if len(text) <= 320 else text[:317] + "...",
        "strength": first.get("strength"),
        "position": first.get("position"),
    }


def run_context(view: RunView) -> dict[str, Any]:
    s, m = view.summary, view.manifest
    models = {**s.models.model_dump(mode="json", exclude_none=True), **(m.get("models") or {})}
    counts = {**s.counts.model_dump(), **(m.get("counts") or {})}
    bos = (
        "position 0 is the BOS token"
        if view.bos_at_0
        else "this tokenizer puts no BOS token at position 0"
    )
    dataset = m.get("dataset") if isinstance(m.get("dataset"), dict) else None
    return {
        "models": [(k, v) for k, v in models.items() if v is not None],
        "dataset": s.dataset,
        "dataset_detail": dataset,
        "layers": s.layers,
        "positions": [position_label(p, view.bos_at_0) for p in s.positions],
        "bos": bos,
        "counts": list(counts.items()),
        "notes": list(s.notes)
        + [
            f"Not shown: {what}, made from an earlier configuration of this run directory; "
            "rerun the command that made it."
            for what in view.stale
        ],
        "timings": list((m.get("timings") or {}).items()),
        "versions": list((m.get("versions") or {}).items()),
        "command": m.get("command"),
        "created": m.get("created"),
        "updated": m.get("updated"),
        "hashes": list((m.get("config_hash") or {}).items()),
        "config": json.dumps(m.get("config"), indent=2) if m.get("config") else None,
        "path": str(view.path.resolve()),
    }


def tokens_context(
    view: RunView, verdicts: dict[tuple[str, int, int, str], Any]
) -> list[dict[str, Any]] | None:
    """Per layer and reader, a row per position: the difference beside the baselines, the
    negated difference folded away."""
    layers = sorted({e.layer for e in view.readers})
    if not layers:
        return None
    out = []
    for layer in layers:
        sinks = sink_positions(view.summary, layer)
        tables = []
        for reader, head in _reader_heads(view):
            mine = [
                e
                for e in view.readers
                if e.reader == reader and e.layer == layer and e.head == head
            ]
            if not mine:
                continue
            rows: list[dict[str, Any]] = []
            for pos in sorted({e.position for e in mine}):
                cells = {}
                for variant in ("diff", "base_mean", "ft_mean", "base_mean_in_ft", "neg_diff"):
                    e = next((x for x in mine if x.position == pos and x.variant == variant), None)
                    if e is None:
                        continue
                    cells[variant] = {
                        "scale": e.scale,
                        "pooled": bool(e.pooled),
                        "score": e.scale_score,
                        "chips": token_chips(e.tokens, verdicts.get((reader, layer, pos, variant))),
                    }
                rows.append(
                    {
                        "label": "all" if pos == ALL else position_label(pos, view.bos_at_0),
                        "sink": pos in sinks,
                        "cells": cells,
                    }
                )
            name = reader_label(reader) + (f" ({head} head)" if head else "")
            tables.append(
                {
                    "name": name,
                    "reader": reader,
                    "head": head,
                    "collapsed": head == "base",
                    "rows": rows,
                    "variants": [
                        v
                        for v in ("diff", "base_mean", "ft_mean", "base_mean_in_ft")
                        if any(v in r["cells"] for r in rows)
                    ],
                }
            )
        label = "all layers" if layer == ALL else f"layer {layer}"
        out.append({"layer": layer, "label": label, "tables": tables})
    return out


def _reader_heads(view: RunView) -> list[tuple[str, str | None]]:
    """(reader, head) of every list kind in the run: Patchscope first (its lists read best),
    then the others as run; a reader with heads once per head, the base head last."""
    pairs = list(dict.fromkeys((e.reader, e.head) for e in view.readers))
    return sorted(pairs, key=lambda p: (p[0] != "patchscope", p[1] == "base"))


def readers_context(
    view: RunView, verdicts: dict[tuple[str, int, int, str], Any]
) -> list[dict[str, Any]] | None:
    """Readers compared: per reader, its best list of the difference (by relevance where graded,
    else its first), with the share of relevant tokens and the base-mean baseline's."""
    rows: list[dict[str, Any]] = []
    for reader, head in _reader_heads(view):
        if head == "base":
            continue
        mine = [
            e for e in view.readers if e.reader == reader and e.head == head and e.variant == "diff"
        ]
        if not mine:
            continue
        graded = {id(e): _fraction(view, e, "diff") for e in mine}
        best = max(mine, key=lambda e: (graded[id(e)] is not None, graded[id(e)] or 0.0))
        layer, pos = best.layer, best.position
        rows.append(
            {
                "name": reader_label(reader),
                "where": (
                    "pooled over the text"
                    if pos == ALL
                    else f"layer {layer}, position {position_label(pos, view.bos_at_0)}"
                ),
                "fraction": graded[id(best)],
                "baseline": _fraction(view, best, "base_mean"),
                "chips": token_chips(best.tokens, verdicts.get((reader, layer, pos, "diff")), 12),
            }
        )
    rows.sort(key=lambda r: -(r["fraction"] if r["fraction"] is not None else -1.0))
    return rows or None


def _fraction(view: RunView, entry: Reading, variant: str) -> float | None:
    """The relevant share of the list of `variant` where `entry` read, when graded."""
    for r in view.relevance_rows:
        if (
            r.get("against") is None
            and (r.get("reader"), r.get("layer"), r.get("position"), r.get("variant"))
            == (entry.reader, entry.layer, entry.position, variant)
            and isinstance(r.get("fraction"), int | float)
        ):
            return float(r["fraction"])
    return None


def scales_context(view: RunView, figs: Figures) -> list[dict[str, Any]] | None:
    layers = sorted({int(r["layer"]) for r in view.scales if isinstance(r.get("layer"), int)})
    out = []
    for layer in layers:
        fig = figs.add(
            f"fig-scales-{layer}",
            read_figures.scales_figure(view.scales, view.readers, layer, view.bos_at_0),
        )
        if fig:
            out.append({"layer": layer, "figure": fig})
    return out or None


def norms_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    fig = figs.add("fig-norms", read_figures.norms_figure(view.summary))
    if fig is None:
        return None
    return {"figure": fig}


def weights_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    """The weight-directions reader's profile of where the finetune wrote."""
    fig = figs.add("fig-weights", read_figures.weights_figure(view.weights))
    if fig is None:
        return None
    top = max(view.weights, key=lambda r: float(r.get("norm") or 0.0))
    return {"figure": fig, "top": f"{top.get('module')} at layer {top.get('layer')}"}
