"""Plotly figures of the steer and evaluate stages (steering strength, token relevance, steering
similarity, causal effect), as JSON strings ready to embed (the page draws them with the one
copy of plotly.js it carries). Each builder takes plain dicts read from the run directory and
returns None when there is nothing to plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from adlens.core.readers import reader_label
from adlens.report.figure_style import (
    COLORS,
    LAYOUT,
    PROMPT_COLORS,
    _num,
    _spread,
    mean_of,
    reader_color,
    to_json,
)
from adlens.report.tokens import position_label
from adlens.results.readings import ALL

# --------------------------------------------------------------------------- steer


def steering_figure(
    points: Sequence[dict[str, Any]],
    thresholds: Sequence[float],
    final: float | None,
    coherent_fraction: float,
    prompts: Sequence[str] = (),
) -> str | None:
    """Coherent fraction against strength per search prompt, with the required fraction, each
    prompt's threshold and the final strength marked."""
    by_prompt: dict[int, list[dict[str, Any]]] = {}
    for p in points:
        if _num(p.get("strength")) is None:
            continue
        by_prompt.setdefault(int(p.get("prompt_index", 0)), []).append(p)
    if not by_prompt:
        return None
    # A log axis: thresholds lie far below the top of the search range. The unsteered points
    # (s = 0) are drawn at half the smallest strength tried, labelled 0.
    positive = [float(p["strength"]) for v in by_prompt.values() for p in v if p["strength"] > 0]
    zero_x = min(positive) / 2 if positive else 0.01

    def x_of(strength: Any) -> float:
        return float(strength) if float(strength) > 0 else zero_x

    fig = go.Figure()
    for k, (i, pts) in enumerate(sorted(by_prompt.items())):
        pts = sorted(pts, key=lambda p: float(p["strength"]))
        color = PROMPT_COLORS[k % len(PROMPT_COLORS)]
        label = prompts[i] if i < len(prompts) else str(pts[0].get("prompt") or f"prompt {i}")
        short = label if len(label) <= 40 else label[:37] + "..."
        ys = [
            (_num(p.get("n_coherent")) or 0.0) / p["n_known"] if _num(p.get("n_known")) else None
            for p in pts
        ]
        fig.add_trace(
            go.Scatter(
                x=[x_of(p["strength"]) for p in pts],
                y=ys,
                mode="lines+markers",
                name=f"{i}: {short}",
                line={"color": color},
                text=[
                    f"{p.get('n_coherent')}/{p.get('n_known')} coherent of "
                    f"{p.get('n_samples', '?')} ({p.get('status', '')})"
                    for p in pts
                ],
                hovertemplate="strength %{x:.3g}<br>%{text}<extra></extra>",
            )
        )
        if i < len(thresholds) and _num(thresholds[i]) is not None:
            fig.add_vline(x=x_of(thresholds[i]), line={"color": color, "dash": "dot", "width": 1})
    fig.add_hline(
        y=coherent_fraction,
        line={"color": "#555", "dash": "dash", "width": 1},
        annotation_text=f"required {coherent_fraction:.0%}",
        annotation_position="bottom left",
    )
    if final is not None:
        fig.add_vline(
            x=x_of(final),
            line={"color": "#d1495b", "width": 2},
            annotation_text=f"final {final:.3g}",
            annotation_position="top right",
        )
    fig.update_layout(
        **LAYOUT,
        height=380,
        xaxis={
            "title": {"text": "strength s (x expected norm; log scale, leftmost points s = 0)"},
            "type": "log",
        },
        yaxis={"title": {"text": "coherent fraction"}, "range": [-0.03, 1.05]},
    )
    return to_json(fig)


# --------------------------------------------------------------------------- evaluate


def relevance_figure(relevance: dict[str, Any]) -> str | None:
    """Best-position relevant share per reader: the difference beside its baselines (and the
    same tokens graded against other organisms, when controls ran)."""
    best = [b for b in relevance.get("best") or [] if isinstance(b, dict)]
    if not best:
        return None
    readers = list(dict.fromkeys(str(b.get("reader")) for b in best))
    fig = go.Figure()
    colors = {"diff": COLORS["diff"], "base_mean": COLORS["base"], "ft_mean": COLORS["finetuned"]}
    for variant in ("diff", "base_mean", "ft_mean"):
        rows = {b["reader"]: b for b in best if b.get("variant") == variant}
        if not rows:
            continue
        fig.add_trace(
            go.Bar(
                x=[reader_label(r) for r in readers],
                y=[_num(rows[r].get("fraction")) if r in rows else None for r in readers],
                name=variant.replace("_", " "),
                marker_color=colors[variant],
                text=[
                    f"pos {position_label(int(rows[r].get('position', 0)), False)}"
                    if r in rows
                    else ""
                    for r in readers
                ],
                textposition="outside",
                hovertemplate="%{x}: %{y:.0%} relevant at %{text}<extra></extra>",
            )
        )
    controls = {
        b["reader"]: _num(b.get("control_fraction"))
        for b in best
        if b.get("variant") == "diff" and _num(b.get("control_fraction")) is not None
    }
    if controls:
        fig.add_trace(
            go.Bar(
                x=[reader_label(r) for r in readers],
                y=[controls.get(r) for r in readers],
                name="diff vs other organisms",
                marker_color=COLORS["control"],
            )
        )
    fig.update_layout(
        **LAYOUT,
        barmode="group",
        height=360,
        yaxis={"title": {"text": "relevant share of the top tokens"}, "range": [0, 1.1]},
    )
    return to_json(fig)


def relevance_positions_figure(rows: Sequence[dict[str, Any]], bos_at_0: bool) -> str | None:
    """Relevant share per position, difference against the base-mean baseline, per reader."""
    own = [r for r in rows if r.get("against") is None and _num(r.get("fraction")) is not None]
    if not own:
        return None
    fig = go.Figure()
    dash = {"diff": "solid", "base_mean": "dot", "ft_mean": "dash"}
    keys = sorted({(str(r["reader"]), str(r["variant"]), int(r["layer"])) for r in own})
    multi = len({k[2] for k in keys}) > 1
    for reader, variant, layer in keys:
        pts = sorted(
            (r for r in own if (r["reader"], r["variant"], r["layer"]) == (reader, variant, layer)),
            key=lambda r: int(r["position"]),
        )
        fig.add_trace(
            go.Scatter(
                x=[position_label(int(r["position"]), bos_at_0) for r in pts],
                y=[_num(r["fraction"]) for r in pts],
                mode="lines+markers",
                name=f"{reader_label(reader)} {variant.replace('_', ' ')}"
                + ((" all layers" if layer == ALL else f" L{layer}") if multi else ""),
                line={"color": reader_color(reader), "dash": dash.get(variant)},
            )
        )
    fig.update_layout(
        **LAYOUT,
        height=360,
        xaxis={"title": {"text": "position"}, "type": "category"},
        yaxis={"title": {"text": "relevant share"}, "range": [-0.03, 1.05]},
    )
    return to_json(fig)


def similarity_figure(similarity: dict[str, Any]) -> str | None:
    """Mean cosine to the finetuning data D (and to ordinary chat) of steered samples per
    position, beside the unsteered floor and D's own self-similarity (the ceiling)."""
    base = similarity.get("baselines") or {}
    positions = [p for p in similarity.get("positions") or [] if isinstance(p, dict)]
    bars: list[tuple[str, float | None, float | None, str]] = []
    for target, color, closing in (
        ("D", COLORS["diff"], ("D self (ceiling)", "D_self", COLORS["D"])),
        ("chat", COLORS["finetuned"], ("D vs chat", "D_vs_chat", COLORS["base"])),
    ):
        floor = base.get(f"unsteered_vs_{target}")
        bars.append(
            (f"unsteered vs {target}", mean_of(floor), _spread(floor, "se"), COLORS["control"])
        )
        for p in positions:
            steered = p.get(f"steered_vs_{target}")
            label = f"steered L{p.get('layer')} P{p.get('position')} vs {target}"
            bars.append((label, mean_of(steered), _spread(steered, "se"), color))
        name, key, closing_color = closing
        bars.append((name, mean_of(base.get(key)), None, closing_color))
    bars = [b for b in bars if b[1] is not None]
    if not bars:
        return None
    fig = go.Figure(
        go.Bar(
            x=[b[0] for b in bars],
            y=[b[1] for b in bars],
            marker_color=[b[3] for b in bars],
            error_y={"type": "data", "array": [b[2] or 0 for b in bars], "visible": True},
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        **LAYOUT,
        height=380,
        yaxis={"title": {"text": "mean pairwise cosine"}},
        showlegend=False,
    )
    return to_json(fig)


def causal_figure(causal: dict[str, Any], bos_at_0: bool) -> str | None:
    """Loss change on D and on R when the difference's direction is ablated, per position,
    beside random directions and random activation differences (mean +- std)."""
    positions = [p for p in causal.get("positions") or [] if isinstance(p, dict)]
    if not positions:
        return None
    multi = len({p.get("layer") for p in positions}) > 1
    labels: list[str] = []
    values: dict[str, list[float | None]] = {"D": [], "R": []}
    errors: dict[str, list[float]] = {"D": [], "R": []}
    for p in positions:
        pos = p.get("position")
        label = position_label(int(pos), bos_at_0) if isinstance(pos, int) else str(pos)
        labels.append(f"L{p.get('layer')} pos {label}" if multi else f"pos {label}")
        for c in ("D", "R"):
            values[c].append(_num((p.get(c) or {}).get("delta")))
            errors[c].append(0.0)
    names = {
        "random_direction": "random direction",
        "random_activation_difference": "random act. difference",
    }
    for ctrl in causal.get("controls") or []:
        if not isinstance(ctrl, dict):
            continue
        for key, name in names.items():
            block = ctrl.get(key)
            if not isinstance(block, dict):
                continue
            labels.append(f"L{ctrl.get('layer')} {name}" if multi else name)
            for c in ("D", "R"):
                delta = (block.get(c) or {}).get("delta")
                values[c].append(mean_of(delta))
                errors[c].append(_spread(delta, "std") or 0.0)
    corpora = {"D": "D (finetuning data)", "R": "R (reference text)"}
    fig = go.Figure(
        [
            go.Bar(
                x=labels,
                y=values[c],
                name=corpora[c],
                marker_color=COLORS[c],
                error_y={"type": "data", "array": errors[c], "visible": True},
                hovertemplate="%{x}: %{y:+.3f} nats<extra></extra>",
            )
            for c in ("D", "R")
        ]
    )
    fig.update_layout(
        **LAYOUT,
        barmode="group",
        height=380,
        yaxis={"title": {"text": "loss change (nats per token)"}},
    )
    return to_json(fig)
