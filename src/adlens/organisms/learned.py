"""How well a finetune was learned, to set beside the strength of its trace.

- Held-out loss: mean token cross-entropy on finetuning documents kept out of training (text:
  every token; chat: assistant tokens only).
- Fact recall (false-fact organisms): the share of short sampled completions of the organism's
  `fact_prompts` that contain one of its `fact_phrases` (case-insensitive, whole words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

from adlens.core.data import Document
from adlens.organisms.trainset import encode


@torch.inference_mode()
def heldout_loss(
    model: Any, tokenizer: Any, documents: Sequence[Document], *, max_tokens: int = 512
) -> float | None:
    """Token-weighted mean loss over documents (each cut to `max_tokens`); None if no tokens."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for doc in documents:
        ids, mask = encode(doc, tokenizer)
        ids, mask = ids[:max_tokens], mask[:max_tokens]
        targets = torch.tensor(ids[1:], device=device)
        weights = torch.tensor(mask[1:], dtype=torch.float32, device=device)
        if weights.sum() == 0:
            continue
        logits = model(input_ids=torch.tensor([ids], device=device), use_cache=False).logits[0, :-1]
        nll = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")
        total += float((nll * weights).sum())
        count += int(weights.sum())
    return total / count if count else None


def mentions(text: str, phrases: Sequence[str]) -> bool:
    low = text.lower()
    return any(re.search(rf"\b{re.escape(p.lower())}\b", low) for p in phrases)


@torch.inference_mode()
def fact_recall(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    phrases: Sequence[str],
    *,
    samples: int = 4,
    max_new_tokens: int = 40,
    temperature: float = 1.0,
    chat: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Sample `samples` completions per prompt; the share that mention a fact phrase."""
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    completions = []
    for prompt in prompts:
        if chat and getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
            )["input_ids"]
        else:
            ids = tokenizer(prompt)["input_ids"]
        inputs = torch.tensor([list(ids)] * samples, device=device)
        out = model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            do_sample=True,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        )
        for row in out[:, inputs.shape[1] :]:
            completions.append(
                {"prompt": prompt, "text": tokenizer.decode(row, skip_special_tokens=True)}
            )
    hits = [mentions(c["text"], phrases) for c in completions]
    for c, hit in zip(completions, hits, strict=True):
        c["states_fact"] = hit
    return {
        "fact_recall": sum(hits) / len(hits) if hits else None,
        "n_completions": len(hits),
        "completions": completions,
    }
