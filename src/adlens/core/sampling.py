"""Batched sampling with a KV cache: rows of token ids, each with its own seed and, optionally,
its own steering vector at a decoder block; finished rows leave the batch.

Why not `model.generate`: on a CPU its sampling step (`torch.multinomial`, an exponential race
over the whole vocabulary) costs as much as a small model's forward pass, finished rows keep
being computed until the longest row ends, and its draws depend on the batch a row lands in.
Here each row draws one uniform number per step from its own generator and takes the token
where the cumulative distribution crosses it (inverse CDF): the same categorical distribution,
a row's sample depends only on its seed and its logits (so on the batch only through kernel
round-off), and the step costs about a millisecond.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from adlens.core.anatomy import find_decoder_layers
from adlens.core.hooks import _out_tensor, _placed, _with_tensor, hooks
from adlens.core.threads import adjust_threads, cpu_threads


class RowSteering:
    """Per-row vectors added to decoder blocks' outputs ({layer: [batch, d]}); `keep(rows)`
    follows the batch when rows leave it."""

    def __init__(self, model: nn.Module, vectors: dict[int, torch.Tensor]):
        blocks = find_decoder_layers(model)
        self.blocks = {layer: blocks[layer] for layer in vectors}
        self.vectors = {layer: _placed(self.blocks[layer], v) for layer, v in vectors.items()}

    def keep(self, rows: torch.Tensor) -> None:
        self.vectors = {layer: v[rows.to(v.device)] for layer, v in self.vectors.items()}

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        def make(layer: int) -> Any:
            def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
                h = _out_tensor(out)
                v = self.vectors[layer].to(device=h.device, dtype=h.dtype)
                return _with_tensor(out, h + v[:, None, :])

            return hook

        with hooks(*[(block, make(layer)) for layer, block in self.blocks.items()]):
            yield


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids and attention_mask [batch, max_len], padded on the left so every row's last
    prompt token sits at the same column and generation continues from it."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def stop_token_ids(model: nn.Module, tokenizer: Any) -> set[int]:
    """The ids that end an answer: the model's generation config's EOS (one or a list) and the
    tokenizer's."""
    out: set[int] = set()
    config = getattr(model, "generation_config", None)
    for tid in (getattr(config, "eos_token_id", None), tokenizer.eos_token_id):
        if tid is None:
            continue
        out.update(int(t) for t in (tid if isinstance(tid, (list, tuple)) else [tid]))
    return out


def next_tokens(
    logits: torch.Tensor,
    generators: Sequence[torch.Generator],
    *,
    temperature: float,
    top_p: float = 1.0,
) -> torch.Tensor:
    """One token per row of `logits` [rows, vocab]: greedy at temperature 0, else sampled at
    `temperature` (top-p if < 1) by inverse CDF with row i's uniform draw from generators[i]."""
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (the first token always)
        drop = sorted_p.cumsum(-1) - sorted_p >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    cdf = probs.cumsum(-1)
    u = torch.stack([torch.rand((), generator=g) for g in generators]).to(cdf.device)
    u = u * cdf[:, -1]  # the total mass (1 up to round-off, less after top-p)
    picked = torch.searchsorted(cdf, u[:, None], right=True).squeeze(1)
    return picked.clamp_max(probs.shape[-1] - 1)


def sample_rows(
    model: nn.Module,
    rows: Sequence[Sequence[int]],
    *,
    seeds: Sequence[int],
    pad_id: int,
    stop_ids: set[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    steer: dict[int, torch.Tensor] | None = None,
) -> list[list[int]]:
    """New token ids for each prompt row (the stop token, when one ended the row, left out).

    Rows are left-padded into one batch, prefilled once, then decoded one token per step with
    the KV cache; a row that samples a stop token leaves the batch (cache, mask and steering
    rows with it). `steer` maps a block index to [rows, d] vectors added to that block's output
    at every position (zero rows: unsteered).
    """
    n = len(rows)
    if len(seeds) != n:
        raise ValueError(f"{n} rows but {len(seeds)} seeds")
    if n == 0 or max_new_tokens <= 0:
        return [[] for _ in range(n)]
    from transformers import DynamicCache

    device = next(model.parameters()).device
    ids, mask = left_pad(rows, pad_id)
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp_min(0)
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out: list[list[int]] = [[] for _ in range(n)]
    alive = torch.arange(n)  # original index of each batch row
    cache = DynamicCache()
    steering = RowSteering(model, steer) if steer else None
    stops = torch.tensor(sorted(stop_ids), dtype=torch.long) if stop_ids else None
    with steering.active() if steering else contextlib.nullcontext(), cpu_threads(device):
        step_ids, step_pos = ids, positions
        for step in range(max_new_tokens):
            adjust_threads()
            logits = model(
                input_ids=step_ids,
                attention_mask=mask,
                position_ids=step_pos,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            ).logits[:, -1]
            tokens = next_tokens(
                logits,
                [generators[i] for i in alive.tolist()],
                temperature=temperature,
                top_p=top_p,
            ).cpu()
            done = (
                torch.isin(tokens, stops)
                if stops is not None
                else torch.zeros(len(tokens), dtype=torch.bool)
            )
            for b, (i, t) in enumerate(zip(alive.tolist(), tokens.tolist(), strict=True)):
                if not done[b]:
                    out[i].append(t)
            if step == max_new_tokens - 1:
                break
            if bool(done.any()):
                keep = (~done).nonzero().squeeze(1)
                if len(keep) == 0:
                    break
                alive, tokens = alive[keep], tokens[keep]
                dev_keep = keep.to(device)
                cache.batch_select_indices(dev_keep)
                mask, step_pos = mask[dev_keep], step_pos[dev_keep]
                if steering is not None:
                    steering.keep(keep)
            step_ids = tokens[:, None].to(device)
            step_pos = step_pos[:, -1:] + 1
            mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=-1)
    return out
