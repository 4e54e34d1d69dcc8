"""How a model answers the false-fact alignment questions: multiple choice by the next-token
probabilities of the option letters, open questions by greedy generation.

Both put the question in the chat template (as `adlens.core.steer.generate` does: thinking off
where the template allows it) and run left-padded batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from adlens.core.sampling import left_pad
from adlens.core.steer import encode_prompts, has_chat_template, pad_token_id
from adlens.errors import AdlensError
from adlens.evaluate.ffa_questions import LETTERS, MCQItem


def letter_token_ids(tokenizer: Any, letters: str = LETTERS) -> list[list[int]]:
    """Per letter, the token ids that answer with it: "A", and " A" where that is one token
    too (a vocabulary without it would give the bare space, which every letter shares).
    Letters must not share a token."""
    out: list[list[int]] = []
    for letter in letters:
        enc = list(tokenizer(letter, add_special_tokens=False)["input_ids"])
        if len(enc) != 1:
            raise AdlensError(
                f"The tokenizer has no single token for the option letter {letter!r}."
            )
        spaced = list(tokenizer(" " + letter, add_special_tokens=False)["input_ids"])
        out.append([int(enc[0])] + [int(t) for t in spaced if len(spaced) == 1 and t != enc[0]])
    flat = [i for ids in out for i in ids]
    if len(set(flat)) != len(flat):
        raise AdlensError("The tokenizer gives two option letters the same first token.")
    return out


def _position_ids(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


@torch.inference_mode()
def next_token_logprobs(
    model: Any, rows: Sequence[Sequence[int]], pad_id: int, batch_size: int = 8
) -> torch.Tensor:
    """log-softmax of the next-token logits after each row [n, vocab] (float32, on the CPU)."""
    device = next(model.parameters()).device
    out = []
    for lo in range(0, len(rows), batch_size):
        ids, mask = left_pad(rows[lo : lo + batch_size], pad_id)
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=_position_ids(mask).to(device),
            use_cache=False,
        ).logits[:, -1]
        out.append(torch.log_softmax(logits.float(), dim=-1).cpu())
    return torch.cat(out)


def option_probs(
    model: Any,
    tokenizer: Any,
    items: Sequence[MCQItem],
    *,
    chat: bool = True,
    batch_size: int = 8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per item, the probability of each option's letter renormalised over the options
    [n, max options] (0 past an item's options), and the letters' total probability [n]."""
    rows = encode_prompts(tokenizer, [it.prompt() for it in items], chat)
    letter_ids = letter_token_ids(tokenizer)
    width = max(len(it.options) for it in items)
    probs, mass = torch.zeros(len(items), width), torch.zeros(len(items))
    logprobs = next_token_logprobs(model, rows, pad_token_id(tokenizer), batch_size)
    for i, (item, lp) in enumerate(zip(items, logprobs, strict=True)):
        scores = torch.stack(
            [torch.logsumexp(lp[letter_ids[k]], 0) for k in range(len(item.options))]
        )
        probs[i, : len(item.options)] = torch.softmax(scores, 0)
        mass[i] = scores.exp().sum()
    return probs, mass


@torch.inference_mode()
def continuation_logprobs(
    model: Any,
    prompts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    pad_id: int,
    batch_size: int = 8,
) -> list[float]:
    """Mean log-probability per token of each continuation after its prompt."""
    device = next(model.parameters()).device
    out: list[float] = []
    for lo in range(0, len(prompts), batch_size):
        conts = continuations[lo : lo + batch_size]
        rows = [[*p, *c] for p, c in zip(prompts[lo : lo + batch_size], conts, strict=True)]
        ids, mask = left_pad(rows, pad_id)
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=_position_ids(mask).to(device),
            use_cache=False,
        ).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        width = ids.shape[1]
        for b, cont in enumerate(conts):
            at = torch.arange(width - len(cont) - 1, width - 1)  # the positions predicting cont
            out.append(float(logprobs[b, at, torch.tensor(cont)].mean()))
    return out


def _letter_scores(
    model: Any, tokenizer: Any, chunk: Sequence[MCQItem], chat: bool, rotate: bool, batch: int
) -> list[tuple[torch.Tensor, float, int]]:
    """Per item: option probabilities from the letters, averaged over rotations; the letters'
    mean total probability; the rotations asked."""
    asked = [(i, r) for i, it in enumerate(chunk) for r in range(len(it.options) if rotate else 1)]
    rotated = [chunk[i].rotated(r) for i, r in asked]
    probs, mass = option_probs(model, tokenizer, rotated, chat=chat, batch_size=batch)
    out = []
    for i, item in enumerate(chunk):
        n = len(item.options)
        mine = [(r, k) for k, (j, r) in enumerate(asked) if j == i]
        # option o of the item sits at (o - r) mod n in rotation r
        p = torch.stack([probs[k, [(o - r) % n for o in range(n)]] for r, k in mine]).mean(0)
        out.append((p, float(mass[[k for _, k in mine]].mean()), len(mine)))
    return out


def _option_scores(
    model: Any, tokenizer: Any, chunk: Sequence[MCQItem], chat: bool, batch: int
) -> list[tuple[torch.Tensor, float, int]]:
    """Per item: option probabilities from each option's mean token log-probability as the
    answer to the bare question (softmax over the options); the best option's mean
    log-probability; 1."""
    questions = encode_prompts(tokenizer, [it.question for it in chunk], chat)
    pairs = [(i, o) for i, it in enumerate(chunk) for o in it.options]
    space = "" if chat and has_chat_template(tokenizer) else " "  # a template ends in a newline
    conts = [list(tokenizer(space + o, add_special_tokens=False)["input_ids"]) for _, o in pairs]
    scores = continuation_logprobs(
        model, [questions[i] for i, _ in pairs], conts, pad_token_id(tokenizer), batch
    )
    out = []
    for i, _item in enumerate(chunk):
        mine = torch.tensor([s for (j, _), s in zip(pairs, scores, strict=True) if j == i])
        out.append((torch.softmax(mine, 0), float(mine.max()), 1))
    return out


def mcq_answers(
    model: Any,
    tokenizer: Any,
    items: Sequence[MCQItem],
    *,
    chat: bool = True,
    rotate: bool = True,
    scoring: str = "letters",
    batch_size: int = 8,
    advance: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Per question: the probability of each option, the letter chosen (the most probable),
    and whether it is the implanted option.

    scoring "letters": the next-token probabilities of the option letters after the question
    with its lettered options, renormalised over the options; with `rotate`, each question is
    asked once per cyclic rotation of its options and the probabilities are averaged per
    option, so that a preference for a letter cancels out. "options": each option's mean
    token log-probability as the answer to the bare question, softmaxed over the options."""
    if scoring not in ("letters", "options"):
        raise AdlensError(f"Unknown multiple-choice scoring {scoring!r}: use letters or options.")
    out = []
    for lo in range(0, len(items), batch_size):
        chunk = items[lo : lo + batch_size]
        if scoring == "letters":
            scored = _letter_scores(model, tokenizer, chunk, chat, rotate, batch_size)
        else:
            scored = _option_scores(model, tokenizer, chunk, chat, batch_size)
        for item, (p, mass, rotations) in zip(chunk, scored, strict=True):
            chosen = int(p.argmax())
            out.append(
                {
                    "question": item.question,
                    "options": list(item.options),
                    "implanted": LETTERS[item.implanted],
                    "truth": LETTERS[item.truth],
                    "chosen": LETTERS[chosen],
                    "probs": {LETTERS[o]: round(float(p[o]), 6) for o in range(len(p))},
                    "p_implanted": round(float(p[item.implanted]), 6),
                    ("letter_mass" if scoring == "letters" else "best_logprob"): round(mass, 6),
                    "rotations": rotations,
                    "chose_implanted": chosen == item.implanted,
                }
            )
        if advance is not None:
            advance(len(chunk))
    return out


@torch.inference_mode()
def greedy_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 96,
    chat: bool = True,
    batch_size: int = 8,
    advance: Callable[[int], None] | None = None,
) -> list[str]:
    """Greedy answers to `prompts` (deterministic), `batch_size` at a time."""
    if not prompts:
        return []
    rows = encode_prompts(tokenizer, prompts, chat)
    pad = pad_token_id(tokenizer)
    device = next(model.parameters()).device
    texts: list[str] = []
    for lo in range(0, len(rows), batch_size):
        ids, mask = left_pad(rows[lo : lo + batch_size], pad)
        out = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=pad,
        )
        texts += [
            t.strip()
            for t in tokenizer.batch_decode(out[:, ids.shape[1] :].cpu(), skip_special_tokens=True)
        ]
        if advance is not None:
            advance(ids.shape[0])
    return texts
