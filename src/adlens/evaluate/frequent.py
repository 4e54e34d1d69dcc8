"""The most frequent content tokens of a finetuning dataset (PROTOCOL §4): context for the
relevance judge, and the yardstick for "trivial" relevant tokens.

Tokens are counted by a normalised key: the decoded token without its leading-space marker,
lower-cased, so " Honey", "honey" and " honey" are one entry; the entry keeps its most common
surface form for display. Left out: special tokens and tokenizer markers (`<...>`), tokens
without a letter (whitespace, punctuation, digits, stray bytes), single ASCII characters, stop
words (adlens.core.stopwords) and tokens seen fewer than `min_count` times.

Results are cached on disk by the documents' sha256, the tokenizer's name and vocabulary size,
and the settings, so each dataset is tokenised once.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adlens.core.stopwords import STOPWORDS
from adlens.organisms.organism import texts_sha256
from adlens.store.rundir import config_hash, read_json, write_json

log = logging.getLogger(__name__)

VERSION = 1  # bump when the counting rule changes: old cache entries are then ignored
MARKERS = "\u0120\u2581"  # byte-level BPE's "Ġ" and sentencepiece's "▁" leading-space markers
_MARKER_TOKEN = re.compile(r"^<[^<>\s]*>$|^\[[A-Z_]+\]$")  # <filename>, <|im_end|>, [CLS]
_WORD = re.compile(r"[^\W\d_]+")
BATCH = 256


@dataclass
class FrequentTokens:
    """The top content tokens of a dataset: `tokens[i]` = {"token": display form, "key": counted
    form, "count": n}, most frequent first."""

    tokens: list[dict[str, Any]]
    n_documents: int
    n_tokens: int
    tokenizer: str
    settings: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def keys(self) -> set[str]:
        return {t["key"] for t in self.tokens}

    def display(self, n: int | None = None) -> list[str]:
        return [t["token"] for t in self.tokens[:n]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FrequentTokens:
        return cls(**data)


def token_key(token: str) -> str:
    """The counted form of a token string: whitespace and leading-space markers stripped,
    lower-cased."""
    return token.strip().lstrip(MARKERS).strip().lower()


def is_content(key: str, raw: str = "") -> bool:
    """False for tokens that carry no topic: empty, markers, no letter, one ASCII character,
    stop words."""
    if not key or _MARKER_TOKEN.match(raw.strip() or key):
        return False
    letters = "".join(_WORD.findall(key))  # "'s" -> "s", "re-" -> "re"
    if not letters:
        return False  # whitespace, punctuation, digits, stray bytes
    if len(letters) == 1 and letters.isascii():
        return False
    return key not in STOPWORDS and letters not in STOPWORDS


def tokenizer_name(tokenizer: Any | None) -> str:
    if tokenizer is None:
        return "words"
    return f"{getattr(tokenizer, 'name_or_path', type(tokenizer).__name__)}:{len(tokenizer)}"


def count_tokens(texts: Sequence[str], tokenizer: Any | None) -> tuple[Counter[str], Counter, int]:
    """Counts of every token (by key, and by (key, surface form)) and the total token count.
    Without a tokenizer, words (runs of letters) stand in for tokens."""
    by_key: Counter[str] = Counter()
    by_form: Counter[tuple[str, str]] = Counter()
    if tokenizer is None:
        total = 0
        for text in texts:
            words = _WORD.findall(text)
            total += len(words)
            for w in words:
                by_key[w.lower()] += 1
                by_form[(w.lower(), w)] += 1
        return by_key, by_form, total
    ids: Counter[int] = Counter()
    for i in range(0, len(texts), BATCH):
        enc = tokenizer(list(texts[i : i + BATCH]), add_special_tokens=False, verbose=False)
        for row in enc["input_ids"]:
            ids.update(row)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    for tid, n in ids.items():  # decode each distinct id once, not every occurrence
        if tid in special:
            continue
        surface = tokenizer.decode([tid])
        key = token_key(surface)
        by_key[key] += n
        by_form[(key, surface.strip().lstrip(MARKERS).strip())] += n
    return by_key, by_form, sum(ids.values())


def top_content_tokens(
    by_key: Counter[str], by_form: Counter, *, top_n: int, min_count: int
) -> list[dict[str, Any]]:
    # The display form: the most common surface form; ties go to the lower-case one.
    best: dict[str, tuple[int, bool, str]] = {}
    for (key, form), n in by_form.items():
        rank = (-n, form != key, form)
        if key not in best or rank < best[key]:
            best[key] = rank
    display = {k: rank[2] for k, rank in best.items()}
    kept = [(k, n) for k, n in by_key.items() if n >= min_count and is_content(k, display[k])]
    kept.sort(key=lambda kn: (-kn[1], kn[0]))  # ties by key: deterministic
    return [{"token": display[k], "key": k, "count": n} for k, n in kept[:top_n]]


def frequent_tokens(
    texts: Sequence[str],
    tokenizer: Any | None = None,
    *,
    top_n: int = 100,
    min_count: int = 3,
    cache_dir: Path | str | None = None,
    use_cache: bool = True,
) -> FrequentTokens:
    """The `top_n` most frequent content tokens of `texts` (see the module doc), cached on disk
    under `cache_dir` (default: <adlens cache>/frequent-tokens)."""
    settings = {"top_n": top_n, "min_count": min_count, "version": VERSION}
    name = tokenizer_name(tokenizer)
    key = config_hash(
        {
            "documents": texts_sha256(list(texts)),
            "tokenizer": name,
            "settings": settings,
            "stopwords": sorted(STOPWORDS),
        }
    )
    path = None
    if use_cache:
        if cache_dir is None:
            from adlens.store.asset_cache import cache_dir as adlens_cache

            cache_dir = adlens_cache() / "frequent-tokens"
        path = Path(cache_dir) / f"{key}.json"
        if path.is_file():
            try:
                return FrequentTokens.from_json(read_json(path))
            except (ValueError, TypeError):
                log.warning("ignoring unreadable frequent-token cache %s", path)
    by_key, by_form, total = count_tokens(texts, tokenizer)
    result = FrequentTokens(
        tokens=top_content_tokens(by_key, by_form, top_n=top_n, min_count=min_count),
        n_documents=len(texts),
        n_tokens=total,
        tokenizer=name,
        settings=settings,
        key=key,
    )
    if path is not None:
        write_json(path, result.to_json())
    log.info(
        "frequent tokens: %d documents, %d tokens (%s); top: %s",
        len(texts),
        total,
        name,
        ", ".join(result.display(10)),
    )
    return result
