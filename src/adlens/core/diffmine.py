"""Logit-difference mining: on ordinary text, at every token position, the tokens whose
log-probability the finetune raises most over the base; counted over positions and documents,
the most often promoted tokens name the finetune (Diff Mining; the reference toolkit's
`diff_mining` method). Needs only the two models' logits; memory is flat in the documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from adlens.core.lens import decode_tokens
from adlens.core.models import ModelPair
from adlens.core.numerics import check_finite
from adlens.core.progress import progress_bar
from adlens.core.readers import ReadContext, ReaderOutput
from adlens.core.tokenization import tokenize_for_norms
from adlens.core.vocab import clean_mask
from adlens.results.readings import ALL, Reading, TokenProb

# Logits of at most this many bytes per forward pass (float32 [batch, T, V], per model).
LOGIT_BYTES = 1 << 28


@dataclass
class PromotionCounts:
    """Per vocabulary token: at how many positions it was among the top-k promoted (`up`) and
    demoted (`down`) tokens, and the summed log-probability difference (`logp_sum`), over
    `positions` positions."""

    up: torch.Tensor  # [V] int64
    down: torch.Tensor  # [V] int64
    logp_sum: torch.Tensor  # [V] float64
    positions: int

    def top(self, k: int, direction: str = "up") -> list[tuple[int, int, float]]:
        """(token id, count, mean log-prob difference) of the k most often promoted (or
        demoted) tokens; ties broken by the mean difference."""
        counts = self.up if direction == "up" else self.down
        mean = self.logp_sum / max(self.positions, 1)
        sign = 1.0 if direction == "up" else -1.0
        # count first, the mean difference (in the direction) as a tie-breaker below one count
        span = float(mean.abs().max()) + 1.0
        key = counts.double() + sign * mean / (2 * span)
        order = key.argsort(descending=True)[:k].tolist()
        return [(i, int(counts[i]), round(float(mean[i]), 6)) for i in order if counts[i] > 0]


@torch.inference_mode()
def promotion_counts(
    pair: ModelPair,
    ids: torch.Tensor,
    mask: torch.Tensor,
    *,
    top_k: int = 10,
    candidates: int = 1000,
    skip: int = 1,
    batch_size: int = 16,
    show_progress: bool = True,
) -> PromotionCounts:
    """Count, over every position >= `skip` of the right-padded documents `ids`/`mask`, the
    `top_k` clean tokens (see `vocab.clean_mask`) whose log-probability rises most from the base
    to the finetuned model, and the `top_k` that fall most.

    Only plausible tokens compete: a promoted token must be among the finetuned model's
    `candidates` most likely at that position (a demoted one among the base model's). Without
    this, rare sub-word and code tokens, whose tiny probabilities any finetune shifts by large
    factors, fill the lists (on the bundled organisms, 100 documents x 32 tokens: 5-20% domain
    tokens in the top 20 without, 15-70% with 1000 candidates).

    Args:
        pair: the base and finetuned models.
        ids: token ids [n, T], right-padded.
        mask: attention mask [n, T] (1 for real tokens).
        top_k: tokens counted per position and direction.
        candidates: the most likely tokens per position that may be counted (0: all).
        skip: leading positions left out (the first predictions are the least typical).
        batch_size: documents per forward pass.
        show_progress: draw a progress bar.

    Example:
        >>> ids, mask = torch.tensor([[5, 6, 7, 8]]), torch.ones(1, 4, dtype=torch.long)
        >>> counts = promotion_counts(pair, ids, mask, top_k=3, show_progress=False)
        >>> counts.positions, int(counts.up.sum())
        (3, 9)
    """
    with pair.use("finetuned") as model:
        vocab = _vocab_size(model)
    clean = clean_mask(pair.tokenizer, vocab)
    up = torch.zeros(vocab, dtype=torch.long)
    down = torch.zeros(vocab, dtype=torch.long)
    logp_sum = torch.zeros(vocab, dtype=torch.float64)
    positions = 0
    n = int(ids.shape[0])
    batch_size = max(1, min(batch_size, LOGIT_BYTES // (4 * vocab * max(int(ids.shape[1]), 1))))
    with progress_bar("diff mining", n, enabled=show_progress) as advance:
        for start in range(0, n, batch_size):
            b_ids, b_mask = ids[start : start + batch_size], mask[start : start + batch_size]
            width = int(b_mask.sum(1).max())
            b_ids, b_mask = b_ids[:, :width], b_mask[:, :width]
            keep = b_mask.bool().clone()
            keep[:, :skip] = False
            logp_f = _logp(pair, "finetuned", b_ids, b_mask)[keep]  # [positions, V]
            logp_b = _logp(pair, "base", b_ids, b_mask)[keep]
            rows = logp_f - logp_b
            check_finite(rows, "the log-probability differences", stage="read (diff mining)")
            k = min(top_k, int(clean.sum()))
            for counts, signed, own in ((up, rows, logp_f), (down, -rows, logp_b)):
                allowed = clean.to(rows.device)[None, :].expand_as(rows)
                if 0 < candidates < vocab:
                    allowed = allowed & (own >= own.topk(candidates, dim=-1).values[:, -1:])
                top = signed.masked_fill(~allowed, float("-inf")).topk(k, dim=-1)
                valid = top.values.isfinite()
                counts += torch.bincount(top.indices[valid].cpu(), minlength=vocab)
            logp_sum += rows.double().sum(0).cpu()
            positions += int(rows.shape[0])
            advance(len(b_ids))
    return PromotionCounts(up, down, logp_sum, positions)


def _vocab_size(model: Any) -> int:
    return int(model.get_output_embeddings().weight.shape[0])


def _logp(pair: ModelPair, side: str, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with pair.use(side) as model:
        param = next(model.parameters())
        out = model(input_ids=ids.to(param.device), attention_mask=mask.to(param.device))
        return torch.log_softmax(out.logits.float(), dim=-1)


class DiffMineReader:
    """Diff mining as a reader: the tokens most often promoted (variant "diff") and demoted
    ("neg_diff") by the finetune over the reference text, pooled over every position (the
    readings' layer and position are `ALL`)."""

    name = "diffmine"
    label = "diff mining"
    needs = frozenset({"pair", "reference"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        cfg = ctx.config.diffmine
        ids, mask = tokenize_for_norms(
            ctx.pair.tokenizer, ctx.documents(), n_docs=cfg.documents, max_tokens=cfg.tokens,
            skip=cfg.skip,
        )  # fmt: skip
        counts = promotion_counts(
            ctx.pair, ids, mask, top_k=cfg.per_position, candidates=cfg.candidates,
            skip=cfg.skip, batch_size=cfg.batch_size, show_progress=ctx.show_progress,
        )  # fmt: skip
        readings = []
        for variant, direction in (("diff", "up"), ("neg_diff", "down")):
            top = counts.top(ctx.config.top_k, direction)
            words = decode_tokens(ctx.pair.tokenizer, [i for i, _, _ in top])
            tokens = [
                TokenProb(
                    token=w, id=i, prob=round(c / counts.positions, 6), count=c, mean_logp_diff=m
                )
                for w, (i, c, m) in zip(words, top, strict=True)
            ]
            readings.append(
                Reading(reader=self.name, layer=ALL, position=ALL, variant=variant,
                        tokens=tokens, positions=counts.positions)
            )  # fmt: skip
        return ReaderOutput(readings)
