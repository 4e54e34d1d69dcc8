"""Tokens and losses for the causal effect: documents as right-padded batches with the first
scored token per row, summed next-token cross-entropy, and a table of sums per key."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from adlens.core.data import Document
from adlens.core.tokenization import first_tokens


@dataclass
class LossBatch:
    """Right-padded rows; `starts[r]`: first token of row r whose prediction counts (0 for
    text; the answer's first token for a chat)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    starts: torch.Tensor

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-token labels [B, T-1] and which of them count."""
        labels = self.input_ids[:, 1:]
        pos = torch.arange(1, self.input_ids.shape[1])[None, :]
        valid = self.attention_mask[:, 1:].bool() & (pos >= self.starts[:, None].clamp_min(1))
        return labels, valid


def loss_rows(
    tokenizer: Any, documents: Sequence[Document], n: int, max_tokens: int, min_tokens: int
) -> list[tuple[list[int], int]]:
    """(token ids, start) of the first n documents with at least min_tokens tokens to score."""
    from adlens.core.tokenization import _answer_start

    rows: list[tuple[list[int], int]] = []
    for doc in documents:
        if len(rows) >= n:
            break
        if isinstance(doc, str):
            ids, start = first_tokens(tokenizer, doc, max_tokens), 0
        else:
            res = _answer_start(tokenizer, doc)
            if res is None:
                continue
            ids, start = res[0][:max_tokens], res[1]
        if len(ids) - max(start, 1) >= min_tokens - 1:
            rows.append((list(ids), start))
    return rows


def batches(rows: list[tuple[list[int], int]], size: int, pad: int) -> list[LossBatch]:
    out = []
    for i in range(0, len(rows), size):
        chunk = rows[i : i + size]
        width = max(len(ids) for ids, _ in chunk)
        ids_t = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, (ids, _) in enumerate(chunk):
            ids_t[r, : len(ids)] = torch.tensor(ids)
            mask[r, : len(ids)] = 1
        starts = torch.tensor([s for _, s in chunk])
        out.append(LossBatch(ids_t, mask, starts))
    return out


def ce_sum(logits: torch.Tensor, batch: LossBatch) -> tuple[float, int]:
    """Summed next-token cross-entropy over the counted targets, and their number."""
    labels, valid = batch.targets()
    logits = logits[:, :-1].float()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    ce = ce.reshape(labels.shape)[valid]
    return float(ce.sum(dtype=torch.float64)), int(valid.sum())


def _forward(model: nn.Module, batch: LossBatch, device: torch.device) -> torch.Tensor:
    return model(
        input_ids=batch.input_ids.to(device),
        attention_mask=batch.attention_mask.to(device),
        use_cache=False,
    ).logits


class LossTable:
    """Summed cross-entropy and token counts per key."""

    def __init__(self) -> None:
        self.sums: dict[Any, list[float]] = {}

    def add(self, key: Any, value: tuple[float, int]) -> None:
        s = self.sums.setdefault(key, [0.0, 0])
        s[0] += value[0]
        s[1] += value[1]

    def loss(self, key: Any) -> float:
        total, count = self.sums[key]
        return total / count if count else math.nan

    def tokens(self, key: Any) -> int:
        return int(self.sums[key][1])
