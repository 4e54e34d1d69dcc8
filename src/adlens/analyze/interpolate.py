"""`interpolate`: readability of the difference along B + a(F - B) (PROTOCOL §7).

At each a the finetuned side of the pair becomes B + a(F - B): a full finetune's weights are
interpolated parameter by parameter; a LoRA adapter's scaling is multiplied by a (W + a s BA is
exactly B + a(F - B) in weight space). a = 1 is F itself, a = 0 is B, a > 1 extrapolates. At
each a a small difference is collected on the run's reference text (default 300 documents) and
read with the logit lens and Patchscope in the interpolated model, exactly as the run reads F.
Reported per a: cos(d_a, d_1), ||d_a|| / ||d_1||, top-token overlap with a = 1, and domain
tokens when an organism with domain_keywords is given. Patchscope uses the run's expected norm
of F at every a, so only the direction of d_a changes what is patched.

The model is restored exactly afterwards: original tensors are swapped back, never recomputed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from adlens.analyze.common import (
    RunContext,
    domain_count,
    figure_dict,
    open_run,
    organism_keywords,
    overlap,
    plotly,
)
from adlens.core.activations import ActivationDiff
from adlens.core.collect import collect
from adlens.core.lens import logit_lens
from adlens.core.models import ModelPair
from adlens.core.patchscope import patchscope as run_patchscope
from adlens.core.readers import reader_label
from adlens.core.tokenization import TokenizedDocs
from adlens.errors import AdlensError
from adlens.results.readings import Reading, TokenProb
from adlens.store.rundir import read_json, write_json

log = logging.getLogger(__name__)

NAME = "interpolate"
VERSION = 1
DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)


@contextlib.contextmanager
def interpolated(pair: ModelPair, alpha: float) -> Iterator[ModelPair]:
    """The pair with its finetuned side at B + alpha (F - B), restored exactly on exit."""
    if alpha == 1.0:
        yield pair
    elif pair.is_adapter:
        with _scaled_adapter(pair, alpha):
            yield pair
    else:
        with _interpolated_weights(pair, alpha):
            yield pair


@contextlib.contextmanager
def _scaled_adapter(pair: ModelPair, alpha: float) -> Iterator[None]:
    from peft.tuners.lora.layer import LoraLayer

    layers = [m for m in pair.finetuned.modules() if isinstance(m, LoraLayer)]
    if not layers:
        raise AdlensError("The adapter has no LoRA layers: cannot scale it.")
    if any(any(m.use_dora.values()) for m in layers):
        raise AdlensError("DoRA adapters are not linear in their scale: cannot interpolate.")
    saved = [(m, dict(m.scaling)) for m in layers]
    merged = pair._merged  # merged weights cache the scaling: start empty, put them back after
    pair._merged = {}
    try:
        for m, scaling in saved:
            for name, s in scaling.items():
                m.scaling[name] = s * alpha
        yield
    finally:
        for m, scaling in saved:
            m.scaling.clear()
            m.scaling.update(scaling)
        pair._merged = merged


@contextlib.contextmanager
def _interpolated_weights(pair: ModelPair, alpha: float) -> Iterator[None]:
    assert pair.base_model is not None
    base = dict(pair.base_model.named_parameters())
    saved: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for name, p in pair.finetuned.named_parameters():
                if name not in base or base[name].shape != p.shape:
                    raise AdlensError(f"Base and finetuned models differ in parameter {name}.")
                b = base[name].data.to(p.device, torch.float32)
                new = (b + alpha * (p.data.float() - b)).to(p.dtype)
                saved.append((p, p.data))
                p.data = new
        yield
    finally:
        for p, original in saved:
            p.data = original


def _alpha_stage(a: float) -> str:
    return f"{NAME}/a-{a:g}"


def _point(
    ctx: RunContext,
    a: float,
    docs: TokenizedDocs | None,
    digest: str,
    *,
    top_k: int,
    patchscope: bool,
    batch_size: int,
    progress: bool,
) -> tuple[ActivationDiff, list[Reading]]:
    """The difference and its readings at one a (cached in analyze/interpolate/a-<a>/)."""
    stage = ctx.stages.stage(_alpha_stage(a))
    if ctx.stages.stage_is_fresh(_alpha_stage(a), digest):
        rows = read_json(stage / "entries.json")
        return ActivationDiff.load(stage), [Reading.model_validate(r) for r in rows]
    assert docs is not None
    pair = ctx.pair()
    stage.mkdir(parents=True, exist_ok=True)
    (stage / "done.json").unlink(missing_ok=True)
    log.info("interpolate: a = %g", a)
    with interpolated(pair, a):
        diff = collect(pair, docs, ctx.diff.layers, batch_size=batch_size, show_progress=progress)
        diff.expected_norm = {k: v.clone() for k, v in ctx.diff.expected_norm.items()}
        readings = logit_lens(pair, diff, top_k=top_k, heads=("finetuned",), variants=("diff",))
        if patchscope:
            readings += run_patchscope(pair, diff, variants=("diff",), top_k=top_k)[0]
    diff.save(stage)
    write_json(stage / "entries.json", [r.to_json() for r in readings])
    ctx.stages.mark_done(_alpha_stage(a), digest, {"alpha": a, "n_docs": diff.n_docs})
    return diff, readings


def analyze_interpolate(
    run_dir: Path | str,
    *,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    samples: int = 300,
    top_k: int = 20,
    patchscope: bool = True,
    organism: Path | str | None = None,
    batch_size: int = 64,
    pair: ModelPair | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Readability along B + a(F - B); RUN_DIR/analyze/interpolate.json."""
    ctx = open_run(run_dir, pair)
    alphas = sorted({float(a) for a in alphas} | {1.0})
    keywords = organism_keywords(organism)
    params = {
        "alphas": alphas,
        "samples": samples,
        "top_k": top_k,
        "patchscope": patchscope,
        "keywords": keywords,
    }
    digest, hit = ctx.lookup(NAME, VERSION, params, force)
    if hit:
        return hit
    t0 = time.perf_counter()
    digests = {
        a: ctx.digest(
            _alpha_stage(a),
            VERSION,
            {"alpha": a, "samples": samples, "top_k": top_k, "patchscope": patchscope},
        )
        for a in alphas
    }
    todo = [
        a for a in alphas if force or not ctx.stages.stage_is_fresh(_alpha_stage(a), digests[a])
    ]
    docs = ctx.documents(ctx.config.collect.positions, samples) if todo else None
    if force:
        for a in alphas:
            (ctx.stages.stage(_alpha_stage(a)) / "done.json").unlink(missing_ok=True)
    points = {
        a: _point(
            ctx,
            a,
            docs,
            digests[a],
            top_k=top_k,
            patchscope=patchscope,
            batch_size=batch_size,
            progress=show_progress,
        )
        for a in alphas
    }
    # the readers of a = 1, in the order they read (the logit lens, then Patchscope)
    readers = list(dict.fromkeys(r.reader for r in points[1.0][1]))
    rows = _rows(ctx, points, readers, keywords, top_k)
    curve = _curve(rows, alphas, readers)
    ref = points[1.0][0]
    cos_run = torch.nn.functional.cosine_similarity(ref.mean_diff, ctx.diff.mean_diff, dim=-1)
    result = {
        "name": NAME,
        "title": "Readability along the interpolation B + a(F - B)",
        "caption": _caption(curve, ref.n_docs, bool(keywords)),
        "figure": _figure(curve, readers, bool(keywords)),
        "config_hash": digest,
        "params": params,
        "adapter": bool(ctx.manifest.get("models", {}).get("adapter")),
        "n_docs": ref.n_docs,
        "cos_with_run": [[round(float(x), 4) for x in row] for row in cos_run],
        "curve": curve,
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return ctx.save(NAME, result)


def _rows(
    ctx: RunContext,
    points: dict[float, tuple[ActivationDiff, list[Reading]]],
    readers: list[str],
    keywords: list[str],
    top_k: int,
) -> list[dict[str, Any]]:
    def lists(readings: list[Reading]) -> dict[tuple, list[TokenProb]]:
        return {(r.reader, r.layer, r.position): r.tokens for r in readings}

    ref_diff, ref_entries = points[1.0]
    ref_lists = lists(ref_entries)
    rows = []
    for a, (diff, entries) in points.items():
        mine = lists(entries)
        for li, layer in enumerate(diff.layers):
            sinks = ctx.sinks(layer)
            for pi, pos in enumerate(diff.labels):
                d, d1 = diff.mean_diff[li, pi], ref_diff.mean_diff[li, pi]
                row: dict[str, Any] = {
                    "alpha": a,
                    "layer": layer,
                    "position": pos,
                    "sink": pos in sinks,
                    "norm": round(float(d.norm()), 6),
                    "norm_ratio": round(float(d.norm() / d1.norm().clamp_min(1e-12)), 4),
                    "cos_a1": round(float(torch.nn.functional.cosine_similarity(d, d1, dim=0)), 4),
                }
                for reader in readers:
                    key = (reader, layer, pos)
                    if key not in mine:
                        continue
                    row[f"{reader}_overlap_a1"] = round(
                        overlap(mine[key], ref_lists[key], top_k), 4
                    )
                    row[f"{reader}_top"] = [t.token for t in mine[key][:10]]
                    if keywords:
                        row[f"{reader}_domain"] = domain_count(mine[key][:top_k], keywords)
                rows.append(row)
    return rows


def _curve(
    rows: list[dict[str, Any]], alphas: list[float], readers: list[str]
) -> list[dict[str, Any]]:
    """Per a: means over the non-sink positions, and the best position's domain tokens (per
    reader)."""
    out = []
    for a in alphas:
        mine = [r for r in rows if r["alpha"] == a and not r["sink"]] or [
            r for r in rows if r["alpha"] == a
        ]
        point: dict[str, Any] = {"alpha": a}
        for key in ("cos_a1", "norm_ratio", *(f"{r}_overlap_a1" for r in readers)):
            vals = [r[key] for r in mine if key in r]
            if vals:
                point[key] = round(sum(vals) / len(vals), 4)
        for key in (f"{r}_domain" for r in readers):
            vals = [r[key] for r in mine if r.get(key) is not None]
            if vals:
                point[f"{key}_best"] = max(vals)
        out.append(point)
    return out


def _caption(curve: list[dict[str, Any]], n_docs: int, with_domain: bool) -> str:
    parts = []
    for p in curve:
        s = f"a={p['alpha']:g}: cos {p.get('cos_a1', float('nan')):.2f}"
        if "patchscope_overlap_a1" in p:
            s += f", Patchscope overlap {p['patchscope_overlap_a1']:.2f}"
        if with_domain and "patchscope_domain_best" in p:
            s += f", {p['patchscope_domain_best']} domain tokens"
        parts.append(s)
    return (
        f"{n_docs} documents per point; means over the non-sink positions, compared with a = 1. "
        + "; ".join(parts)
        + "."
    )


def _figure(curve: list[dict[str, Any]], readers: list[str], with_domain: bool) -> dict[str, Any]:
    from plotly.subplots import make_subplots

    go = plotly()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = [p["alpha"] for p in curve]
    names = {"cos_a1": "cos(d_a, d_1)"} | {
        f"{r}_overlap_a1": f"{reader_label(r)} overlap with a=1" for r in readers
    }
    for key, label in names.items():
        if any(key in p for p in curve):
            fig.add_trace(
                go.Scatter(x=x, y=[p.get(key) for p in curve], mode="lines+markers", name=label)
            )
    if with_domain:
        for key, label in (
            (f"{r}_domain_best", f"domain tokens, {reader_label(r)}") for r in readers
        ):
            if any(key in p for p in curve):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=[p.get(key) for p in curve],
                        mode="lines+markers",
                        name=label,
                        line={"dash": "dot"},
                    ),
                    secondary_y=True,
                )
        fig.update_yaxes(title_text="domain tokens in the top list", secondary_y=True)
    fig.update_xaxes(title_text="a (0 = base, 1 = finetuned)")
    fig.update_yaxes(title_text="similarity to a = 1", secondary_y=False)
    fig.update_layout(title="Readability along B + a(F - B)", width=760, height=460)
    return figure_dict(fig)
