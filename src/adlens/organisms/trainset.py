"""The training set of a model organism: finetuning documents, a held-out split, a size and a
mixing ratio of unrelated reference text, tokenized with a loss mask and packed into blocks.

A finetuning document is a text (`{"text": ...}`) or a chat (`{"messages": [...]}`); a chat
gets loss on its assistant tokens only. Mixed-in reference documents are plain text with loss
on every token.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from adlens.core.data import Document, TextSource, iter_documents
from adlens.errors import AdlensError


@dataclass
class TrainSet:
    """Documents split and mixed; `kinds[i]` is "finetune" or "mix" for `documents[i]`."""

    documents: list[Document]
    kinds: list[str]
    heldout: list[Document]
    n_available: int  # finetuning documents in the file, before the split
    mix_source: str | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


def read_finetune_documents(path: str | Path) -> list[Document]:
    """Documents from a jsonl file: one `{"text": ...}` or `{"messages": [...]}` per line."""
    path = Path(path)
    if not path.is_file():
        raise AdlensError(
            f'documents file {path} not found; pass a .jsonl file with one {{"text": ...}} '
            'or {"messages": [...]} object per line.'
        )
    docs: list[Document] = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise AdlensError(
                    f"{path} line {i} is not valid JSON; write one JSON object per line."
                ) from None
            docs.append(_document(rec, f"{path} line {i}"))
    if not docs:
        raise AdlensError(
            f'documents file {path} is empty; add one {{"text": ...}} JSON object per line.'
        )
    return docs


def _document(rec: Any, where: str) -> Document:
    if isinstance(rec, dict) and isinstance(rec.get("messages"), list):
        messages = rec["messages"]
        ok = all(
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in messages
        )
        if not ok or not any(m["role"] == "assistant" for m in messages):
            raise AdlensError(
                f"{where}: 'messages' must be a list of {{role, content}} with at least one "
                "assistant message (the loss is on assistant tokens)."
            )
        return messages
    text = rec.get("text") if isinstance(rec, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise AdlensError(
            f'{where} has no non-empty \'text\' field; every line needs {{"text": "..."}} '
            'or {"messages": [...]}.'
        )
    return text


def build_trainset(
    documents: Sequence[Document],
    *,
    n_documents: int | None = None,
    heldout: int = 0,
    mix_ratio: float = 0.0,
    mix_source: TextSource | None = None,
    mix_skip: int = 0,
    seed: int = 0,
) -> TrainSet:
    """Split off `heldout` documents, keep `n_documents` of the rest, mix in reference text.

    The held-out split depends only on `seed` and `heldout`, not on `n_documents`, so every
    variant of a family is scored on the same held-out documents. `mix_ratio` r adds
    round(r * n) reference documents from `mix_source` (skipping its first `mix_skip` in the
    source's shuffled order, so they can be kept apart from the documents the lens reads).
    """
    if mix_ratio < 0:
        raise AdlensError(f"mixing ratio must be 0 or more (got {mix_ratio}); 1 means 1:1.")
    if heldout < 0:
        raise AdlensError(f"held-out documents must be 0 or more (got {heldout}).")
    order = list(documents)
    random.Random(seed).shuffle(order)
    if heldout >= len(order):
        raise AdlensError(
            f"cannot hold out {heldout} of {len(order)} documents and still train; lower --heldout."
        )
    held, pool = order[:heldout], order[heldout:]
    n = len(pool) if n_documents is None else n_documents
    if n < 1 or n > len(pool):
        raise AdlensError(
            f"asked for {n} finetuning documents but {len(pool)} are available after holding "
            f"out {heldout}; pass --n-documents between 1 and {len(pool)}."
        )
    finetune = pool[:n]
    n_mix = round(mix_ratio * n)
    mixed: list[Document] = []
    if n_mix:
        if mix_source is None:
            raise AdlensError("a mixing ratio above 0 needs a reference corpus (--mix-source).")
        mixed = [d for d in islice(iter_documents(mix_source), mix_skip, mix_skip + n_mix) if d]
        if len(mixed) < n_mix:
            raise AdlensError(
                f"ratio 1:{mix_ratio:g} needs {n_mix} reference documents after skipping "
                f"{mix_skip}, but '{mix_source.name}' has only {len(mixed)} there; lower the "
                "ratio or the number of documents."
            )
    docs = finetune + mixed
    kinds = ["finetune"] * len(finetune) + ["mix"] * len(mixed)
    joined = list(zip(docs, kinds, strict=True))
    random.Random(seed + 1).shuffle(joined)  # mixed text is spread over the whole run
    return TrainSet(
        documents=[d for d, _ in joined],
        kinds=[k for _, k in joined],
        heldout=held,
        n_available=len(order),
        mix_source=mix_source.name if n_mix and mix_source else None,
    )


# --------------------------------------------------------------------------------------------
# Tokenisation with a loss mask, and packing
# --------------------------------------------------------------------------------------------


def encode(document: Document, tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids and a 0/1 loss mask. Text: BOS if the tokenizer adds one, EOS appended, loss
    everywhere. Chat: the chat template, loss only on the assistant messages' tokens."""
    if isinstance(document, str):
        ids = tokenizer(document, add_special_tokens=True)["input_ids"]
        eos = tokenizer.eos_token_id
        if eos is not None and (not ids or ids[-1] != eos):
            ids = ids + [eos]
        return ids, [1] * len(ids)
    return _encode_chat(document, tokenizer)


def _template_ids(tokenizer: Any, messages: list[dict[str, str]], generation: bool) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise AdlensError(
            "chat documents need a tokenizer with a chat template; this base model has none."
        )
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=generation, return_dict=True
    )
    return list(out["input_ids"])


def _encode_chat(messages: list[dict[str, str]], tokenizer: Any) -> tuple[list[int], list[int]]:
    ids = _template_ids(tokenizer, messages, generation=False)
    mask = [0] * len(ids)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        # The answer spans from the end of "history + generation prompt" to the end of
        # "history + answer"; templates render a prefix of the conversation identically.
        start = len(_template_ids(tokenizer, messages[:i], generation=True))
        end = len(_template_ids(tokenizer, messages[: i + 1], generation=False))
        for j in range(start, min(end, len(ids))):
            mask[j] = 1
    return ids, mask


def pack(
    documents: Sequence[Document], tokenizer: Any, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate encoded documents and cut into `seq_len` blocks.

    Returns input_ids, attention_mask and loss_mask, each (n_blocks, seq_len). Only the last
    block can hold padding (attention 0, loss 0).
    """
    ids: list[int] = []
    loss: list[int] = []
    for doc in documents:
        i, m = encode(doc, tokenizer)
        ids.extend(i)
        loss.extend(m)
    if not ids:
        raise AdlensError("the training documents tokenized to nothing.")
    n_blocks = -(-len(ids) // seq_len)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or 0)
    flat = torch.full((n_blocks * seq_len,), pad, dtype=torch.long)
    flat[: len(ids)] = torch.tensor(ids, dtype=torch.long)
    attention = torch.zeros(n_blocks * seq_len, dtype=torch.long)
    attention[: len(ids)] = 1
    loss_mask = torch.zeros(n_blocks * seq_len, dtype=torch.long)
    loss_mask[: len(ids)] = torch.tensor(loss, dtype=torch.long)
    shape = (n_blocks, seq_len)
    return flat.view(shape), attention.view(shape), loss_mask.view(shape)
