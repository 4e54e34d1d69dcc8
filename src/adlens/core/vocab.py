"""Which tokens may take a slot in a reader's list, and which count as the organism's words.

A reader's top-20 list is read by people, judges and the agent; a slot taken by a newline, a
comma, a special token or half a UTF-8 character names no topic. `clean_mask` marks the tokens
that may appear: their decoded text holds at least one letter or digit, they are not special or
control tokens, and they decode to valid text. The filter applies to the difference and to
every baseline alike; the raw lists are kept in the run directory.

`is_domain_word` is the keyword count's rule: a token counts for an organism only when it is a
whole word of the organism's vocabulary (" hives", "Honey"), never a sub-word piece that merely
starts or ends like one (" flow" is not "flower", " been" is not "bee"), and never a word of the
Patchscope identity prompts, which any vector can echo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from adlens.results.readings import TokenProb

# The Patchscope identity prompts' word triples (patchscope.py builds the prompts): three kinds
# of word each, so that what survives in all three readouts is the patched vector. A list that
# holds these words may be echoing the prompt, so they are never evidence of a domain.
IDENTITY_TRIPLES = (
    ("table", "London", "green"),
    ("run", "seven", "horse"),
    ("music", "Tuesday", "bright"),
)
PROMPT_WORDS = frozenset(w.lower() for words in IDENTITY_TRIPLES for w in words)

_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
_masks: dict[tuple[int, int], torch.Tensor] = {}


def is_clean_text(text: str) -> bool:
    """Text that can name something: a letter or a digit, no replacement character (a byte
    piece of a multi-byte character), no control character."""
    if "\ufffd" in text or any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in text):
        return False
    return any(c.isalnum() for c in text)


def clean_mask(tokenizer: Any, vocab_size: int) -> torch.Tensor:
    """Bool [vocab_size]: True for the tokens a reader's list may show (see the module doc).
    Ids beyond the tokenizer's vocabulary (padding rows of the unembedding) are False. Cached
    per tokenizer."""
    key = (id(tokenizer), vocab_size)
    if key in _masks:
        return _masks[key]
    n = min(vocab_size, len(tokenizer))
    ids = list(range(n))
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    raws = tokenizer.convert_ids_to_tokens(ids)
    texts = tokenizer.batch_decode([[i] for i in ids])
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for i, raw, text in zip(ids, raws, texts, strict=True):
        raw = str(raw)
        if i in special or _BYTE_PIECE.match(raw) or (raw.startswith("<") and raw.endswith(">")):
            continue
        mask[i] = is_clean_text(text)
    _masks[key] = mask
    return mask


def word(token: str) -> str:
    """A token's text as a bare lower-case word: ' Honey' -> 'honey'."""
    return re.sub(r"[^a-z0-9]", "", token.strip().lower())


def keyword_set(keywords: Iterable[str]) -> frozenset[str]:
    return frozenset(w for w in (word(k) for k in keywords) if w)


def is_domain_word(token: str, keywords: Iterable[str]) -> bool:
    """True when the token is a whole word of the vocabulary: the token, stripped of spaces and
    punctuation and lower-cased, equals a keyword or a keyword with a plural 's'/'es' (the
    vocabulary lists other forms itself). Words of the identity prompts never count."""
    w = word(token)
    if len(w) < 2 or w in PROMPT_WORDS or not token.strip().replace("'", "").isalnum():
        return False
    kws = keywords if isinstance(keywords, frozenset) else keyword_set(keywords)
    return w in kws or (w.endswith("s") and w[:-1] in kws) or (w.endswith("es") and w[:-2] in kws)


def count_domain(tokens: Sequence[TokenProb | dict[str, Any]], keywords: Iterable[str]) -> int:
    """How many tokens of a list (a reading's, or rows with a "token") are domain words."""
    kws = keyword_set(keywords)
    return sum(
        is_domain_word(t.token if isinstance(t, TokenProb) else t["token"], kws) for t in tokens
    )


def domain_words_in_text(text: str, keywords: Iterable[str]) -> int:
    """How many words of a text are the organism's words (same rule as for tokens)."""
    kws = keyword_set(keywords)
    return sum(is_domain_word(w, kws) for w in re.findall(r"[A-Za-z0-9']+", text))
