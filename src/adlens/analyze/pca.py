"""`pca`: how many directions carry the per-document differences (PROTOCOL §7).

The per-document differences h_F - h_B at the run's layer and positions are streamed over a
bounded sample of the run's reference documents (default 2,000) and kept ([n, k, d] float32,
RUN_DIR/analyze/pca/samples.safetensors). Per position: PCA of the centred [n, d] sample, by
exact SVD (randomized `torch.svd_lowrank` when n * d * min(n, d) is large), the explained
variance ratio of each component, and how much of the mean square difference is the mean
itself. At one position (default: the run's best Patchscope position) the top components are
read with the logit lens and Patchscope, both signs, beside the mean with and without "sink
documents". Signs are fixed so that each component points along the mean difference.

Sink documents: a few documents whose token at the position is an attention sink (a massive
activation, ~100x the usual norm) in one model and not the other give per-document differences
~100x the others; they would take the first component and most of the mean. By default they
are left out of the PCA (`sink_documents`), and their weight is reported.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from adlens.analyze.common import (
    RunContext,
    domain_count,
    figure_dict,
    open_run,
    organism_keywords,
    plotly,
    token_strings,
    unit,
)
from adlens.analyze.readers import read_vectors
from adlens.analyze.stream import document_differences
from adlens.core.activations import SINK_RATIO
from adlens.core.models import ModelPair
from adlens.errors import AdlensError
from adlens.store.rundir import save_tensors

log = logging.getLogger(__name__)

NAME = "pca"
VERSION = 3
EXACT_LIMIT = 5e10  # n * d * min(n, d) above which the SVD is randomized


def pca(x: torch.Tensor, n_components: int = 20, method: str = "auto") -> dict[str, torch.Tensor]:
    """PCA of the rows of x [n, d]: mean [d], components [k, d] (unit rows), singular values
    [k], explained variance ratio [k] (of the total variance, all components), total variance.

    method: "exact" (torch.linalg.svd), "randomized" (torch.svd_lowrank, seeded) or "auto".
    """
    if x.dim() != 2 or x.shape[0] < 2:
        raise AdlensError("PCA needs at least two samples.")
    x = x.double()
    mean = x.mean(0)
    xc = x - mean
    n, d = xc.shape
    k = min(n_components, n, d)
    total = xc.pow(2).sum() / (n - 1)
    if method == "auto":
        method = "exact" if n * d * min(n, d) <= EXACT_LIMIT else "randomized"
    if method == "exact":
        _, s, vh = torch.linalg.svd(xc, full_matrices=False)
        s, comps = s[:k], vh[:k]
    elif method == "randomized":
        with torch.random.fork_rng():
            torch.manual_seed(0)
            _, s, v = torch.svd_lowrank(xc, q=min(k + 10, n, d), niter=6)
        s, comps = s[:k], v[:, :k].T
    else:
        raise AdlensError(f"Unknown PCA method {method!r}; use auto, exact or randomized.")
    # Orient each component along the mean difference.
    sign = torch.where(comps @ mean < 0, -1.0, 1.0).to(comps.dtype)
    comps = comps * sign[:, None]
    var = s.pow(2) / (n - 1)
    return {
        "mean": mean.float(),
        "components": comps.float(),
        "singular_values": s.float(),
        "explained_ratio": (var / total.clamp_min(1e-30)).float(),
        "total_variance": total.float(),
    }


def mean_share(x: torch.Tensor) -> float:
    """||mean||^2 / mean ||x_i||^2: the part of the mean square difference that is shared."""
    x = x.double()
    return float(x.mean(0).pow(2).sum() / x.pow(2).sum(-1).mean().clamp_min(1e-30))


def sink_documents(norms: torch.Tensor, ratio: float = SINK_RATIO) -> torch.Tensor:
    """[n] bool from activation norms [n] or [n, models]: documents where any model's norm at
    a position is `ratio` times its median over documents there. Such a token is an attention
    sink (a massive activation) in that model only; the demo adapter, for one, turns the first
    comma or 'is' of a few percent of documents into one, and those few documents then carry
    most of the mean difference."""
    norms = norms if norms.dim() == 2 else norms[:, None]
    return (norms > ratio * norms.median(0).values).any(-1)


def _samples(
    ctx: RunContext, layer: int, samples: int, batch_size: int, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, k, d] per-document differences and [n, k, 2] norms of h_B, h_F there."""
    labels = ctx.diff.labels
    digest = ctx.digest("pca-samples", VERSION, {"layer": layer, "samples": samples})
    stage = ctx.stages.stage(NAME)
    path = stage / "samples.safetensors"
    if ctx.stages.stage_is_fresh(NAME, digest) and path.is_file():
        t = load_file(str(path))
        return t["diff"], t["norms"]
    pair = ctx.pair()
    if min(labels) < 0:
        raise AdlensError("pca reads plain-text runs; this run read chat template positions.")
    docs = ctx.documents(max(labels) + 1, samples)
    chunks = list(
        document_differences(pair, docs, layer, batch_size=batch_size, show_progress=progress)
    )
    x = torch.cat([c[0] for c in chunks])
    norms = torch.cat([c[1] for c in chunks])
    stage.mkdir(parents=True, exist_ok=True)
    save_tensors({"diff": x, "norms": norms}, path)
    ctx.stages.mark_done(NAME, digest, {"n_docs": x.shape[0], "layer": layer})
    return x, norms


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return round(float(unit(a.double()) @ unit(b.double())), 4)


def position_stats(
    x: torch.Tensor, sinks: torch.Tensor, n_components: int, method: str, drop: bool
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """PCA at one position (on the documents without sink tokens when `drop`), with how much
    the sink documents weigh in the mean and in the variance of all documents."""
    kept = x[~sinks] if drop and int((~sinks).sum()) >= 2 else x
    res = pca(kept, n_components, method)
    evr = res["explained_ratio"]
    all_docs = pca(x, min(5, n_components), method) if kept is not x else res
    mean_all, mean_clean = x.mean(0), x[~sinks].mean(0) if bool((~sinks).any()) else x.mean(0)
    stats = {
        "n_docs": int(kept.shape[0]),
        "sink_documents": int(sinks.sum()),
        "explained_ratio": [round(float(v), 5) for v in evr],
        "top5": round(float(evr[:5].sum()), 4),
        "mean_share": round(mean_share(kept), 4),
        "cos_mean_pc1": round(float(unit(res["mean"]) @ res["components"][0]), 4),
        "all_documents": {
            "pc1": round(float(all_docs["explained_ratio"][0]), 5),
            "top5": round(float(all_docs["explained_ratio"][:5].sum()), 4),
            "mean_norm": round(float(mean_all.norm()), 4),
        },
        "mean_norm_without_sinks": round(float(mean_clean.norm()), 4),
        "cos_mean_all_without_sinks": _cos(mean_all, mean_clean),
    }
    return stats, res


def analyze_pca(
    run_dir: Path | str,
    *,
    layer: int | None = None,
    position: int | None = None,
    samples: int = 2000,
    n_components: int = 20,
    read: int = 5,
    top_k: int = 20,
    patchscope: bool = True,
    organism: Path | str | None = None,
    method: str = "auto",
    drop_sink_documents: bool = True,
    batch_size: int = 64,
    pair: ModelPair | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """PCA of per-document differences; RUN_DIR/analyze/pca.json. With
    `drop_sink_documents`, documents whose token at the position is a secondary attention
    sink in either model (see `sink_documents`) are left out of the PCA; their weight is
    reported either way."""
    ctx = open_run(run_dir, pair)
    layer = ctx.layer(layer)
    position = ctx.best_position(layer) if position is None else position
    if position not in ctx.diff.labels:
        raise AdlensError(f"Position {position} was not collected (collected: {ctx.diff.labels}).")
    keywords = organism_keywords(organism)
    params = {
        "layer": layer,
        "position": position,
        "samples": samples,
        "n_components": n_components,
        "read": read,
        "top_k": top_k,
        "patchscope": patchscope,
        "keywords": keywords,
        "method": method,
        "drop_sink_documents": drop_sink_documents,
    }
    digest, hit = ctx.lookup(NAME, VERSION, params, force)
    if hit:
        return hit
    t0 = time.perf_counter()
    x, norms = _samples(ctx, layer, samples, batch_size, show_progress)
    t_samples = time.perf_counter() - t0
    per_position = []
    chosen: dict[str, torch.Tensor] = {}
    pi_chosen = ctx.diff.labels.index(position)
    for pi, pos in enumerate(ctx.diff.labels):
        sinks = sink_documents(norms[:, pi])
        stats, res = position_stats(x[:, pi], sinks, n_components, method, drop_sink_documents)
        per_position.append({"position": pos, **stats})
        if pi == pi_chosen:
            chosen = res
    sinks = sink_documents(norms[:, pi_chosen])
    means = {
        "mean (all documents)": x[:, pi_chosen].mean(0),
        "mean (without sink documents)": x[~sinks, pi_chosen].mean(0),
    }
    comps = chosen["components"][:read]
    vectors = torch.cat([torch.stack(list(means.values())), comps, -comps])
    li = ctx.diff.layers.index(layer)
    readings = read_vectors(
        ctx.pair(),
        layer,
        vectors,
        n_f=float(ctx.diff.expected_norm["finetuned"][li]),
        top_k=top_k,
        patchscope=patchscope,
    )

    def reading(r: dict[str, Any]) -> dict[str, Any]:
        out = {"logit_lens": r["logit_lens"], "patchscope": r.get("patchscope")}
        out["scale"] = r.get("scale")
        if keywords:
            out["domain_logit_lens"] = domain_count(r["logit_lens"], keywords)
            out["domain_patchscope"] = domain_count(r.get("patchscope") or [], keywords)
        return out

    mean_rows = [
        {"vector": name, "norm": r["norm"], **reading(r)}
        for name, r in zip(means, readings[: len(means)], strict=True)
    ]
    readings = readings[len(means) :]
    mean_dir = unit(chosen["mean"])
    components = []
    for i in range(comps.shape[0]):
        for sign, r in (("+", readings[i]), ("-", readings[i + comps.shape[0]])):
            components.append(
                {
                    "component": i + 1,
                    "sign": sign,
                    "explained_ratio": round(float(chosen["explained_ratio"][i]), 5),
                    "cos_mean": round(float(mean_dir @ comps[i]) * (1 if sign == "+" else -1), 4),
                    **reading(r),
                }
            )
    save_tensors(
        {"components": chosen["components"], "mean": chosen["mean"]},
        ctx.stages.stage(NAME) / f"components_L{layer}_P{position}.safetensors",
    )
    pos_row = per_position[pi_chosen]
    result = {
        "name": NAME,
        "title": f"PCA of per-document differences (layer {layer}, position {position})",
        "caption": _caption(pos_row, components, mean_rows, drop_sink_documents),
        "figure": _figure(per_position, position),
        "config_hash": digest,
        "params": params,
        "layer": layer,
        "position": position,
        "n_docs": int(x.shape[0]),
        "per_position": per_position,
        "means": mean_rows,
        "components": components,
        "seconds": {
            "samples": round(t_samples, 2),
            "total": round(time.perf_counter() - t0, 2),
        },
    }
    return ctx.save(NAME, result)


def _words(row: dict[str, Any], n: int = 6) -> str:
    reader = "patchscope" if row.get("patchscope") else "logit_lens"
    return f"({reader.replace('_', ' ')}) " + " ".join(
        t.strip() or repr(t) for t in token_strings(row[reader], n)
    )


def _caption(
    pos_row: dict[str, Any],
    components: list[dict[str, Any]],
    means: list[dict[str, Any]],
    dropped: bool,
) -> str:
    evr = pos_row["explained_ratio"]
    firsts = ", ".join(f"{100 * v:.1f}%" for v in evr[:5])
    n_sink = pos_row["sink_documents"]
    text = (
        f"{pos_row['n_docs']} documents"
        + (f" ({n_sink} with a sink token here left out)" if dropped and n_sink else "")
        + f". Explained variance of the top components: {firsts} (top 5: "
        f"{100 * pos_row['top5']:.0f}%); the mean is {100 * pos_row['mean_share']:.0f}% of the "
        f"mean square difference; cos(mean, PC1) = {pos_row['cos_mean_pc1']:.2f}."
    )
    if n_sink:
        a = pos_row["all_documents"]
        text += (
            f" With all documents PC1 explains {100 * a['pc1']:.1f}%: the {n_sink} sink "
            f"documents raise the mean's norm from {pos_row['mean_norm_without_sinks']:.1f} to "
            f"{a['mean_norm']:.1f} (cosine of the two means {pos_row['cos_mean_all_without_sinks']:.2f})."
        )
    for m in means:
        text += f" {m['vector'].capitalize()}: {_words(m)}."
    for c in components:
        if c["component"] == 1:
            text += f" PC1{c['sign']}: {_words(c)}."
    return text


def _figure(per_position: list[dict[str, Any]], position: int) -> dict[str, Any]:
    go = plotly()
    fig = go.Figure()
    for p in per_position:
        evr = p["explained_ratio"]
        chosen = p["position"] == position
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(evr) + 1)),
                y=evr,
                mode="lines+markers",
                name=f"position {p['position']}",
                line={"width": 3 if chosen else 1},
                opacity=1.0 if chosen else 0.5,
            )
        )
    fig.update_layout(
        xaxis_title="component",
        yaxis_title="explained variance ratio",
        yaxis_type="log",
        title="PCA of per-document differences",
        width=720,
        height=460,
    )
    return figure_dict(fig)
