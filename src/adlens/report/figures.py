"""Plotly figures of a run, as JSON strings ready to embed (the page draws them with the one
copy of plotly.js it carries). Each builder takes plain dicts read from the run directory and
returns None when there is nothing to plot."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from adlens.report.tokens import position_label, show_token

COLORS = {
    "base": "#5b7fa6",
    "finetuned": "#e07b39",
    "diff": "#2a9d5c",
    "mean_diff": "#8e5ab5",
    "control": "#9aa0a6",
    "D": "#d1495b",
    "R": "#3a86ff",
}
PROMPT_COLORS = ("#2a9d5c", "#e07b39", "#5b7fa6", "#8e5ab5", "#d1495b", "#3a86ff")
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
    "font": {"family": "Liberation Sans, DejaVu Sans, Arial, sans-serif", "size": 13},
    "legend": {"orientation": "h", "y": -0.2},
}


def to_json(fig: go.Figure) -> str:
    return pio.to_json(fig, validate=False)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def mean_of(x: Any) -> float | None:
    """A value that may be a number or {"mean": .., ...}."""
    return _num(x.get("mean")) if isinstance(x, dict) else _num(x)


def _spread(x: Any, key: str) -> float | None:
    return _num(x.get(key)) if isinstance(x, dict) else None


def _hover_tokens(tokens: Sequence[Any], n: int = 6) -> str:
    parts = [
        f"{html.escape(show_token(str(t.get('token', ''))))} {_num(t.get('prob')) or 0:.2f}"
        for t in tokens[:n]
        if isinstance(t, dict)
    ]
    return "<br>".join(parts)


# --------------------------------------------------------------------------- read


def scales_figure(
    scales: Sequence[dict[str, Any]],
    readers: Sequence[dict[str, Any]],
    layer: int,
    bos_at_0: bool,
    variant: str = "diff",
) -> str | None:
    """Patchscope scale-choice score per position and scale (heatmap), the chosen scale circled,
    the top tokens of every cell on hover."""
    rows = [r for r in scales if r.get("layer") == layer and r.get("variant") == variant]
    if not rows:
        return None
    positions = sorted({int(r["position"]) for r in rows})
    grid = sorted({float(r["scale"]) for r in rows})
    xs = [f"{s:g}" for s in grid]
    ys = [position_label(p, bos_at_0) for p in positions]
    z: list[list[float | None]] = [[None] * len(grid) for _ in positions]
    text: list[list[str]] = [[""] * len(grid) for _ in positions]
    for r in rows:
        i, j = positions.index(int(r["position"])), grid.index(float(r["scale"]))
        z[i][j] = _num(r.get("score"))
        text[i][j] = f"score {z[i][j] if z[i][j] is not None else '-'}<br>" + _hover_tokens(
            r.get("tokens") or []
        )
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=z,
            text=text,
            hovertemplate="position %{y}, scale %{x}<br>%{text}<extra></extra>",
            colorscale="YlGnBu",
            colorbar={"title": {"text": "score"}},
        )
    )
    chosen = [
        e
        for e in readers
        if e.get("reader") == "patchscope"
        and e.get("variant") == variant
        and e.get("layer") == layer
        and e.get("scale") is not None
    ]
    if chosen:
        fig.add_trace(
            go.Scatter(
                x=[f"{float(e['scale']):g}" for e in chosen],
                y=[position_label(int(e["position"]), bos_at_0) for e in chosen],
                mode="markers",
                marker={
                    "symbol": "circle-open",
                    "size": 22,
                    "color": "#d1495b",
                    "line": {"width": 3},
                },
                name="chosen scale",
                text=[_hover_tokens(e.get("tokens") or []) for e in chosen],
                hovertemplate="chosen: scale %{x}<br>%{text}<extra></extra>",
            )
        )
    fig.update_layout(
        **LAYOUT,
        height=120 + 42 * len(positions),
        xaxis={"title": {"text": "scale s (x expected norm)"}, "type": "category"},
        yaxis={"title": {"text": "position"}, "type": "category", "autorange": "reversed"},
    )
    return to_json(fig)


def norms_figure(summary: dict[str, Any]) -> str | None:
    """Activation norms per position, log scale: the attention sink at position 0 stands out."""
    try:
        per = summary["norms"]["per_position"]
        layers = list(summary["layers"])
        positions = list(summary["positions"])
    except (KeyError, TypeError):
        return None
    expected = (summary.get("norms") or {}).get("expected") or {}
    xs = [position_label(p, bool(summary.get("bos_at_0"))) for p in positions]
    names = {
        "base": "base ||h_B||",
        "finetuned": "finetuned ||h_F||",
        "diff": "||h_F - h_B|| (mean over documents)",
        "mean_diff": "||mean difference d_j||",
    }
    fig = go.Figure()
    multi = len(layers) > 1
    for li, layer in enumerate(layers):
        for key, name in names.items():
            values = per.get(key)
            if not values or li >= len(values):
                continue
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=values[li],
                    mode="lines+markers",
                    name=f"L{layer} {name}" if multi else name,
                    line={"color": COLORS[key], "dash": "solid" if li == 0 else "dot"},
                )
            )
        for side in ("base", "finetuned"):
            vals = expected.get(side) or []
            if li < len(vals) and _num(vals[li]):
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=[vals[li]] * len(xs),
                        mode="lines",
                        name=f"{f'L{layer} ' if multi else ''}expected {side} norm (pos >= 5)",
                        line={"color": COLORS[side], "dash": "dash", "width": 1},
                    )
                )
    if not fig.data:
        return None
    fig.update_layout(
        **LAYOUT,
        height=420,
        xaxis={"title": {"text": "position"}, "type": "category"},
        yaxis={"title": {"text": "mean norm (log)"}, "type": "log"},
    )
    return to_json(fig)


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
                x=[r.replace("_", " ") for r in readers],
                y=[_num(rows[r].get("fraction")) if r in rows else None for r in readers],
                name=variant.replace("_", " "),
                marker_color=colors[variant],
                text=[f"pos {rows[r].get('position')}" if r in rows else "" for r in readers],
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
                x=[r.replace("_", " ") for r in readers],
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
    reader_colors = {"patchscope": COLORS["diff"], "logit_lens": COLORS["mean_diff"]}
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
                name=f"{reader.replace('_', ' ')} {variant.replace('_', ' ')}"
                + (f" L{layer}" if multi else ""),
                line={"color": reader_colors.get(reader, "#555"), "dash": dash.get(variant)},
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
    bars.append(
        (
            "unsteered vs D",
            mean_of(base.get("unsteered_vs_D")),
            _spread(base.get("unsteered_vs_D"), "se"),
            COLORS["control"],
        )
    )
    for p in positions:
        label = f"L{p.get('layer')} P{p.get('position')}"
        bars.append(
            (
                f"steered {label} vs D",
                mean_of(p.get("steered_vs_D")),
                _spread(p.get("steered_vs_D"), "se"),
                COLORS["diff"],
            )
        )
    bars.append(("D self (ceiling)", mean_of(base.get("D_self")), None, COLORS["D"]))
    bars.append(
        (
            "unsteered vs chat",
            mean_of(base.get("unsteered_vs_chat")),
            _spread(base.get("unsteered_vs_chat"), "se"),
            COLORS["control"],
        )
    )
    for p in positions:
        label = f"L{p.get('layer')} P{p.get('position')}"
        bars.append(
            (
                f"steered {label} vs chat",
                mean_of(p.get("steered_vs_chat")),
                _spread(p.get("steered_vs_chat"), "se"),
                COLORS["finetuned"],
            )
        )
    bars.append(("D vs chat", mean_of(base.get("D_vs_chat")), None, COLORS["base"]))
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
    labels, values = [], {"D": [], "R": []}
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
