"""Logit lens: read a residual-stream vector through a model's final norm and unembedding."""

from __future__ import annotations

from typing import Any

import torch

from adlens.collect import ActivationDiff
from adlens.errors import AdlensError
from adlens.models import ModelPair, find_final_norm, logit_softcap, unwrap

VARIANTS = ("diff", "neg_diff", "base_mean", "ft_mean")
HEADS = ("finetuned", "base")


def head_logits(pair: ModelPair, vectors: torch.Tensor, head: str = "finetuned") -> torch.Tensor:
    """Logits [n, V] (float32) of vectors [n, d] through `head`'s final norm, unembedding and
    logit soft-capping, exactly as the model computes them from its last hidden state."""
    if head not in HEADS:
        raise AdlensError(f"Unknown head {head!r}; use 'finetuned' or 'base'.")
    with pair.use(head) as model, torch.inference_mode():
        norm = find_final_norm(model)
        unembed = unwrap(model).get_output_embeddings()
        param = next(unembed.parameters())
        logits = unembed(norm(vectors.to(param.device, param.dtype))).float()
        cap = logit_softcap(model)
        if cap:
            logits = torch.tanh(logits / cap) * cap
    return logits


def decode_tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    """Readable token strings (' honey', not 'Ġhoney')."""
    return [tokenizer.decode([i]) for i in ids]


def top_tokens(tokenizer: Any, probs: torch.Tensor, k: int) -> list[list[dict[str, Any]]]:
    """Top-k of each row of probs [n, V] as [{token, id, prob}, ...] lists."""
    values, ids = probs.topk(min(k, probs.shape[-1]), dim=-1)
    out = []
    for row_v, row_i in zip(values.tolist(), ids.tolist(), strict=True):
        strings = decode_tokens(tokenizer, row_i)
        out.append(
            [
                {"token": s, "id": i, "prob": round(p, 6)}
                for s, i, p in zip(strings, row_i, row_v, strict=True)
            ]
        )
    return out


def logit_lens(
    pair: ModelPair,
    diff: ActivationDiff,
    *,
    top_k: int = 20,
    heads: tuple[str, ...] = ("finetuned",),
    variants: tuple[str, ...] = VARIANTS,
) -> list[dict[str, Any]]:
    """Summary entries: top tokens per head, layer, position and variant."""
    entries = []
    for head in heads:
        for layer in diff.layers:
            keys = [(p, v) for p in diff.labels for v in variants]
            vecs = torch.stack([diff.vector(layer, p, v) for p, v in keys])
            probs = head_logits(pair, vecs, head).softmax(-1)
            for (pos, variant), tokens in zip(
                keys, top_tokens(pair.tokenizer, probs, top_k), strict=True
            ):
                entries.append(
                    {
                        "reader": "logit_lens",
                        "head": head,
                        "layer": layer,
                        "position": pos,
                        "variant": variant,
                        "tokens": tokens,
                    }
                )
    return entries
