"""`decode`: read d_j after removing what all positions share, and after whitening (PROTOCOL §7).

- centred: d_j - mean_j' d_j', the mean over the run's positions with attention sinks left out
  (a sink's huge difference would otherwise dominate the mean).
- whitened: Σ^{-1/2} d_j (ZCA), Σ the covariance of the base model's activations at the layer
  (every token at positions >= norm_skip of a bounded sample of the run's reference text), shrunk
  towards a multiple of the identity: Σ_s = (1 - λ) Σ + λ tr(Σ)/d I (λ = 0.1). ZCA rather than
  Σ^{-1}: it is the whitening closest to the identity, so the result stays in the residual basis
  the logit lens and Patchscope read, and it divides each direction by its standard deviation
  once (Σ^{-1} would divide twice, the Fisher direction, a read-out weight rather than a
  residual vector). Outlier dimensions with huge variance stop dominating the difference.
  `method="inverse"` gives Σ^{-1} d for comparison. Whitened vectors are rescaled to the norm
  of the input (the readers are scale-free; the norms stay comparable).
- centred + whitened: both.
Each is read with the logit lens (finetuned head) and Patchscope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
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
)
from adlens.analyze.readers import read_vectors
from adlens.analyze.stream import activation_moments
from adlens.core.data import iter_documents
from adlens.core.models import ModelPair
from adlens.core.tokenization import tokenize_for_norms
from adlens.errors import AdlensError
from adlens.store.rundir import save_tensors

log = logging.getLogger(__name__)

NAME = "decode"
VERSION = 1
METHODS = ("raw", "centred", "whitened", "centred_whitened")


def subtract_position_mean(
    d: torch.Tensor, labels: Sequence[int], exclude: set[int] | frozenset[int] = frozenset()
) -> torch.Tensor:
    """d [P, dim] minus the mean of its rows at the positions not in `exclude`."""
    keep = [i for i, p in enumerate(labels) if p not in exclude]
    if not keep:
        raise AdlensError("Every position is excluded from the mean.")
    return d - d[keep].mean(0, keepdim=True)


def whitening_matrix(
    cov: torch.Tensor, shrinkage: float = 0.1, method: str = "zca"
) -> torch.Tensor:
    """Σ_s^{-1/2} ("zca") or Σ_s^{-1} ("inverse") of Σ_s = (1 - λ) cov + λ tr(cov)/d I."""
    if not 0.0 <= shrinkage <= 1.0:
        raise AdlensError(f"shrinkage must be in [0, 1] (got {shrinkage}).")
    cov = cov.double()
    dim = cov.shape[0]
    target = torch.trace(cov) / dim * torch.eye(dim, dtype=cov.dtype)
    shrunk = (1 - shrinkage) * cov + shrinkage * target
    w, v = torch.linalg.eigh((shrunk + shrunk.T) / 2)
    w = w.clamp_min(w.max() * 1e-12)
    if method == "zca":
        power = w.rsqrt()
    elif method == "inverse":
        power = 1.0 / w
    else:
        raise AdlensError(f"Unknown whitening {method!r}; use zca or inverse.")
    return (v * power) @ v.T


def whiten(vectors: torch.Tensor, matrix: torch.Tensor, keep_norm: bool = True) -> torch.Tensor:
    """matrix @ v for each row of vectors [n, d] (matrix symmetric), optionally rescaled to the
    row's own norm."""
    out = vectors.double() @ matrix.T
    if keep_norm:
        scale = vectors.double().norm(dim=-1, keepdim=True) / out.norm(dim=-1, keepdim=True)
        out = out * torch.nan_to_num(scale)
    return out.float()


def _covariance(
    ctx: RunContext, layer: int, docs: int, tokens: int, progress: bool
) -> tuple[torch.Tensor, int]:
    skip = ctx.config.collect.norm_skip
    digest = ctx.digest(
        "base-covariance", VERSION, {"layer": layer, "docs": docs, "tokens": tokens}
    )
    stage = ctx.stages.stage(NAME)
    path = stage / f"base_covariance_L{layer}.safetensors"
    if ctx.stages.stage_is_fresh(NAME, digest) and path.is_file():
        t = load_file(str(path))
        return t["cov"].double(), int(t["count"][0])
    pair = ctx.pair()
    ids, mask = tokenize_for_norms(
        pair.tokenizer, iter_documents(ctx.dataset), n_docs=docs, max_tokens=tokens, skip=skip
    )
    _, cov, count = activation_moments(pair, ids, mask, layer, skip=skip, show_progress=progress)
    stage.mkdir(parents=True, exist_ok=True)
    save_tensors({"cov": cov, "count": torch.tensor([count])}, path)
    ctx.stages.mark_done(NAME, digest, {"tokens": count, "layer": layer})
    return cov, count


def analyze_decode(
    run_dir: Path | str,
    *,
    layer: int | None = None,
    shrinkage: float = 0.1,
    method: str = "zca",
    cov_docs: int = 256,
    cov_tokens: int = 64,
    top_k: int = 20,
    patchscope: bool = True,
    organism: Path | str | None = None,
    pair: ModelPair | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Mean-subtracted and whitened decodings of the run's d_j; RUN_DIR/analyze/decode.json."""
    ctx = open_run(run_dir, pair)
    layer = ctx.layer(layer)
    keywords = organism_keywords(organism)
    params = {
        "layer": layer,
        "shrinkage": shrinkage,
        "method": method,
        "cov_docs": cov_docs,
        "cov_tokens": cov_tokens,
        "top_k": top_k,
        "patchscope": patchscope,
        "keywords": keywords,
    }
    digest, hit = ctx.lookup(NAME, VERSION, params, force)
    if hit:
        return hit
    t0 = time.perf_counter()
    li = ctx.diff.layers.index(layer)
    labels = ctx.diff.labels
    sinks = ctx.sinks(layer)
    raw = ctx.diff.mean_diff[li]
    centred = subtract_position_mean(raw, labels, sinks)
    cov, n_tokens = _covariance(ctx, layer, cov_docs, cov_tokens, show_progress)
    t_cov = time.perf_counter() - t0
    matrix = whitening_matrix(cov, shrinkage, method)
    variants = {
        "raw": raw,
        "centred": centred,
        "whitened": whiten(raw, matrix),
        "centred_whitened": whiten(centred, matrix),
    }
    keys = [(m, pi) for m in METHODS for pi in range(len(labels))]
    vectors = torch.stack([variants[m][pi] for m, pi in keys])
    readings = read_vectors(
        ctx.pair(),
        layer,
        vectors,
        n_f=float(ctx.diff.expected_norm["finetuned"][li]),
        top_k=top_k,
        patchscope=patchscope,
    )
    rows = []
    for (m, pi), r in zip(keys, readings, strict=True):
        row = {
            "position": labels[pi],
            "method": m,
            "sink": labels[pi] in sinks,
            "norm": r["norm"],
            "cos_raw": round(
                float(torch.nn.functional.cosine_similarity(variants[m][pi], raw[pi], dim=0)), 4
            ),
            "logit_lens": r["logit_lens"],
            "patchscope": r.get("patchscope"),
            "scale": r.get("scale"),
        }
        if keywords:
            row["domain_logit_lens"] = domain_count(r["logit_lens"], keywords)
            row["domain_patchscope"] = domain_count(r.get("patchscope") or [], keywords)
        rows.append(row)
    eig = torch.linalg.eigvalsh(cov)
    result = {
        "name": NAME,
        "title": f"Decoding d_j after subtracting the mean over positions and whitening (layer {layer})",
        "caption": _caption(rows, sinks, method, shrinkage, n_tokens, keywords),
        "figure": _figure(rows, bool(keywords)),
        "config_hash": digest,
        "params": params,
        "layer": layer,
        "labels": labels,
        "sinks": sorted(sinks),
        "covariance": {
            "tokens": n_tokens,
            "condition_number": round(float(eig.max() / eig.clamp_min(1e-30).min()), 1),
            "top_eigenvalue_share": round(float(eig.max() / eig.sum()), 4),
        },
        "rows": rows,
        "seconds": {"covariance": round(t_cov, 2), "total": round(time.perf_counter() - t0, 2)},
    }
    return ctx.save(NAME, result)


def _caption(
    rows: list[dict[str, Any]],
    sinks: set[int],
    method: str,
    shrinkage: float,
    n_tokens: int,
    keywords: list[str],
) -> str:
    how = "Σ^-1/2 (ZCA)" if method == "zca" else "Σ^-1"
    text = (
        "Centred: d_j minus the mean over positions"
        + (f" (sinks {sorted(sinks)} left out of the mean)" if sinks else "")
        + f"; whitened: {how} with the base activations' covariance ({n_tokens} tokens, "
        f"shrinkage {shrinkage})."
    )
    if keywords:
        best: dict[str, int] = {}
        for r in rows:
            n = max(r.get("domain_patchscope") or 0, r.get("domain_logit_lens") or 0)
            best[r["method"]] = max(best.get(r["method"], 0), n)
        text += " Most domain tokens in a top list: " + ", ".join(
            f"{m} {n}" for m, n in best.items()
        )
        text += "."
    return text


def _figure(rows: list[dict[str, Any]], with_domain: bool) -> dict[str, Any]:
    go = plotly()
    header = ["position", "method", "logit lens (top 8)", "Patchscope (top 8)"]
    columns: list[list[Any]] = [
        [r["position"] for r in rows],
        [r["method"] for r in rows],
        [" ".join(repr(t) for t in token_strings(r["logit_lens"], 8)) for r in rows],
        [" ".join(repr(t) for t in token_strings(r.get("patchscope") or [], 8)) for r in rows],
    ]
    if with_domain:
        header += ["domain LL", "domain PS"]
        columns += [[r.get("domain_logit_lens") for r in rows]]
        columns += [[r.get("domain_patchscope") for r in rows]]
    fig = go.Figure(
        go.Table(
            header={"values": header, "align": "left"},
            cells={"values": columns, "align": "left"},
            columnwidth=[1, 2, 6, 6] + ([1, 1] if with_domain else []),
        )
    )
    fig.update_layout(title="Decodings per position and method", width=1100, height=700)
    return figure_dict(fig)
