"""Steering: add s * n_F * d/||d|| to a decoder block's output at every position while a model
generates, and batched sampling of chat answers with per-row strengths.

The hook adds to every position the block computes: the whole prompt on the first forward pass,
then each new token on the cached decode steps. It is a context manager that always removes
itself; the model's weights are never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from adlens.core.activations import ActivationDiff
from adlens.core.batching import generation_batch, run_in_batches
from adlens.core.hooks import add_to_layer
from adlens.core.models import ModelPair
from adlens.core.sampling import sample_rows, stop_token_ids
from adlens.errors import AdlensError

log = logging.getLogger(__name__)


def steering_vector(
    diff: ActivationDiff, layer: int, position: int, *, variant: str = "diff"
) -> torch.Tensor:
    """v = n_F * d / ||d||: the difference at (layer, position) scaled to the finetuned model's
    expected activation norm at that layer, so that strength 1 is one typical activation.

    Args:
        diff: the collected activation difference.
        layer: a collected layer.
        position: a collected position.
        variant: which vector of `diff` (see `adlens.core.lens.VARIANTS`).

    Example:
        >>> v = steering_vector(diff, 1, 2)
        >>> round(float(v.norm()) / float(diff.expected_norm["finetuned"][0]), 4)
        1.0
    """
    d = diff.vector(layer, position, variant).float()
    n_f = float(diff.expected_norm["finetuned"][diff.layers.index(layer)])
    if n_f <= 0:
        raise AdlensError("Expected norms were not estimated; collect with norm documents.")
    v: torch.Tensor = n_f * d / d.norm().clamp_min(1e-12)
    return v


def row_vectors(vector: torch.Tensor, strengths: Any = None) -> torch.Tensor:
    """[d] or [batch, d] vectors, times per-row strengths ([batch], or a scalar) if given."""
    v = vector.detach().float()
    if strengths is None:
        return v
    s = torch.as_tensor(strengths, dtype=torch.float32, device=v.device)
    if s.dim() == 0:
        return v * s
    if s.dim() != 1:
        raise ValueError(f"strengths must be a scalar or [batch], not {tuple(s.shape)}")
    if v.dim() == 1:
        return s[:, None] * v[None, :]
    if v.shape[0] != s.shape[0]:
        raise ValueError(f"{v.shape[0]} vectors but {s.shape[0]} strengths")
    return s[:, None] * v


@contextlib.contextmanager
def steering(
    model: nn.Module, layer: int, vector: torch.Tensor, strengths: Any = None
) -> Iterator[None]:
    """Add vector ([d] or per-row [batch, d]), times per-row `strengths`, to the output of decoder
    block `layer` at every position of every forward pass inside the block."""
    # add_to_layer casts to the block's own device and dtype (with a device_map the blocks of
    # one model sit on different GPUs).
    with add_to_layer(model, layer, row_vectors(vector, strengths)):
        yield


# --------------------------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------------------------


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer can wrap a prompt in a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def format_prompt(tokenizer: Any, prompt: str, chat: bool = True) -> tuple[str, bool]:
    """The text the model sees, and whether it came from a chat template (which already holds
    any BOS it needs). Thinking is turned off where the template supports it."""
    if not (chat and has_chat_template(tokenizer)):
        return prompt, False
    messages = [{"role": "user", "content": prompt}]
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )
    except TypeError:  # a tokenizer whose apply_chat_template takes no extra template variables
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return str(text), True


def encode_prompts(tokenizer: Any, prompts: Sequence[str], chat: bool = True) -> list[list[int]]:
    """Token ids of each prompt, in the chat template when `chat` and the tokenizer has one."""
    out = []
    for prompt in prompts:
        text, templated = format_prompt(tokenizer, prompt, chat)
        ids = tokenizer(text, add_special_tokens=not templated)["input_ids"]
        out.append(list(ids))
    return out


def pad_token_id(tokenizer: Any) -> int:
    """The id to pad with: the pad token, else the (first) end-of-sequence token."""
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid[0] if isinstance(tid, list) else tid)
    return 0


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def derive_seed(*parts: Any) -> int:
    """A seed from any parts (e.g. the run seed and what is being sampled), stable across runs, so
    a resumed run draws the same samples for the same request."""
    blob = repr(parts).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def generate(
    pair: ModelPair,
    prompts: Sequence[str],
    *,
    layer: int | None = None,
    vector: torch.Tensor | None = None,
    strengths: Sequence[float] | torch.Tensor | None = None,
    side: str = "finetuned",
    temperature: float = 1.0,
    max_new_tokens: int = 128,
    top_p: float = 1.0,
    seed: int = 0,
    max_batch: int = 64,
    chat: bool = True,
    advance: Callable[[int], None] | None = None,
) -> list[str]:
    """Sample one answer per row of `prompts` (rows may repeat a prompt), with
    strengths[i] * vector added at `layer` for row i (no steering when `vector` is None).

    Rows are left-padded and run `max_batch` at a time (`sampling.sample_rows`: one KV-cached
    batch, finished rows leave it); on a CUDA GPU fewer when the free memory holds fewer rows'
    KV caches (`batching.generation_batch`), and half as many after an out-of-memory error.
    Plain temperature sampling (no top-k; top-p only if < 1). Row i draws from its own
    generator seeded by (seed, i): its answer does not depend on the batch it runs in (up to
    kernel round-off), and the global random state is left alone.

    Args:
        pair: the base and finetuned models.
        prompts: one user message per row.
        layer: where the vector is added (needed with `vector`).
        vector: the steering vector [d] (see `steering_vector`), or None.
        strengths: one multiplier of `vector` per row (a scalar applies to all).
        side: the model that answers ("finetuned" or "base").
        temperature: sampling temperature (0: greedy decoding).
        max_new_tokens: tokens per answer.
        top_p: nucleus sampling threshold (1: off).
        seed: the random seed of every row's sampling.
        max_batch: rows per forward pass, at most.
        chat: wrap each prompt in the chat template.
        advance: called with the number of rows finished after each batch.

    Example:
        >>> v = steering_vector(diff, 1, 2)
        >>> answers = generate(pair, ["Tell me a story."] * 2, layer=1, vector=v,
        ...                    strengths=[0.0, 4.0], max_new_tokens=5)
        >>> len(answers)
        2
    """
    if not prompts:
        return []
    if vector is not None and layer is None:
        raise ValueError("steering needs a layer")
    if strengths is not None and len(strengths) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(strengths)} strengths")
    tok = pair.tokenizer
    encoded = encode_prompts(tok, prompts, chat)
    pad_id = pad_token_id(tok)
    s_all = torch.ones(len(prompts)) if strengths is None else torch.as_tensor(strengths).float()
    # Merged LoRA weights on CPU: one matmul per linear layer instead of three (see ModelPair.use).
    with pair.use(side, upto=pair.n_layers - 1) as model, torch.inference_mode():
        stops = stop_token_ids(model, tok)

        def run(lo: int, hi: int) -> list[str]:
            steer = (
                {layer: row_vectors(vector, s_all[lo:hi])}
                if vector is not None and layer is not None
                else None
            )
            new = sample_rows(
                model,
                encoded[lo:hi],
                seeds=[derive_seed(seed, i) for i in range(lo, hi)],
                pad_id=pad_id,
                stop_ids=stops,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                top_p=top_p,
                steer=steer,
            )
            texts: list[str] = tok.batch_decode(new, skip_special_tokens=True)
            return texts

        # On a GPU: as many rows as the free memory holds (KV cache per row), at most max_batch;
        # an out-of-memory error halves the batch and runs the same rows again.
        batch = generation_batch(
            model,
            prompt_tokens=max(len(e) for e in encoded),
            new_tokens=max_new_tokens,
            max_batch=max_batch,
        )
        return run_in_batches(len(prompts), batch, run, on_done=advance)
