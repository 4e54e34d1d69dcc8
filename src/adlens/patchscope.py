"""Token-identity Patchscope: ask the finetuned model "what token is this vector?".

Each prompt lists `word -> word` pairs and ends in `?`; at the last token, the residual at the
layer is REPLACED by s * n_F * v/||v||, and the next-token distribution is read. The prompt's
prefix is identical for every vector and scale, so it runs once and its KV cache is shared: only
the last token is recomputed per (vector, scale).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from adlens.collect import ActivationDiff
from adlens.errors import AdlensError
from adlens.judges.base import ScaleChooser
from adlens.judges.offline import ContentStability, content_words  # noqa: F401 (re-exported)
from adlens.lens import VARIANTS, top_tokens
from adlens.models import ModelPair, replace_last_token

# Three word triples of different kinds (object, place, colour / verb, number, animal / ...),
# so that what survives in all three readouts is the patched vector, not the prompt.
IDENTITY_TRIPLES = (
    ("table", "London", "green"),
    ("run", "seven", "horse"),
    ("music", "Tuesday", "bright"),
)


def identity_prompt(words: Sequence[str]) -> str:
    return "".join(f"{w} -> {w}\n" for w in words) + "?"


def default_scales() -> list[float]:
    """0.5..2.0 by 0.1, then 3, 4, 5, 10, then 20..200 by 20 (the reference grid)."""
    fine = [round(0.5 + 0.1 * i, 1) for i in range(16)]
    return fine + [3.0, 4.0, 5.0, 10.0] + [float(s) for s in range(20, 201, 20)]


def _prompt_ids(pair: ModelPair, triples: Sequence[Sequence[str]]) -> list[torch.Tensor]:
    out = []
    for words in triples:
        ids = pair.tokenizer(identity_prompt(words), return_tensors="pt")["input_ids"][0]
        out.append(ids)
    return out


@torch.inference_mode()
def patched_probs(
    pair: ModelPair,
    layer: int,
    vectors: torch.Tensor,
    *,
    triples: Sequence[Sequence[str]] = IDENTITY_TRIPLES,
    chunk: int = 64,
    side: str = "finetuned",
) -> torch.Tensor:
    """Next-token probabilities [n_prompts, m, V] with the last token's residual at `layer`
    replaced by each of vectors [m, d], in the finetuned model."""
    out = []
    with pair.use(side) as model:
        for ids in _prompt_ids(pair, triples):
            ids = ids.to(pair.device)
            prefix = model(input_ids=ids[None, :-1], use_cache=True).past_key_values
            rows = []
            for lo in range(0, vectors.shape[0], chunk):
                vec = vectors[lo : lo + chunk]
                cache = copy.deepcopy(prefix)
                cache.batch_repeat_interleave(vec.shape[0])
                last = ids[-1:].expand(vec.shape[0], 1)
                with replace_last_token(model, layer, vec):
                    logits = model(input_ids=last, past_key_values=cache, use_cache=True).logits
                rows.append(logits[:, -1].float().softmax(-1).cpu())
            out.append(torch.cat(rows))
    return torch.stack(out)


def intersect_and_average(probs: torch.Tensor, keep_top: int = 16384) -> torch.Tensor:
    """probs [n_prompts, m, V] -> [m, V]: mean over prompts, zero for any token that is not in
    the top `keep_top` of every prompt."""
    k = min(keep_top, probs.shape[-1])
    keep = torch.ones(probs.shape[1:], dtype=torch.bool)
    for p in range(probs.shape[0]):
        mask = torch.zeros(probs.shape[1:], dtype=torch.bool)
        mask.scatter_(-1, probs[p].topk(k, dim=-1).indices, True)
        keep &= mask
    return probs.mean(0) * keep


def patchscope(
    pair: ModelPair,
    diff: ActivationDiff,
    *,
    scales: Sequence[float] | None = None,
    variants: Sequence[str] = VARIANTS,
    top_k: int = 20,
    keep_top: int = 16384,
    chooser: ScaleChooser | None = None,
    triples: Sequence[Sequence[str]] = IDENTITY_TRIPLES,
    side: str = "finetuned",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Patchscope of each (layer, position, variant).

    Returns (summary entries at the chosen scale, every scale's list for plots and later judges).
    """
    scales = list(scales or default_scales())
    chooser = chooser or ContentStability(pair.tokenizer)
    scale_t = torch.tensor(scales, dtype=torch.float32)
    entries, all_scales = [], []
    for layer in diff.layers:
        li = diff.layers.index(layer)
        n_f = float(diff.expected_norm["finetuned"][li])
        if n_f <= 0:
            raise AdlensError("Expected norms were not estimated; collect with norm documents.")
        for pos in diff.labels:  # one position at a time bounds memory: [3, n_vectors, V]
            units = torch.stack([diff.vector(layer, pos, v) for v in variants])
            units = units / units.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            # [n_variants * n_scales, d]: every variant at every scale, in one batch.
            vectors = (units[:, None, :] * scale_t[None, :, None] * n_f).reshape(
                -1, units.shape[-1]
            )
            probs = patched_probs(pair, layer, vectors, triples=triples, side=side)
            lists = top_tokens(pair.tokenizer, intersect_and_average(probs, keep_top), top_k)
            for ki, variant in enumerate(variants):
                per_scale = lists[ki * len(scales) : (ki + 1) * len(scales)]
                best, scores = chooser.choose(per_scale)
                for s, tokens, score in zip(scales, per_scale, scores, strict=True):
                    all_scales.append(
                        {
                            "layer": layer,
                            "position": pos,
                            "variant": variant,
                            "scale": s,
                            "score": round(score, 6),
                            "tokens": tokens,
                        }
                    )
                entries.append(
                    {
                        "reader": "patchscope",
                        "layer": layer,
                        "position": pos,
                        "variant": variant,
                        "scale": scales[best],
                        "scale_score": round(scores[best], 6),
                        "tokens": per_scale[best],
                    }
                )
    return entries, all_scales
