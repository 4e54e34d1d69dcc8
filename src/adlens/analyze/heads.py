"""`heads`: the logit lens through the finetuned head beside the base model's head.

The read stage computes both heads when configured (ReadConfig.heads, default both); those
entries are reused and only missing ones are computed (which loads the models). For a LoRA
adapter on the decoder only the two heads are the same module and every overlap is 1; for a
full finetune they differ by the finetuned final norm and unembedding.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from adlens.analyze.common import RunContext, figure_dict, open_run, overlap, plotly, token_strings
from adlens.core.lens import logit_lens
from adlens.core.models import ModelPair
from adlens.results.readings import Reading

log = logging.getLogger(__name__)

NAME = "heads"
VERSION = 2
HEADS = ("finetuned", "base")
# The read stage's finetuned-head pass reads the base mean in the base model (the reference
# baseline); the same vector through the finetuned head is its drift control entry.
VARIANTS = ("diff", "neg_diff", "base_mean", "ft_mean")
FINETUNED_KEY = {"base_mean": "base_mean_in_ft"}


def _key(head: str, variant: str) -> str:
    return FINETUNED_KEY.get(variant, variant) if head == "finetuned" else variant


def _entries(ctx: RunContext, top_k: int) -> tuple[dict[tuple, Reading], list[str]]:
    """(head, layer, position, variant) -> the logit lens' reading, from the summary, computing
    what is missing."""
    found: dict[tuple, Reading] = {}
    for r in ctx.summary.readings("logit_lens"):
        if len(r.tokens) >= top_k:
            found[(r.head or "finetuned", r.layer, r.position, r.variant)] = r
    keys = [
        (layer, pos, v) for layer in ctx.diff.layers for pos in ctx.diff.labels for v in VARIANTS
    ]
    missing = [h for h in HEADS if any((h, k[0], k[1], _key(h, k[2])) not in found for k in keys)]
    for head in missing:
        log.info("heads: computing the %s head's logit lens", head)
        for r in logit_lens(ctx.pair(), ctx.diff, top_k=top_k, heads=(head,)):
            found[(head, r.layer, r.position, r.variant)] = r
    return found, missing


def _tokens(reading: Reading, top_k: int) -> list[dict[str, Any]]:
    """A reading's top-k tokens as the plain rows heads.json keeps."""
    return [t.model_dump(exclude_none=True) for t in reading.tokens[:top_k]]


def analyze_heads(
    run_dir: Path | str,
    *,
    top_k: int = 20,
    pair: ModelPair | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Finetuned-head vs base-head logit lens per layer, position and variant, with the
    overlap of their top-k lists; RUN_DIR/analyze/heads.json."""
    ctx = open_run(run_dir, pair)
    params = {"top_k": top_k, "read": ctx.read_hash}
    digest, hit = ctx.lookup(NAME, VERSION, params, force)
    if hit:
        return hit
    t0 = time.perf_counter()
    found, computed = _entries(ctx, top_k)
    rows: list[dict[str, Any]] = []
    for layer in ctx.diff.layers:
        for pos in ctx.diff.labels:
            for variant in VARIANTS:
                ft = _tokens(found[("finetuned", layer, pos, _key("finetuned", variant))], top_k)
                base = _tokens(found[("base", layer, pos, variant)], top_k)
                rows.append(
                    {
                        "layer": layer,
                        "position": pos,
                        "variant": variant,
                        "finetuned": ft,
                        "base": base,
                        "overlap": round(overlap(ft, base, top_k), 4),
                    }
                )
    diff_rows = [r for r in rows if r["variant"] == "diff"]
    mean_overlap = sum(r["overlap"] for r in diff_rows) / max(len(diff_rows), 1)
    result = {
        "name": NAME,
        "title": "Logit lens through the finetuned head and the base head",
        "caption": (
            f"Top {top_k} tokens of each head; overlap = shared tokens / {top_k}. Mean overlap "
            f"for the difference: {mean_overlap:.2f}"
            + (" (the adapter leaves the head unchanged)." if _same_head(ctx, rows) else ".")
        ),
        "figure": _figure(rows),
        "config_hash": digest,
        "params": params,
        "computed_heads": computed,
        "mean_overlap_diff": round(mean_overlap, 4),
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return ctx.save(NAME, result)


def _same_head(ctx: RunContext, rows: list[dict[str, Any]]) -> bool:
    adapter = bool(ctx.manifest.get("models", {}).get("adapter"))
    return adapter and all(r["overlap"] == 1 for r in rows)


def _figure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    go = plotly()
    multi = len({r["layer"] for r in rows}) > 1
    fig = go.Figure(
        go.Table(
            header={
                "values": [
                    "layer/pos" if multi else "position",
                    "variant",
                    "finetuned head",
                    "base head",
                    "overlap",
                ],
                "align": "left",
            },
            cells={
                "values": [
                    [f"{r['layer']}/{r['position']}" if multi else r["position"] for r in rows],
                    [r["variant"] for r in rows],
                    [" ".join(repr(t) for t in token_strings(r["finetuned"], 8)) for r in rows],
                    [" ".join(repr(t) for t in token_strings(r["base"], 8)) for r in rows],
                    [f"{r['overlap']:.2f}" for r in rows],
                ],
                "align": "left",
            },
            columnwidth=[1, 1.5, 6, 6, 1],
        )
    )
    fig.update_layout(title="Logit lens: finetuned head vs base head", width=1100, height=700)
    return figure_dict(fig)
