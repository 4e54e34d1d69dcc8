"""Read arbitrary vectors the way the run reads d_j: the logit lens through the finetuned head,
and Patchscope at the reference scales with the offline scale choice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from adlens.core.lens import head_logits, top_tokens
from adlens.core.models import ModelPair
from adlens.core.patchscope import default_scales, intersect_and_average, patched_probs
from adlens.core.scale_choice import ContentStability


def read_vectors(
    pair: ModelPair,
    layer: int,
    vectors: torch.Tensor,
    *,
    n_f: float,
    top_k: int = 20,
    patchscope: bool = True,
    scales: Sequence[float] | None = None,
    keep_top: int = 16_384,
    head: str = "finetuned",
    chunk: int = 4,
) -> list[dict[str, Any]]:
    """Per row of vectors [m, d]: {"norm", "logit_lens": tokens, "patchscope": tokens,
    "scale"}. Patchscope patches s * n_f * v/||v|| at `layer` (a zero vector is not read)."""
    vectors = vectors.float()
    probs = head_logits(pair, vectors, head).softmax(-1)
    out: list[dict[str, Any]] = [
        {"norm": round(float(v.norm()), 6), "logit_lens": tokens}
        for v, tokens in zip(vectors, top_tokens(pair.tokenizer, probs, top_k), strict=True)
    ]
    if not patchscope:
        return out
    scales = list(scales or default_scales())
    chooser = ContentStability(pair.tokenizer)
    scale_t = torch.tensor(scales, dtype=torch.float32)
    live = [i for i, v in enumerate(vectors) if float(v.norm()) > 0]
    for row in out:
        row["patchscope"], row["scale"] = [], None
    # A few vectors at a time: probabilities are [3 prompts, vectors * scales, vocabulary].
    for lo in range(0, len(live), chunk):
        idx = live[lo : lo + chunk]
        units = vectors[idx] / vectors[idx].norm(dim=-1, keepdim=True)
        batch = (units[:, None, :] * scale_t[None, :, None] * n_f).reshape(-1, units.shape[-1])
        p = intersect_and_average(patched_probs(pair, layer, batch), keep_top)
        lists = top_tokens(pair.tokenizer, p, top_k)
        for j, i in enumerate(idx):
            per_scale = lists[j * len(scales) : (j + 1) * len(scales)]
            best, _ = chooser.choose(per_scale)
            out[i]["patchscope"], out[i]["scale"] = per_scale[best], scales[best]
    return out
