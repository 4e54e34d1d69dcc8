"""Plotly figures of the read stage (Patchscope scale curves, activation-difference norms), as
JSON strings ready to embed; None when there is nothing to plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from adlens.report.figure_style import COLORS, LAYOUT, _hover_tokens, _num, to_json
from adlens.report.tokens import position_label
from adlens.results.readings import Reading, select
from adlens.results.summary import Summary


def scales_figure(
    scales: Sequence[dict[str, Any]],
    readers: Sequence[Reading],
    layer: int,
    bos_at_0: bool,
    variant: str = "diff",
) -> str | None:
    """Patchscope scale-choice score per position and scale (heatmap), the chosen scale circled,
    the top tokens of every cell on hover. `scales` are Patchscope's per-scale rows
    (read/patchscope_scales.jsonl), `readers` the run's readings (Patchscope's give the chosen
    scales)."""
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
    chosen = [e for e in select(readers, "patchscope", variant, layer) if e.scale is not None]
    if chosen:
        fig.add_trace(
            go.Scatter(
                x=[f"{e.scale:g}" for e in chosen],
                y=[position_label(e.position, bos_at_0) for e in chosen],
                mode="markers",
                marker={
                    "symbol": "circle-open",
                    "size": 22,
                    "color": "#d1495b",
                    "line": {"width": 3},
                },
                name="chosen scale",
                text=[_hover_tokens(e.tokens) for e in chosen],
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


def norms_figure(summary: Summary) -> str | None:
    """Activation norms per position, log scale: the attention sink at position 0 stands out."""
    per = summary.norms.per_position
    layers, positions = summary.layers, summary.positions
    expected = summary.norms.expected
    xs = [position_label(p, summary.bos_at_0) for p in positions]
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


def weights_figure(profile: Sequence[dict[str, Any]]) -> str | None:
    """Where the finetune wrote: the norm of each module's weight change per layer, stacked by
    module (read/weights_profile.jsonl of the weight-directions reader)."""
    rows = [r for r in profile if isinstance(r.get("layer"), int) and _num(r.get("norm"))]
    if not rows:
        return None
    layers = sorted({int(r["layer"]) for r in rows})
    fig = go.Figure()
    for module in sorted({str(r.get("module")) for r in rows}):
        norms = {int(r["layer"]): _num(r["norm"]) for r in rows if r.get("module") == module}
        fig.add_trace(go.Bar(x=layers, y=[norms.get(layer) for layer in layers], name=module))
    fig.update_layout(
        **LAYOUT,
        barmode="stack",
        height=360,
        xaxis={"title": {"text": "layer"}},
        yaxis={"title": {"text": "||weight change|| (Frobenius)"}},
    )
    return to_json(fig)
