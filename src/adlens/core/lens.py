"""Logit lens: read a residual-stream vector through a model's final norm and unembedding."""

from __future__ import annotations

from typing import Any

import torch

from adlens.core.activations import ActivationDiff
from adlens.core.anatomy import find_final_norm, logit_softcap, unwrap
from adlens.core.hooks import module_placement
from adlens.core.models import ModelPair
from adlens.core.numerics import check_finite
from adlens.core.readers import ReadContext, ReaderOutput
from adlens.core.vocab import clean_mask
from adlens.errors import AdlensError
from adlens.results.readings import Reading, TokenProb

VARIANTS = ("diff", "neg_diff", "base_mean", "ft_mean", "base_mean_in_ft")
HEADS = ("finetuned", "base")
# The reference reads each mean in its own model: the base mean in the base model, the rest in
# the finetuned one. "base_mean_in_ft" (the base mean read in the finetuned model) is a drift
# control: a finetune that turns to its domain from any input shows there, never as a baseline.
DRIFT_CONTROL = "base_mean_in_ft"


def reading_model(variant: str, head: str = "finetuned") -> str:
    """Which model reads a variant: the base mean its own (base) model, everything else the
    finetuned model; with head="base" (an extra pass) every variant is read by the base."""
    return "base" if head == "base" or variant == "base_mean" else "finetuned"


def head_logits(pair: ModelPair, vectors: torch.Tensor, head: str = "finetuned") -> torch.Tensor:
    """Logits [n, V] (float32) of vectors [n, d] through `head`'s final norm, unembedding and
    logit soft-capping, exactly as the model computes them from its last hidden state."""
    if head not in HEADS:
        raise AdlensError(f"Unknown head {head!r}; use 'finetuned' or 'base'.")
    with pair.use(head) as model, torch.inference_mode():
        norm = find_final_norm(model)
        # get_output_embeddings is a transformers PreTrainedModel method, not on nn.Module.
        unembed: Any = unwrap(model).get_output_embeddings()  # type: ignore[operator]
        param = next(unembed.parameters())
        # With a device_map the final norm and a tied unembedding may sit on different GPUs.
        where = module_placement(norm)
        device, dtype = where if where and where[0].type != "meta" else (param.device, param.dtype)
        normed = norm(vectors.to(device=device, dtype=dtype))
        logits: torch.Tensor = unembed(normed.to(param.device, param.dtype)).float()
        cap = logit_softcap(model)
        if cap:
            logits = torch.tanh(logits / cap) * cap
    return logits


def decode_tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    """Readable token strings (' honey', not 'Ġhoney')."""
    return [tokenizer.decode([i]) for i in ids]


def top_tokens(
    tokenizer: Any, probs: torch.Tensor, k: int, *, clean: bool = True
) -> list[list[dict[str, Any]]]:
    """Top-k of each row of probs [n, V] as [{token, id, prob}, ...] lists; with `clean`, only
    tokens that can name something take a slot (vocab.clean_mask: no whitespace, punctuation,
    special tokens or byte pieces)."""
    if clean:
        mask = clean_mask(tokenizer, probs.shape[-1]).to(probs.device)
        probs = probs.masked_fill(~mask, -1.0)
    values, ids = probs.topk(min(k, probs.shape[-1]), dim=-1)
    out = []
    for row_v, row_i in zip(values.tolist(), ids.tolist(), strict=True):
        strings = decode_tokens(tokenizer, row_i)
        out.append(
            [
                {"token": s, "id": i, "prob": round(p, 6)}
                for s, i, p in zip(strings, row_i, row_v, strict=True)
                if p >= 0
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
    raw: list[Reading] | None = None,
) -> list[Reading]:
    """Clean top tokens per head, layer, position and variant, each read by its own model
    (`reading_model`; the reading's `model`). The unfiltered lists are appended to `raw` when
    given.

    Args:
        pair: the base and finetuned models.
        diff: the collected activation difference.
        top_k: tokens kept per list.
        heads: whose unembedding reads the vectors ("finetuned", "base").
        variants: which vectors of `diff` to read (see `VARIANTS`).
        raw: a list to receive the unfiltered lists.

    Example:
        >>> readings = logit_lens(pair, diff, top_k=5)
        >>> r = readings[0]
        >>> r.reader, r.layer, r.position, r.variant, len(r.tokens)
        ('logit_lens', 1, 0, 'diff', 5)
    """
    entries = []
    for head in heads:
        wanted = [v for v in variants if not (head == "base" and v == DRIFT_CONTROL)]
        for layer in diff.layers:
            for model in ("finetuned", "base"):
                keys = [
                    (p, v) for p in diff.labels for v in wanted if reading_model(v, head) == model
                ]
                if not keys:
                    continue
                vecs = torch.stack([diff.vector(layer, p, v) for p, v in keys])
                probs = head_logits(pair, vecs, model).softmax(-1)
                for (pos, variant), row in zip(keys, probs, strict=True):
                    check_finite(
                        row,
                        f"the {head} head's probabilities of {variant} at layer {layer}, "
                        f"position {pos}",
                        stage="read (logit lens)",
                    )
                lists = top_tokens(pair.tokenizer, probs, top_k)
                raws = top_tokens(pair.tokenizer, probs, top_k, clean=False)
                for (pos, variant), tokens, raw_tokens in zip(keys, lists, raws, strict=True):
                    where = {"head": head, "model": model, "layer": layer}
                    where |= {"position": pos, "variant": variant}
                    entries.append(_reading(where, tokens))
                    if raw is not None:
                        raw.append(_reading(where, raw_tokens))
    entries.sort(key=_entry_order)
    if raw is not None:
        raw.sort(key=_entry_order)
    return entries


def _reading(where: dict[str, Any], tokens: list[dict[str, Any]]) -> Reading:
    return Reading(reader="logit_lens", **where, tokens=[TokenProb(**t) for t in tokens])


def _entry_order(e: Reading) -> tuple[int, int, int, int]:
    return (HEADS.index(e.head or "finetuned"), e.layer, e.position, VARIANTS.index(e.variant))


class LogitLensReader:
    """The logit lens as a reader: every variant, through each head of `ReadConfig.heads`."""

    name = "logit_lens"
    label = "logit lens"
    needs = frozenset({"diff", "pair"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        raw: list[Reading] = []
        cfg = ctx.config
        readings = logit_lens(ctx.pair, ctx.diff, top_k=cfg.top_k, heads=tuple(cfg.heads), raw=raw)
        return ReaderOutput(readings, raw)
