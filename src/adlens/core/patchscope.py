"""Token-identity Patchscope: ask the finetuned model "what token is this vector?".

Each prompt lists `word -> word` pairs and ends in `?`; at the last token, the residual at the
layer is REPLACED by s * n_F * v/||v||, and the next-token distribution is read. The prompt's
prefix is identical for every vector, scale and layer, so it runs once per model and its KV cache
is shared: only the last token is recomputed per (vector, scale). Every position's and variant's
vectors at a layer go through in one stream of batches, as large as memory allows, each batch
reduced to its top-k lists at once, so memory does not grow with the number of vectors.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from adlens.core.activations import ActivationDiff
from adlens.core.batching import generation_batch, run_in_batches
from adlens.core.hooks import replace_last_token, start_after
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


PATCH_BATCH = 256  # (vector, scale) rows per forward at most; fewer where GPU memory is short
SKIP_TOLERANCE = 1e-3  # total variation allowed between the skipping and the full forward


def _prompt_ids(pair: ModelPair, triples: Sequence[Sequence[str]]) -> list[torch.Tensor]:
    out = []
    for words in triples:
        ids = pair.tokenizer(identity_prompt(words), return_tensors="pt")["input_ids"][0]
        out.append(ids)
    return out


class _Prefixes:
    """Each identity prompt's last token and the KV cache of the tokens before it, in one model;
    computed once, copied for every batch of patched rows (of any layer)."""

    def __init__(self, model: nn.Module, pair: ModelPair, triples: Sequence[Sequence[str]]):
        self.prompts = []
        for ids in _prompt_ids(pair, triples):
            ids = ids.to(pair.device)
            cache = model(input_ids=ids[None, :-1], use_cache=True).past_key_values
            self.prompts.append((ids[-1:], cache))
        self.longest = max(int(cache.get_seq_length()) + 1 for _, cache in self.prompts)
        self.skip_ok: dict[int, bool] = {}

    def probs(self, model: nn.Module, layer: int, vectors: torch.Tensor) -> Iterator[torch.Tensor]:
        """Per prompt: next-token probabilities [m, V] (float32, on the model's device) with the
        last token's residual at `layer` replaced by each of vectors [m, d], in `model` (the one
        the prefixes were computed in)."""
        skip = self._can_skip(model, layer, vectors[:1])
        for last, prefix in self.prompts:
            yield self._step(model, layer, vectors, last, prefix, skip)

    @staticmethod
    def _step(
        model: nn.Module,
        layer: int,
        vectors: torch.Tensor,
        last: torch.Tensor,
        prefix: Any,
        skip: bool,
    ) -> torch.Tensor:
        cache = copy.deepcopy(prefix)
        cache.batch_repeat_interleave(vectors.shape[0])
        # The last token's blocks up to `layer` compute what the patch then overwrites: skip them.
        patch = start_after if skip else replace_last_token
        with patch(model, layer, vectors):
            logits = model(
                input_ids=last.expand(vectors.shape[0], 1), past_key_values=cache, use_cache=True
            ).logits
        probs: torch.Tensor = logits[:, -1].float().softmax(-1)
        return probs

    def _can_skip(self, model: nn.Module, layer: int, one: torch.Tensor) -> bool:
        """Whether skipping the blocks up to `layer` gives this model the same distribution as
        running them (checked once per layer on one vector; an architecture whose blocks return
        more than a tensor, or share caches across layers, runs them all)."""
        if layer not in self.skip_ok:
            last, prefix = self.prompts[0]
            fast = self._step(model, layer, one, last, prefix, skip=True)
            full = self._step(model, layer, one, last, prefix, skip=False)
            distance = 0.5 * float((fast - full).abs().sum())  # total variation
            self.skip_ok[layer] = distance < SKIP_TOLERANCE
            if not self.skip_ok[layer]:
                log.info(
                    "Patchscope: skipping the blocks up to layer %d changes the reading (total "
                    "variation %.2g); running every block",
                    layer,
                    distance,
                )
        return self.skip_ok[layer]


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
    chunks = []
    with pair.use(side) as model, cpu_threads(pair.device):
        prefixes = _Prefixes(model, pair, triples)
        for lo in range(0, vectors.shape[0], chunk):
            adjust_threads()
            probs = prefixes.probs(model, layer, vectors[lo : lo + chunk])
            chunks.append(torch.stack([p.cpu() for p in probs]))
    return torch.cat(chunks, dim=1)


def _keep_mask(probs: torch.Tensor, keep_top: int) -> torch.Tensor:
    """[m, V] bool: each row's top `keep_top` tokens."""
    mask = torch.zeros(probs.shape, dtype=torch.bool, device=probs.device)
    top = probs.topk(min(keep_top, probs.shape[-1]), dim=-1, sorted=False)  # a set: no sort
    mask.scatter_(-1, top.indices, True)
    return mask


def _patched_lists(
    pair: ModelPair,
    model: nn.Module,
    prefixes: _Prefixes,
    layer: int,
    vectors: torch.Tensor,
    *,
    top_k: int,
    keep_top: int,
    labels: Sequence[str],
) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Clean and raw top-k lists of each vector's patched distribution, averaged over the
    prompts (`intersect_and_average`). Batches are as large as memory allows (`PATCH_BATCH` at
    most), each reduced to its lists before the next, so memory is one batch's [rows, V].
    `labels` name each vector in the message of a NaN or inf."""
    batch = generation_batch(
        model, prompt_tokens=prefixes.longest, new_tokens=0, max_batch=PATCH_BATCH
    )

    def run(lo: int, hi: int) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        adjust_threads()
        total, keep = None, None
        for probs in prefixes.probs(model, layer, vectors[lo:hi]):
            bad = (~torch.isfinite(probs)).any(-1).nonzero()
            if len(bad):
                check_finite(probs, f"the patched probabilities of {labels[lo + int(bad[0])]}",
                             stage="read (Patchscope)")  # fmt: skip
            mask = _keep_mask(probs, keep_top)
            total = probs if total is None else total.add_(probs)
            keep = mask if keep is None else keep.logical_and_(mask)
        assert total is not None and keep is not None
        avg = (total / len(prefixes.prompts)) * keep
        clean = top_tokens(pair.tokenizer, avg, top_k)
        raw = top_tokens(pair.tokenizer, avg, top_k, clean=False)
        return list(zip(clean, raw, strict=True))

    rows = run_in_batches(vectors.shape[0], batch, run)
    return [c for c, _ in rows], [r for _, r in rows]


def intersect_and_average(probs: torch.Tensor, keep_top: int = 16384) -> torch.Tensor:
    """probs [n_prompts, m, V] -> [m, V]: mean over prompts, zero for any token that is not in
    the top `keep_top` of every prompt."""
    keep = _keep_mask(probs[0], keep_top)
    for p in range(1, probs.shape[0]):
        keep &= _keep_mask(probs[p], keep_top)
    return probs.mean(0) * keep


@torch.inference_mode()
def _layer_lists(
    pair: ModelPair,
    diff: ActivationDiff,
    layer: int,
    variants: Sequence[str],
    scales: Sequence[float],
    triples: Sequence[Sequence[str]],
    prefixes: dict[str, _Prefixes],
    *,
    top_k: int,
    keep_top: int,
) -> dict[tuple[int, str], tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]]:
    """(position, variant) -> (clean lists, raw lists), one per scale: every position's and
    variant's vectors at every scale in one stream of batches per model. Each variant is patched
    into the model that reads it (`reading_model`), scaled by that model's expected norm.
    `prefixes` keeps each model's prompt prefixes from one layer to the next."""
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
        keys = [(pos, v) for pos in diff.labels for v in mine]
        units = torch.stack([diff.vector(layer, pos, v) for pos, v in keys])
        units = units / units.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        # [n_positions * n_variants * n_scales, d]: every vector at every scale.
        vectors = (units[:, None, :] * scale_t[None, :, None] * norm).reshape(-1, units.shape[-1])
        labels = [
            f"{v} at layer {layer}, position {pos}, scale {s:g}" for pos, v in keys for s in scales
        ]
        with pair.use(model) as m, cpu_threads(pair.device):
            if model not in prefixes:
                prefixes[model] = _Prefixes(m, pair, triples)
            clean, raw = _patched_lists(
                pair, m, prefixes[model], layer, vectors, top_k=top_k, keep_top=keep_top,
                labels=labels,
            )  # fmt: skip
        n = len(scales)
        for ki, key in enumerate(keys):
            out[key] = (clean[ki * n : (ki + 1) * n], raw[ki * n : (ki + 1) * n])
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
    prefixes: dict[str, _Prefixes] = {}
    for layer in diff.layers:
        if layer == pair.n_layers - 1:
            # Patched into the last block's output, a vector goes straight to the final norm and
            # unembedding: every prompt and every scale reads exactly its logit lens.
            log.info("Patchscope: layer %d is the last; its logit lens is the same reading", layer)
            continue
        lists = _layer_lists(
            pair, diff, layer, variants, scales, triples, prefixes, top_k=top_k,
            keep_top=keep_top,
        )  # fmt: skip
        for pos in diff.labels:
            # The reference baseline's lists are the controls; the finetuned mean is not: a
            # finetune that drifts to its domain from any input shows its domain there too.
            base = lists.get((pos, "base_mean"))
            controls = base[0] if base is not None else None
            for variant in variants:
                per_scale, raw = lists[(pos, variant)]
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
