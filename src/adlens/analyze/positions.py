"""`positions`: how the mean difference d_j changes with the position j (PROTOCOL §7).

The run reads only k positions (ref 5); this analysis collects the same layers on the same
reference text at positions 0..P-1 (default 64) over a bounded number of documents, into
RUN_DIR/analyze/positions/ (an ordinary collect stage), and compares the d_j by cosine.
Ref finding: only position 0 differs (an attention sink); the rest converge to one direction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from adlens.analyze.common import RunContext, figure_dict, open_run, plotly, unit
from adlens.core.activations import ActivationDiff, attention_sinks
from adlens.core.collect import collect
from adlens.core.models import ModelPair

log = logging.getLogger(__name__)

NAME = "positions"
VERSION = 1


def position_cosines(mean_diff: torch.Tensor) -> torch.Tensor:
    """[L, P, d] -> [L, P, P]: cosine of d_i and d_j per layer."""
    u = unit(mean_diff.double())
    return (u @ u.transpose(-1, -2)).float()


def cosine_summary(
    cos: torch.Tensor, labels: Sequence[int], sinks: set[int], tail_from: int | None = None
) -> dict[str, Any]:
    """Numbers behind the heatmap of one layer's cos [P, P]: mean pairwise cosine off the
    sinks, each sink's mean cosine with the other positions, consecutive cosines, and each
    position's cosine with the mean direction of the late positions (>= tail_from, default P/2),
    which shows where the difference has converged."""
    idx = [i for i, p in enumerate(labels) if p not in sinks]
    sub = cos[idx][:, idx]
    n = len(idx)
    off = (sub.sum() - sub.diagonal().sum()) / max(n * (n - 1), 1)
    tail_from = len(labels) // 2 if tail_from is None else tail_from
    tail = [i for i in idx if i >= tail_from] or idx
    return {
        "sinks": sorted(sinks),
        "mean_cosine_off_sinks": round(float(off), 4),
        "min_cosine_off_sinks": round(float(sub.min()), 4) if n else None,
        "sink_cosine": {
            str(labels[i]): round(float(cos[i, idx].mean()), 4)
            for i, p in enumerate(labels)
            if p in sinks
        },
        "adjacent_cosine": [round(float(cos[i, i + 1]), 4) for i in range(len(labels) - 1)],
        "tail_from": tail_from,
        # cos(u_j, mean of the tail's unit vectors), from the cosines alone
        "cosine_to_tail": [
            round(float(x), 4)
            for x in cos[:, tail].mean(1) / cos[tail][:, tail].mean().clamp_min(1e-12).sqrt()
        ],
    }


def _collect(
    ctx: RunContext, digest: str, positions: int, samples: int, batch_size: int, progress: bool
) -> ActivationDiff:
    stage = ctx.stages.stage(NAME)
    if ctx.stages.stage_is_fresh(NAME, digest):
        return ActivationDiff.load(stage)
    pair = ctx.pair()
    docs = ctx.documents(positions, samples)
    if len(docs) < samples:
        log.warning(
            "positions: only %d documents have %d tokens (of %d seen)",
            len(docs),
            positions,
            docs.n_seen,
        )
    stage.mkdir(parents=True, exist_ok=True)
    (stage / "done.json").unlink(missing_ok=True)
    checkpoint = stage / "partial.safetensors"
    diff = collect(
        pair,
        docs,
        ctx.diff.layers,
        batch_size=batch_size,
        checkpoint=checkpoint,
        checkpoint_tag=digest,
        show_progress=progress,
    )
    diff.save(stage)
    ctx.stages.mark_done(NAME, digest, {"n_docs": diff.n_docs})
    checkpoint.unlink(missing_ok=True)
    return diff


def analyze_positions(
    run_dir: Path | str,
    *,
    positions: int = 64,
    samples: int = 500,
    batch_size: int = 64,
    pair: ModelPair | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Cosine similarity of d_j across positions 0..positions-1; RUN_DIR/analyze/positions.json
    (cosines [layers, P, P] and the numbers of `cosine_summary` per layer)."""
    ctx = open_run(run_dir, pair)
    params = {"positions": positions, "samples": samples}
    digest, hit = ctx.lookup(NAME, VERSION, params, force)
    if hit:
        return hit
    t0 = time.perf_counter()
    diff = _collect(ctx, digest, positions, samples, batch_size, show_progress)
    cos = position_cosines(diff.mean_diff)
    per_layer = []
    for li, layer in enumerate(diff.layers):
        sinks = attention_sinks(diff.pos_norm_base[li].tolist(), diff.labels)
        per_layer.append(
            {
                "layer": layer,
                **cosine_summary(cos[li], diff.labels, sinks),
                "norm_mean_diff": [round(float(x), 4) for x in diff.mean_diff[li].norm(dim=-1)],
                "norm_base": [round(float(x), 4) for x in diff.pos_norm_base[li]],
            }
        )
    first = per_layer[0]
    result = {
        "name": NAME,
        "title": "Cosine similarity of the mean difference across positions",
        "caption": _caption(first, diff),
        "figure": _figure(cos, diff),
        "config_hash": digest,
        "params": params,
        "layers": diff.layers,
        "labels": diff.labels,
        "bos_at_0": diff.bos_at_0,
        "n_docs": diff.n_docs,
        "cosine": [[[round(float(x), 4) for x in row] for row in m] for m in cos],
        "per_layer": per_layer,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return ctx.save(NAME, result)


def _caption(first: dict[str, Any], diff: ActivationDiff) -> str:
    sinks = first["sinks"]
    text = (
        f"Layer {first['layer']}, {diff.n_docs} documents, positions 0..{len(diff.labels) - 1}"
        + (" (BOS at 0)" if diff.bos_at_0 else " (no BOS: position 0 is the first word)")
        + f". Mean pairwise cosine off the attention sinks: {first['mean_cosine_off_sinks']:.2f}"
    )
    if sinks:
        cos = ", ".join(f"{p}: {c:.2f}" for p, c in first["sink_cosine"].items())
        text += f"; sink positions {sinks} against the rest: {cos}"
    return text + "."


def _figure(cos: torch.Tensor, diff: ActivationDiff) -> dict[str, Any]:
    go = plotly()
    labels = [str(p) for p in diff.labels]
    fig = go.Figure(
        go.Heatmap(
            z=cos[0].tolist(),
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            colorbar={"title": "cosine"},
        )
    )
    fig.update_layout(
        xaxis_title="position",
        yaxis_title="position",
        yaxis_autorange="reversed",
        title=f"cos(d_i, d_j), layer {diff.layers[0]}",
        width=640,
        height=600,
    )
    return figure_dict(fig)
