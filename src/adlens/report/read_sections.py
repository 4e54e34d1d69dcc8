"""The report sections of collect and read: the first screen, the run, tokens per position,
Patchscope scales, norms."""

from __future__ import annotations

import json
from typing import Any

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
from adlens.report.util import READER_NAMES, Figures, as_int, fmt, short_name


def token_chips(
    tokens: list[dict[str, Any]], verdicts: dict[str, bool | None] | None, n: int = 20
) -> list[dict[str, Any]]:
    out = []
    for t in tokens[:n]:
        if not isinstance(t, dict):
            continue
        tok = str(t.get("token", ""))
        prob = t.get("prob")
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


def _prob(p: Any) -> str:
    try:
        v = float(p)
    except (TypeError, ValueError):
        return ""
    return "<.01" if v < 0.005 else f"{v:.2f}".lstrip("0")


def headline_context(
    view: RunView, h: Headline | None, verdicts: dict[tuple[str, int, int, str], Any]
) -> dict[str, Any] | None:
    if h is None:
        return None
    models = view.summary.get("models") or {}
    key = (h.reader, h.layer, h.position, "diff")
    base_key = (h.reader, h.layer, h.position, "base_mean")
    described = [READER_NAMES.get(h.reader, h.reader) + " of the activation difference"]
    described.append(f"layer {h.layer}")
    described.append(f"position {position_label(h.position, view.bos_at_0)}")
    if h.entry.get("scale") is not None:
        described.append(f"scale {fmt(h.entry['scale'])}")
    baseline_scale = (h.baseline or {}).get("scale")
    return {
        "what": " · ".join(described),
        "how": h.how,
        "cloud": cloud(h.entry.get("tokens") or [], verdicts.get(key)),
        "baseline": cloud(
            (h.baseline or {}).get("tokens") or [], verdicts.get(base_key), max_px=30, min_px=12
        )
        if h.baseline
        else None,
        "baseline_what": "base-mean baseline: the base model's mean activation read in the base "
        "model, same reader"
        + (f", scale {fmt(baseline_scale)}" if baseline_scale is not None else ""),
        "fraction": h.fraction,
        "baseline_fraction": h.baseline_fraction,
        "graded": bool(verdicts.get(key)),
        "base": short_name(models.get("base")),
        "finetuned": short_name(models.get("finetuned")),
        "adapter": models.get("adapter"),
        "dataset": view.summary.get("dataset"),
        "documents": (view.summary.get("counts") or {}).get("documents"),
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
    models = {**(s.get("models") or {}), **(m.get("models") or {})}
    counts = {**(s.get("counts") or {}), **(m.get("counts") or {})}
    bos = (
        "position 0 is the BOS token"
        if view.bos_at_0
        else "this tokenizer puts no BOS token at position 0"
    )
    dataset = m.get("dataset") if isinstance(m.get("dataset"), dict) else None
    return {
        "models": [(k, v) for k, v in models.items() if v is not None],
        "dataset": s.get("dataset"),
        "dataset_detail": dataset,
        "layers": s.get("layers"),
        "positions": [position_label(p, view.bos_at_0) for p in s.get("positions") or []],
        "bos": bos,
        "counts": list(counts.items()),
        "notes": [str(n) for n in s.get("notes") or []]
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
    layer_ids = [e.get("layer") for e in view.readers]
    layers = sorted({la for la in layer_ids if isinstance(la, int)})
    if not layers:
        return None
    out = []
    for layer in layers:
        sinks = sink_positions(view.summary, layer)
        tables = []
        for reader, head in (
            ("patchscope", None),
            ("logit_lens", "finetuned"),
            ("logit_lens", "base"),
        ):
            mine = [
                e
                for e in view.readers
                if e.get("reader") == reader
                and e.get("layer") == layer
                and (head is None or e.get("head", "finetuned") == head)
            ]
            if not mine:
                continue
            rows: list[dict[str, Any]] = []
            for pos in sorted({e["position"] for e in mine}):
                cells = {}
                for variant in ("diff", "base_mean", "ft_mean", "base_mean_in_ft", "neg_diff"):
                    e = next(
                        (x for x in mine if x["position"] == pos and x.get("variant") == variant),
                        None,
                    )
                    if e is None:
                        continue
                    cells[variant] = {
                        "scale": e.get("scale"),
                        "pooled": bool(e.get("pooled")),
                        "score": e.get("scale_score"),
                        "chips": token_chips(
                            e.get("tokens") or [], verdicts.get((reader, layer, pos, variant))
                        ),
                    }
                rows.append(
                    {
                        "label": position_label(pos, view.bos_at_0),
                        "sink": pos in sinks,
                        "cells": cells,
                    }
                )
            name = READER_NAMES[reader] + (f" ({head} head)" if head else "")
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
        out.append({"layer": layer, "tables": tables})
    return out


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
