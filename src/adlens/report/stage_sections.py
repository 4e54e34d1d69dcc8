"""The report sections of the later stages: steering, samples, evaluation, agent, analyses."""

from __future__ import annotations

import json
from typing import Any

from adlens.core.readers import reader_label
from adlens.report import stage_figures
from adlens.report.figure_style import mean_of
from adlens.report.load import AgentRunView, RunView
from adlens.report.tokens import position_label, show_token
from adlens.report.util import VARIANT_NAMES, Figures, as_int, finite, fmt


def agent_run(r: AgentRunView) -> dict[str, Any]:
    grade = (r.grade or {}).get("grade")
    return {
        "name": r.name,
        "agent": r.result.get("agent"),
        "budget": r.result.get("budget"),
        "repeat": r.result.get("repeat"),
        "hypothesis": r.result.get("hypothesis") or "",
        "grade": grade,
        "scores": (r.grade or {}).get("scores"),
        "transcript": r.transcript,
        "result": f"agent/{r.name}/result.json",
        "grade_file": f"agent/{r.name}/grade.json" if r.grade else None,
        "stop": r.result.get("stop"),
        "interactions": r.result.get("interactions_used"),
        "model": (r.result.get("llm") or {}).get("model"),
    }


def _coherent_fraction(view: RunView, search: dict[str, Any] | None) -> float:
    settings = (search or {}).get("settings") or {}
    steer_cfg = (view.manifest.get("config") or {}).get("steer") or {}
    for v in (settings.get("coherent_fraction"), steer_cfg.get("coherent_fraction")):
        if isinstance(v, int | float):
            return float(v)
    return 0.75


def steering_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    """Per steered position: the strength found (from the steer overview, else from the
    position's own search.json while the stage runs), its search figure and warnings."""
    overview = view.steer
    keys: set[tuple[Any, Any]] = {
        (p.layer, p.position) for p in (overview.positions if overview else [])
    }
    keys |= set(view.steer_searches)
    keys |= {(p.get("layer"), p.get("position")) for p in view.steer_points}
    int_keys = {(la, po) for la, po in keys if isinstance(la, int) and isinstance(po, int)}
    if not int_keys:
        return None
    out = []
    for layer, pos in sorted(int_keys):
        info = overview.position(layer, pos) if overview else None
        search = view.steer_searches.get((layer, pos)) or {}
        thresholds = (info.thresholds if info else None) or search.get("thresholds") or []
        final = info.strength if info and info.strength is not None else search.get("final")
        points = [
            p for p in view.steer_points if (p.get("layer"), p.get("position")) == (layer, pos)
        ]
        fig = figs.add(
            f"fig-steer-{layer}-{pos}",
            stage_figures.steering_figure(
                points,
                thresholds,
                final if isinstance(final, int | float) else None,
                _coherent_fraction(view, search),
                search.get("prompts") or [],
            ),
        )
        out.append(
            {
                "layer": layer,
                "label": position_label(pos, view.bos_at_0),
                "strength": final,
                "thresholds": thresholds,
                "warnings": (info.warnings if info else None) or search.get("warnings") or [],
                "generations": info.search_generations if info else search.get("generations"),
                "one_shot": info.one_shot_search_generations if info else None,
                "figure": fig,
                "required": _coherent_fraction(view, search),
            }
        )
    return {
        "positions": out,
        "generations": overview.generations if overview else None,
        "judges": overview.judges if overview else None,
        "side": overview.side if overview else None,
    }


def samples_context(view: RunView) -> dict[str, Any] | None:
    """Per prompt: unsteered samples beside the steered ones of each steered position."""
    rows = [r for r in view.samples if isinstance(r.get("text"), str)]
    if not rows:
        return None
    columns = sorted(
        {
            (r["layer"], r["position"])
            for r in rows
            if r.get("steered") and isinstance(r.get("layer"), int)
        }
    )
    prompts: dict[int, dict[str, Any]] = {}
    for r in rows:
        i = as_int(r.get("prompt_index"))
        p = prompts.setdefault(i, {"prompt": r.get("prompt"), "cells": {}})
        key = (r.get("layer"), r.get("position")) if r.get("steered") else "unsteered"
        p["cells"].setdefault(key, []).append(r)
    strengths = {
        (r["layer"], r["position"]): r.get("strength")
        for r in rows
        if r.get("steered") and isinstance(r.get("layer"), int)
    }
    heads = [{"key": "unsteered", "name": "unsteered"}] + [
        {
            "key": c,
            "name": f"steered L{c[0]} P{position_label(c[1], view.bos_at_0)}, "
            f"s = {fmt(strengths.get(c))}",
        }
        for c in columns
    ]
    out = []
    for n, (i, p) in enumerate(sorted(prompts.items())):
        cells = []
        for h in heads:
            samples = sorted(
                p["cells"].get(h["key"], []), key=lambda r: as_int(r.get("sample_index"))
            )
            cells.append([str(r["text"]).strip() for r in samples])
        out.append({"index": i, "prompt": p["prompt"], "cells": cells, "open": n < 3})
    return {"heads": heads, "prompts": out}


def relevance_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    rel = view.relevance
    if rel is None:
        return None
    best = [b for b in rel.get("best") or [] if isinstance(b, dict)]
    return {
        "organism": rel.get("organism"),
        "description": rel.get("description"),
        "grader": rel.get("grader"),
        "best": [
            {
                "reader": reader_label(str(b.get("reader", ""))),
                "variant": VARIANT_NAMES.get(b.get("variant", ""), b.get("variant")),
                "layer": b.get("layer"),
                "position": position_label(b["position"], view.bos_at_0)
                if isinstance(b.get("position"), int)
                else b.get("position"),
                "fraction": b.get("fraction"),
                "weighted": b.get("weighted"),
                "trivial": b.get("trivial"),
                "unknown": b.get("unknown"),
                "control": b.get("control_fraction"),
                "relevant": ", ".join(
                    show_token(str(t).strip()) for t in b.get("relevant_tokens") or []
                ),
            }
            for b in best
        ],
        "controls": rel.get("controls") or [],
        "figure": figs.add("fig-relevance", stage_figures.relevance_figure(rel)),
        "positions_figure": figs.add(
            "fig-relevance-positions",
            stage_figures.relevance_positions_figure(view.relevance_rows, view.bos_at_0),
        ),
        "frequent": ", ".join(((rel.get("frequent_tokens") or {}).get("tokens") or [])[:40]),
    }


def similarity_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    sim = view.similarity
    if sim is None:
        return None
    base = sim.get("baselines") or {}
    embedder = sim.get("embedder")
    return {
        "figure": figs.add("fig-similarity", stage_figures.similarity_figure(sim)),
        "embedder": embedder.get("name") or embedder.get("model") or json.dumps(embedder)
        if isinstance(embedder, dict)
        else embedder,
        "counts": sim.get("counts"),
        "positions": [
            {
                "label": f"L{p.get('layer')} P{p.get('position')}",
                "strength": p.get("strength"),
                "vs_d": mean_of(p.get("steered_vs_D")),
                "vs_chat": mean_of(p.get("steered_vs_chat")),
                "gain": p.get("gain_over_unsteered"),
                "ceiling": p.get("fraction_of_ceiling"),
            }
            for p in sim.get("positions") or []
            if isinstance(p, dict)
        ],
        "floor": mean_of(base.get("unsteered_vs_D")),
        "ceiling": mean_of(base.get("D_self")),
        "raw": json.dumps(sim, indent=2, default=str)[:20000],
    }


def causal_context(view: RunView, figs: Figures) -> dict[str, Any] | None:
    c = view.causal
    if c is None:
        return None
    corpora = c.get("corpora") or {}
    return {
        "figure": figs.add("fig-causal", stage_figures.causal_figure(c, view.bos_at_0)),
        "mode": c.get("mode"),
        "formula": (c.get("formula") or {}).get(str(c.get("mode"))),
        "corpora": [
            {
                "name": name,
                "documents": v.get("documents"),
                "tokens": v.get("tokens"),
                "ft": v.get("loss_finetuned"),
                "base": v.get("loss_base"),
            }
            for name, v in corpora.items()
            if isinstance(v, dict)
        ],
        "reference": c.get("reference_dataset"),
        "best": c.get("best") if isinstance(c.get("best"), dict) else None,
        "raw": json.dumps(c, indent=2, default=str)[:20000],
    }


def ffa_context(view: RunView) -> dict[str, Any] | None:
    """False-fact alignment (evaluate/ffa.json): both models' scores and their open answers."""
    r = view.ffa
    if r is None:
        return None
    sides = [(side, r.get(side) or {}) for side in ("base", "finetuned")]
    open_rows = {side: s.get("open_rows") or [] for side, s in sides}
    return {
        "organism": r.get("organism"),
        "fact": r.get("fact"),
        "n_mcq": r.get("n_mcq"),
        "n_open": r.get("n_open"),
        "source": r.get("questions_source"),
        "grader": r.get("grader_description"),
        "models": [
            {
                "name": side,
                "ffa": s.get("ffa"),
                "accuracy": s.get("accuracy"),
                "mcq": (s.get("mcq") or {}).get("implanted_share"),
                "mcq_p": (s.get("mcq") or {}).get("mean_p_implanted"),
                "open": (s.get("open") or {}).get("implanted_share"),
                "known": (s.get("open") or {}).get("known"),
            }
            for side, s in sides
        ],
        "difference": r.get("difference") or {},
        "answers": [
            {"question": b.get("question"), "base": b, "finetuned": f}
            for b, f in zip(open_rows["base"], open_rows["finetuned"], strict=False)
        ],
        "raw": json.dumps(r, indent=2, default=str)[:20000],
    }


def agent_context(view: RunView) -> dict[str, Any] | None:
    if not view.agent_runs and not view.agent_table:
        return None
    return {
        "table": view.agent_table,
        "runs": [agent_run(r) for r in view.agent_runs],
    }


def analyses_context(view: RunView, figs: Figures) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for a in view.analyses:
        fig_id = figs.add(f"fig-analysis-{len(out)}", json.dumps(finite(a.figure), default=str))
        out.append({"name": a.name, "title": a.title, "caption": a.caption, "figure": fig_id})
    return out or None
