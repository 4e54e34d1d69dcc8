"""Contrastive-decoding diffing (arXiv 2605.25902): sample from the finetuned model's logits
amplified by their difference from the base, l_F + a (l_F - l_B), from vague prefills without the
chat template; what the finetune implanted comes out nearly verbatim. The words the amplified
samples use distinctively more than the base model's samples from the same prefills (log-odds,
as the offline grader) form the reader's token list.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from adlens.core.log_odds import log_odds, word_counts
from adlens.core.models import ModelPair
from adlens.core.progress import progress_bar
from adlens.core.readers import ReadContext, ReaderOutput
from adlens.core.sampling import left_pad, next_tokens, stop_token_ids
from adlens.core.steer import derive_seed, encode_prompts, pad_token_id
from adlens.core.stopwords import STOPWORDS
from adlens.results.readings import ALL, Reading, TokenProb


class _Side:
    """One model's incremental decoding state (its own KV cache)."""

    def __init__(self, pair: ModelPair, side: str):
        self.pair, self.side, self.past = pair, side, None

    def step(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # The finetuned side through merged LoRA weights, as `generate` samples it.
        with self.pair.use(self.side, upto=self.pair.n_layers - 1) as model:
            out = model(
                input_ids=ids, attention_mask=mask, position_ids=positions,
                past_key_values=self.past, use_cache=True,
            )  # fmt: skip
        self.past = out.past_key_values
        logits: torch.Tensor = out.logits[:, -1, :].to(dtype=torch.float32)
        return logits


@torch.inference_mode()
def contrastive_sample(
    pair: ModelPair,
    prompts: Sequence[str],
    *,
    alpha: float,
    temperature: float = 1.0,
    max_new_tokens: int = 64,
    seed: int = 0,
    max_batch: int = 32,
    chat: bool = False,
    show_progress: bool = False,
) -> list[str]:
    """One sample per row of `prompts` from softmax((l_F + alpha (l_F - l_B)) / temperature).

    With alpha = 0 it samples the finetuned model exactly as `generate` does (row i draws from
    its own generator seeded by (seed, i), `sampling.next_tokens`); alpha = -1 samples the base
    model.

    Args:
        pair: the base and finetuned models.
        prompts: the prefills, one per row (rows may repeat).
        alpha: the amplification of the difference.
        temperature: sampling temperature.
        max_new_tokens: tokens per sample.
        seed: the random seed of every row's sampling.
        max_batch: rows decoded together.
        chat: wrap each prompt in the chat template (the method samples raw text: off).
        show_progress: draw a progress bar.

    Example:
        >>> texts = contrastive_sample(pair, ["The", "I"], alpha=1.0, max_new_tokens=4)
        >>> len(texts)
        2
    """
    tok = pair.tokenizer
    encoded = encode_prompts(tok, prompts, chat)
    pad_id = pad_token_id(tok)
    eos = torch.tensor(sorted(stop_token_ids(pair.finetuned, tok)), dtype=torch.long)
    texts: list[str] = []
    device = next(pair.finetuned.parameters()).device
    with progress_bar("contrastive sampling", len(prompts), enabled=show_progress) as advance:
        for lo in range(0, len(prompts), max_batch):
            ids, mask = left_pad(encoded[lo : lo + max_batch], pad_id)
            ids, mask = ids.to(device), mask.to(device)
            sides = {s: _Side(pair, s) for s in ("finetuned", "base")}
            positions = (mask.cumsum(-1) - 1).clamp_min(0)
            step_ids, new = ids, []
            done = torch.zeros(len(ids), dtype=torch.bool, device=device)
            rows = range(lo, lo + len(ids))
            generators = [torch.Generator().manual_seed(derive_seed(seed, i)) for i in rows]
            for _ in range(max_new_tokens):
                if alpha == -1:  # the base model alone: no need for the finetuned logits
                    logits = sides["base"].step(step_ids, mask, positions)
                else:
                    logits = sides["finetuned"].step(step_ids, mask, positions)
                    if alpha != 0:
                        l_b = sides["base"].step(step_ids, mask, positions)
                        logits = logits + alpha * (logits - l_b)
                nxt = next_tokens(logits, generators, temperature=temperature).to(device)
                nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
                new.append(nxt)
                done |= torch.isin(nxt, eos.to(device))
                if bool(done.all()):
                    break
                step_ids = nxt[:, None]
                mask = torch.cat([mask, torch.ones_like(step_ids)], dim=1)
                positions = positions[:, -1:] + 1
            out = torch.stack(new, dim=1).cpu()
            texts += tok.batch_decode(out, skip_special_tokens=True)
            advance(len(ids))
    return texts


def distinctive_words(
    amplified: Sequence[str], plain: Sequence[str], *, min_count: int = 2, alpha0: float = 1000.0
) -> list[tuple[str, int, float, float]]:
    """(word, count, delta, z) of the words the amplified samples use more than the plain ones,
    best first (z, then count); stop words and single letters left out.

    Args:
        amplified: the contrastive samples.
        plain: the base model's samples from the same prefills.
        min_count: fewest uses in the amplified samples.
        alpha0: the prior's pseudo-words (smaller than the grader's: samples are short).

    Example:
        >>> distinctive_words(["owls owls owls hunt"] * 3, ["the cat sat"] * 3)[0][:2]
        ('owls', 9)
    """
    d, r = word_counts(amplified), word_counts(plain)
    n_d, n_r = sum(d.values()), sum(r.values())
    rows = []
    for word, y_d in d.items():
        if y_d < min_count or len(word) < 2 or word in STOPWORDS:
            continue
        delta, z = log_odds(y_d, n_d, r[word], n_r, alpha0)
        if delta > 0:
            rows.append((word, y_d, round(delta, 4), round(z, 4)))
    return sorted(rows, key=lambda row: (-row[3], -row[1], row[0]))


class ContrastiveReader:
    """Contrastive decoding as a reader: K samples per prefill amplified by `alpha`, K plain base
    samples from the same prefills, and the words distinctive of the former (one reading,
    variant "diff", layer and position `ALL`). The samples are saved (contrastive_samples.jsonl)."""

    name = "contrastive"
    label = "contrastive decoding"
    needs = frozenset({"pair"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        cfg = ctx.config.contrastive
        prompts = [p for p in cfg.prefills for _ in range(cfg.samples)]

        def sample(alpha: float) -> list[str]:
            return contrastive_sample(
                ctx.pair, prompts, alpha=alpha, temperature=cfg.temperature,
                max_new_tokens=cfg.max_new_tokens, seed=cfg.seed, show_progress=ctx.show_progress,
            )  # fmt: skip

        amplified, plain = sample(cfg.alpha), sample(-1.0)
        words = distinctive_words(amplified, plain)[: ctx.config.top_k]
        total = max(sum(word_counts(amplified).values()), 1)
        tokens = []
        for word, count, delta, z in words:
            ids = ctx.pair.tokenizer(" " + word, add_special_tokens=False)["input_ids"]
            tokens.append(
                TokenProb(token=" " + word, id=int(ids[0]) if ids else -1,
                          prob=round(count / total, 6), count=count, delta=delta, z=z)
            )  # fmt: skip
        reading = Reading(
            reader=self.name, layer=ALL, position=ALL, variant="diff", tokens=tokens,
            alpha=cfg.alpha, samples=len(amplified),
        )  # fmt: skip
        rows = [
            {"prefill": p, "alpha": a, "text": t}
            for a, texts in ((cfg.alpha, amplified), (-1.0, plain))
            for p, t in zip(prompts, texts, strict=True)
        ]
        return ReaderOutput([reading], files={"contrastive_samples.jsonl": rows})
