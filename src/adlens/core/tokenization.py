"""Tokenisation to the first k positions: the engine's inputs, and the texts for the
expected-norm estimate.

A chat document (a list of role/content messages) counts its positions from the first token of
the assistant's answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from adlens.core.data import Document
from adlens.errors import AdlensError


@dataclass
class TokenizedDocs:
    """Inputs for the engine: one row per kept document.

    input_ids are right-padded; `index[r, j]` is the absolute position in row r of the j-th
    read position, whose label is `labels[j]` (0..k-1, and -3..-1 for chat template tokens).
    """

    input_ids: torch.Tensor  # [n, T] int64
    lengths: torch.Tensor  # [n] real tokens per row
    index: torch.Tensor  # [n, P] int64
    labels: list[int]
    n_seen: int
    n_dropped: int
    bos_at_0: bool
    chat: bool

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def uniform(self) -> bool:
        """All rows have the same length and read the same positions: no padding needed."""
        return bool((self.lengths == self.input_ids.shape[1]).all()) and bool(
            (self.index == self.index[:1]).all()
        )


def _answer_start(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], int] | None:
    """Token ids of the conversation up to the first assistant answer, and where it starts."""
    turn = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), None)
    if turn is None:
        return None
    kw = {"enable_thinking": False}  # templates ignore variables they do not use
    prompt = tokenizer.apply_chat_template(
        messages[:turn], add_generation_prompt=True, tokenize=True, **kw
    )
    full = tokenizer.apply_chat_template(messages[: turn + 1], tokenize=True, **kw)
    prompt, full = _ids(prompt), _ids(full)
    if full[: len(prompt)] != prompt:
        return None  # template renders the prompt differently once the answer is there
    return full, len(prompt)


def _ids(out: Any) -> list[int]:
    if isinstance(out, dict) or hasattr(out, "input_ids"):
        out = out["input_ids"]
    return list(out)


def first_tokens(tokenizer: Any, text: str, k: int) -> list[int]:
    """The first k token ids of `text` (with the tokenizer's special tokens), tokenising only a
    prefix: long documents would otherwise cost far more to tokenise than to run.

    The prefix ends at a space and must yield k + 2 tokens, so the first k never touch the cut;
    otherwise the window doubles, up to the whole text.
    """
    window = 16 * k
    while window < len(text):
        cut = text.rfind(" ", 0, window)
        if cut > 0:
            ids = tokenizer(text[:cut], truncation=True, max_length=k + 2)["input_ids"]
            if len(ids) >= k + 2:
                return list(ids[:k])
        window *= 2
    return list(tokenizer(text, truncation=True, max_length=k)["input_ids"])


def tokenize_documents(
    tokenizer: Any,
    documents: Iterable[Document],
    *,
    positions: int,
    n_docs: int,
    template_positions: int = 3,
) -> TokenizedDocs:
    """Tokenise until `n_docs` documents with at least `positions` tokens are kept.

    Plain text keeps exactly the first k tokens (attention is causal: nothing later matters).
    Chat keeps the prompt plus the first k answer tokens and reads the last
    `template_positions` prompt tokens too.
    """
    if positions < 1:
        raise AdlensError("positions (k) must be at least 1.")
    rows: list[list[int]] = []
    starts: list[int] = []
    seen = dropped = 0
    chat: bool | None = None
    for doc in documents:
        if len(rows) >= n_docs:
            break
        seen += 1
        is_chat = isinstance(doc, list)
        if chat is None:
            chat = is_chat
        elif chat != is_chat:
            raise AdlensError("The corpus mixes plain-text and chat documents; use one kind.")
        if isinstance(doc, list):
            res = _answer_start(tokenizer, doc)
            if res is None or len(res[0]) - res[1] < positions or res[1] < template_positions:
                dropped += 1
                continue
            full, start = res
            rows.append(full[: start + positions])
            starts.append(start)
        else:
            ids = first_tokens(tokenizer, doc, positions)
            if len(ids) < positions:
                dropped += 1
                continue
            rows.append(list(ids))
            starts.append(0)
    if seen == 0:
        raise AdlensError("The corpus is empty: no documents were found.")
    if not rows:
        raise AdlensError(
            f"All {seen} documents are shorter than {positions} tokens"
            + (" of answer" if chat else "")
            + "; use fewer positions or a corpus of longer documents."
        )
    labels = ([*range(-template_positions, 0)] if chat else []) + list(range(positions))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for r, ids in enumerate(rows):
        input_ids[r, : len(ids)] = torch.tensor(ids)
    lengths = torch.tensor([len(r) for r in rows])
    offsets = torch.tensor(labels)
    index = torch.tensor(starts)[:, None] + offsets[None, :]
    bos = tokenizer.bos_token_id
    bos_at_0 = bool(bos is not None and (input_ids[:, 0] == bos).all())
    return TokenizedDocs(
        input_ids=input_ids,
        lengths=lengths,
        index=index,
        labels=labels,
        n_seen=seen,
        n_dropped=dropped,
        bos_at_0=bos_at_0,
        chat=bool(chat),
    )


def tokenize_for_norms(
    tokenizer: Any, documents: Iterable[Document], *, n_docs: int, max_tokens: int, skip: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and attention mask of up to `n_docs` texts longer than `skip` tokens."""
    rows: list[list[int]] = []
    for doc in documents:
        if len(rows) >= n_docs:
            break
        if isinstance(doc, list):
            res = _answer_start(tokenizer, doc)
            ids = res[0][:max_tokens] if res else []
        else:
            ids = first_tokens(tokenizer, doc, max_tokens)
        if len(ids) > skip:
            rows.append(ids)
    if not rows:
        raise AdlensError(f"No document is longer than {skip} tokens: cannot estimate norms.")
    width = max(len(r) for r in rows)
    ids_t = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, ids in enumerate(rows):
        ids_t[r, : len(ids)] = torch.tensor(ids)
        mask[r, : len(ids)] = 1
    return ids_t, mask
