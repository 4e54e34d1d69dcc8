"""Activations per document, streamed in batches (the engine keeps only means; PCA and whitening
need the spread around them). Every forward pass stops after the layer read, as in collect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from adlens.core.hooks import forward_until
from adlens.core.models import ModelPair
from adlens.core.progress import progress_bar
from adlens.core.tokenization import TokenizedDocs


def _forward(
    model: torch.nn.Module, layer: int, ids: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    inputs: dict[str, Any] = {"input_ids": ids}
    if mask is not None:
        inputs["attention_mask"] = mask
    with torch.inference_mode():
        return forward_until(model, [layer], **inputs)[layer].float()


def document_differences(
    pair: ModelPair,
    docs: TokenizedDocs,
    layer: int,
    *,
    batch_size: int = 64,
    show_progress: bool = True,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Per batch: h_F - h_B at the read positions of each document [batch, n_positions, d],
    and ||h_B||, ||h_F|| there [batch, n_positions, 2] (float32, CPU)."""
    n = len(docs)
    with progress_bar("per-document differences", total=n, enabled=show_progress) as advance:
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            width = int(docs.lengths[lo:hi].max())
            ids = docs.input_ids[lo:hi, :width].to(pair.device)
            mask = None
            if not docs.uniform:
                mask = (torch.arange(width)[None, :] < docs.lengths[lo:hi, None]).long()
                mask = mask.to(pair.device)
            index = docs.index[lo:hi]
            acts = {}
            for side in ("base", "finetuned"):
                with pair.use(side, upto=layer) as model:
                    h = _forward(model, layer, ids, mask)
                gather = index[:, :, None].expand(-1, -1, h.shape[-1]).to(h.device)
                acts[side] = h.gather(1, gather).cpu()
            norms = torch.stack([acts[s].norm(dim=-1) for s in ("base", "finetuned")], -1)
            yield acts["finetuned"] - acts["base"], norms
            advance(hi - lo)


def activation_moments(
    pair: ModelPair,
    ids: torch.Tensor,
    mask: torch.Tensor,
    layer: int,
    *,
    side: str = "base",
    skip: int = 5,
    batch_size: int = 16,
    show_progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Mean [d] and covariance [d, d] (float64) of `side`'s activations at `layer` over every
    real token at positions >= skip (the first positions are attention sinks), and the count."""
    keep = mask.clone().bool()
    keep[:, :skip] = False
    d = pair.d_model
    total = torch.zeros(d, dtype=torch.float64)
    outer = torch.zeros(d, d, dtype=torch.float64)
    count = 0
    n = ids.shape[0]
    with (
        pair.use(side, upto=layer) as model,
        progress_bar(f"{side} covariance", total=n, enabled=show_progress) as advance,
    ):
        for lo in range(0, n, batch_size):
            b_ids = ids[lo : lo + batch_size].to(pair.device)
            b_mask = mask[lo : lo + batch_size].to(pair.device)
            h = _forward(model, layer, b_ids, b_mask).cpu()
            x = h[keep[lo : lo + batch_size]].double()  # [tokens, d]
            total += x.sum(0)
            outer += x.T @ x
            count += x.shape[0]
            advance(b_ids.shape[0])
    if count < 2:
        raise ValueError("too few tokens for a covariance")
    mean = total / count
    cov = (outer - count * torch.outer(mean, mean)) / (count - 1)
    return mean, cov, count
