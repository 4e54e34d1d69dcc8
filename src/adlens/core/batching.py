"""Batch sizes for generation on a GPU: how many rows fit beside the model, from the free memory
and the KV cache one row needs; and halving the batch when the GPU runs out of memory anyway.

The estimate is a pure function (`rows_that_fit`), so it is tested with numbers; `generation_batch`
feeds it the model's geometry and `torch.cuda.mem_get_info`. On a CPU the batch is `max_batch`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from adlens.core.anatomy import num_layers, text_config

log = logging.getLogger(__name__)

T = TypeVar("T")

# Fraction of the free memory the KV caches and logits may take: the rest covers the prefill's
# activations, the allocator's fragmentation and whatever else the process allocates meanwhile.
SAFETY = 0.5
LOGIT_COPIES = 4  # float32 [rows, vocab]: logits, processed scores, probabilities, sampling


@dataclass(frozen=True)
class KVGeometry:
    """What one token of one row costs in the KV cache: layers x 2 (K and V) x kv_heads x
    head_dim values of `bytes_per_value` bytes; plus the vocabulary (for the logits)."""

    layers: int
    kv_heads: int
    head_dim: int
    bytes_per_value: int
    vocab: int = 0

    @property
    def bytes_per_token(self) -> int:
        return self.layers * 2 * self.kv_heads * self.head_dim * self.bytes_per_value


def row_bytes(geometry: KVGeometry, tokens: int) -> int:
    """Memory one generated row needs: its KV cache over `tokens` (prompt + new) tokens and
    `LOGIT_COPIES` float32 rows of logits."""
    return geometry.bytes_per_token * tokens + LOGIT_COPIES * 4 * geometry.vocab


def rows_that_fit(
    free_bytes: int,
    geometry: KVGeometry,
    tokens: int,
    max_batch: int,
    safety: float = SAFETY,
) -> int:
    """Rows whose KV caches and logits fit in `safety` x `free_bytes`, between 1 and `max_batch`.

    >>> g = KVGeometry(layers=32, kv_heads=8, head_dim=128, bytes_per_value=2)
    >>> g.bytes_per_token  # Llama-3-8B in bf16: 128 KiB per token
    131072
    >>> rows_that_fit(40 * 2**30, g, tokens=640, max_batch=512)  # 20 GiB / 80 MiB per row
    256
    """
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    per_row = max(1, row_bytes(geometry, max(1, tokens)))
    return max(1, min(max_batch, int(safety * max(0, free_bytes)) // per_row))


def kv_geometry(model: nn.Module, dtype: torch.dtype | None = None) -> KVGeometry:
    """The KV-cache geometry of a transformers model (sliding windows ignored: an upper bound)."""
    cfg = text_config(model)
    heads = int(getattr(cfg, "num_attention_heads", 1) or 1)
    kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
    hidden = int(getattr(cfg, "hidden_size", 0) or 0)
    head_dim = int(getattr(cfg, "head_dim", None) or max(1, hidden // heads))
    if dtype is None:
        dtype = next(model.parameters()).dtype
    size = torch.empty((), dtype=dtype).element_size()
    vocab = int(getattr(cfg, "vocab_size", 0) or 0)
    return KVGeometry(num_layers(model), kv_heads, head_dim, size, vocab)


def free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device (None elsewhere: no estimate)."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def generation_batch(
    model: nn.Module,
    *,
    prompt_tokens: int,
    new_tokens: int,
    max_batch: int,
    free_bytes: int | None = None,
) -> int:
    """Rows to generate at once: on a CUDA GPU what fits in the free memory (`rows_that_fit`),
    capped by `max_batch`; elsewhere `max_batch`. `free_bytes` overrides the measured free
    memory."""
    if free_bytes is None:
        device = next(model.parameters()).device
        free_bytes = free_memory(device)
        if free_bytes is None:
            return max_batch
    rows = rows_that_fit(free_bytes, kv_geometry(model), prompt_tokens + new_tokens, max_batch)
    if rows < max_batch:
        log.info(
            "generation: %d rows at a time (KV cache of %d tokens per row; %.1f GiB free)",
            rows,
            prompt_tokens + new_tokens,
            free_bytes / 2**30,
        )
    return rows


def is_out_of_memory(err: BaseException) -> bool:
    """A CUDA out-of-memory error (torch.OutOfMemoryError, also raised as a plain RuntimeError
    by some kernels)."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def run_in_batches(
    n: int,
    batch: int,
    run: Callable[[int, int], Sequence[T]],
    *,
    on_done: Callable[[int], None] | None = None,
) -> list[T]:
    """run(lo, hi) over [0, n) in batches of `batch` rows; on an out-of-memory error the batch
    is halved and the same rows run again (down to one row; then the error is raised). The
    smaller batch is kept for the rows that follow. `on_done` gets the rows of each batch."""
    out: list[T] = []
    lo = 0
    size = max(1, batch)
    while lo < n:
        hi = min(lo + size, n)
        rows: Sequence[T] | None = None
        try:
            rows = run(lo, hi)
        except Exception as err:
            if not is_out_of_memory(err) or hi - lo <= 1:
                raise
        if rows is None:  # out of memory: outside the except, so the failed batch is freed
            size = max(1, (hi - lo) // 2)
            log.warning("out of GPU memory at %d rows; retrying %d at a time", hi - lo, size)
            _release_cached_memory()
            continue
        out.extend(rows)
        if on_done is not None:
            on_done(hi - lo)
        lo = hi
    return out


def _release_cached_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def describe(geometry: KVGeometry, tokens: int) -> dict[str, Any]:
    """The inputs of the estimate, for logs and benchmarks."""
    return {
        "kv_bytes_per_token": geometry.bytes_per_token,
        "tokens_per_row": tokens,
        "bytes_per_row": row_bytes(geometry, tokens),
        "safety": SAFETY,
    }
