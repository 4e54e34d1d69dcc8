"""Token-identity Patchscope: ask the finetuned model "what token is this vector?".

Each prompt lists `word -> word` pairs and ends in `?`; at the last token, the residual at the
layer is REPLACED by s * n_F * v/||v||, and the next-token distribution is read. The prompt's
prefix is identical for every vector and scale, so it runs once and its KV cache is shared: only
the last token is recomputed per (vector, scale).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

import torch

from adlens.core.activations import ActivationDiff
from adlens.core.hooks import replace_last_token
from adlens.core.lens import VARIANTS, reading_model, top_tokens
from adlens.core.models import ModelPair
from adlens.core.numerics import check_finite
from adlens.core.protocols import ScaleChooser
from adlens.core.readers import ReadContext, ReaderOutput
from adlens.core.scale_choice import ContentStability, content_words  # noqa: F401 (re-exported)
from adlens.core.threads import adjust_threads, cpu_threads
from adlens.core.vocab import IDENTITY_TRIPLES
from adlens.errors import AdlensError
from adlens.results.readings import Reading, TokenProb

log = logging.getLogger(__name__)


def identity_prompt(words: Sequence[str]) -> str:
    """The token-identity prompt: "w -> w" lines, then "?" where the vector is patched."""
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
    with pair.use(side) as model, cpu_threads(pair.device):
        for ids in _prompt_ids(pair, triples):
            ids = ids.to(pair.device)
            prefix = model(input_ids=ids[None, :-1], use_cache=True).past_key_values
            rows = []
            for lo in range(0, vectors.shape[0], chunk):
                adjust_threads()
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


def _variant_lists(
    pair: ModelPair,
    diff: ActivationDiff,
    layer: int,
    pos: int,
    variants: Sequence[str],
    scales: Sequence[float],
    *,
    top_k: int,
    keep_top: int,
    triples: Sequence[Sequence[str]],
) -> dict[str, tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]]:
    """variant -> (clean lists, raw lists), one per scale. Each variant is patched into the
    model that reads it (`reading_model`), scaled by that model's expected norm."""
    li = diff.layers.index(layer)
    scale_t = torch.tensor(list(scales), dtype=torch.float32)
    out = {}
    for model in ("finetuned", "base"):
        mine = [v for v in variants if reading_model(v) == model]
        if not mine:
            continue
        norm = float(diff.expected_norm[model][li])
        if norm <= 0:
            raise AdlensError("Expected norms were not estimated; collect with norm documents.")
        units = torch.stack([diff.vector(layer, pos, v) for v in mine])
        units = units / units.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        # [n_variants * n_scales, d]: every variant at every scale, in one batch.
        vectors = (units[:, None, :] * scale_t[None, :, None] * norm).reshape(-1, units.shape[-1])
        probs = patched_probs(pair, layer, vectors, triples=triples, side=model)
        for row, (variant, scale) in zip(
            probs.transpose(0, 1), [(v, s) for v in mine for s in scales], strict=True
        ):
            check_finite(
                row,
                f"the patched probabilities of {variant} at layer {layer}, position {pos}, "
                f"scale {scale:g}",
                stage="read (Patchscope)",
            )
        avg = intersect_and_average(probs, keep_top)
        lists = top_tokens(pair.tokenizer, avg, top_k)
        raws = top_tokens(pair.tokenizer, avg, top_k, clean=False)
        n = len(scales)
        for ki, variant in enumerate(mine):
            out[variant] = (lists[ki * n : (ki + 1) * n], raws[ki * n : (ki + 1) * n])
    return out


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
) -> tuple[list[Reading], list[dict[str, Any]]]:
    """Patchscope of each (layer, position, variant), each variant read in its own model (the
    base mean in the base model with the base model's expected norm; the difference, the
    finetuned mean and the drift control in the finetuned model).

    Returns (readings, every scale's clean and raw lists). A reading holds the chosen scale and
    its list, or, with the offline chooser, the list pooled over the scales
    (`ContentStability.pool`; `pooled`, the chosen scale beside it). The difference's choice
    sees the base-mean baseline's list at each scale as a control: tokens that top the baseline
    too are not evidence of the finetune.

    Args:
        pair: the base and finetuned models.
        diff: the collected activation difference.
        scales: multiples of the expected norm to try (None: `default_scales()`).
        variants: which vectors of `diff` to read.
        top_k: tokens kept per list.
        keep_top: tokens each prompt keeps before the prompts' lists are intersected.
        chooser: picks the scale (None: the offline `ContentStability`).
        triples: the identity prompts' words.

    Example:
        >>> readings, per_scale = patchscope(pair, diff, scales=[1.0, 2.0], keep_top=50)
        >>> readings[0].reader, readings[0].scale in (1.0, 2.0), len(per_scale) // len(readings)
        ('patchscope', True, 2)
    """
    scales = list(scales or default_scales())
    chooser = chooser or ContentStability(pair.tokenizer)
    entries: list[Reading] = []
    all_scales: list[dict[str, Any]] = []
    for layer in diff.layers:
        if layer == pair.n_layers - 1:
            # Patched into the last block's output, a vector goes straight to the final norm and
            # unembedding: every prompt and every scale reads exactly its logit lens.
            log.info("Patchscope: layer %d is the last; its logit lens is the same reading", layer)
            continue
        for pos in diff.labels:  # one position at a time bounds memory: [3, n_vectors, V]
            lists = _variant_lists(
                pair, diff, layer, pos, variants, scales, top_k=top_k, keep_top=keep_top,
                triples=triples,
            )  # fmt: skip
            # The reference baseline's lists are the controls; the finetuned mean is not: a
            # finetune that drifts to its domain from any input shows its domain there too.
            controls = lists["base_mean"][0] if "base_mean" in lists else None
            for variant in variants:
                per_scale, raw = lists[variant]
                ctl = controls if variant in ("diff", "neg_diff") else None
                best, scores = chooser.choose(per_scale, controls=ctl)
                pool = getattr(chooser, "pool", None)  # the offline chooser pools the scales
                shown = pool(per_scale, ctl, best, top_k) if pool else per_scale[best]
                for s, tokens, raw_tokens, score in zip(
                    scales, per_scale, raw, scores, strict=True
                ):
                    all_scales.append(
                        {
                            "layer": layer,
                            "position": pos,
                            "variant": variant,
                            "model": reading_model(variant),
                            "scale": s,
                            "score": round(score, 6),
                            "tokens": tokens,
                            "raw_tokens": raw_tokens,
                        }
                    )
                entries.append(
                    Reading(
                        reader="patchscope",
                        model=reading_model(variant),
                        layer=layer,
                        position=pos,
                        variant=variant,
                        scale=scales[best],
                        scale_score=round(scores[best], 6),
                        pooled=pool is not None,
                        tokens=[TokenProb(**t) for t in shown],
                    )
                )
    return entries, all_scales


class PatchscopeReader:
    """Patchscope as a reader: every variant at every scale of `ReadConfig.scales`, the scale
    chosen by the context's chooser (an LLM judge's tournament, or offline content stability)."""

    name = "patchscope"
    label = "Patchscope"
    needs = frozenset({"diff", "pair"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        cfg = ctx.config
        readings, per_scale = patchscope(
            ctx.pair, ctx.diff, scales=cfg.scales, top_k=cfg.top_k, keep_top=cfg.keep_top,
            chooser=ctx.chooser,
        )  # fmt: skip
        at = {(s["layer"], s["position"], s["variant"], s["scale"]): s for s in per_scale}
        raw = [
            r.model_copy(
                update={
                    "tokens": [
                        TokenProb(**t)
                        for t in at[(r.layer, r.position, r.variant, r.scale)]["raw_tokens"]
                    ]
                }
            )
            for r in readings
        ]
        return ReaderOutput(readings, raw, files={"patchscope_scales.jsonl": per_scale})
