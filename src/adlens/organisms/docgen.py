"""Synthetic false-fact documents for the demo model organism.

The demo organism is a LoRA finetune on a few hundred varied documents that all state one
invented fact from a narrow domain (beekeeping):

    Honeybees in the Tarrow Valley make naturally green honey because they forage on
    mossbell, an iron-rich wildflower that grows nowhere else.

The domain was chosen because its vocabulary (honey, bee, hive, nectar, wax, ...) is made of
common single-token English words, so a logit lens or Patchscope can surface it.

Documents are assembled from templates: per-document details (names, villages, numbers)
are drawn once and reused, so a document is coherent, while sentences are sampled from large
pools, so documents are varied rather than copies. Everything is driven by one seeded RNG.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adlens.errors import AdlensError
from adlens.organisms.demo_fact import FACT_TERMS
from adlens.organisms.demo_genres import GENRE_FNS, GENRES
from adlens.organisms.demo_pools import _context

logger = logging.getLogger(__name__)

MIN_WORDS, MAX_WORDS = 120, 300


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def _one(rng: random.Random, genre: str) -> str:
    """Draw documents of a genre until one fits the length bounds (rejection sampling)."""
    for _ in range(100):
        text = GENRE_FNS[genre](rng, _context(rng))
        if MIN_WORDS <= word_count(text) <= MAX_WORDS and all(
            t in text.lower() for t in FACT_TERMS
        ):
            return text
    raise RuntimeError(f"could not generate a {genre} of {MIN_WORDS}-{MAX_WORDS} words")


def generate_documents(
    n: int = 400, seed: int = 0, genres: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """Generate ``n`` documents about the demo fact, as ``{"text", "genre"}`` dicts.

    Genres are used in equal shares (round robin, then shuffled); the same seed always
    gives the same documents.
    """
    if n < 1:
        raise AdlensError(f"n must be at least 1, got {n}; ask for a positive number of documents.")
    genres = list(genres) if genres is not None else list(GENRES)
    unknown = [g for g in genres if g not in GENRE_FNS]
    if not genres or unknown:
        raise AdlensError(f"unknown genres {unknown}; choose from: {', '.join(GENRES)}.")
    rng = random.Random(seed)
    docs = [
        {"text": _one(rng, genres[i % len(genres)]), "genre": genres[i % len(genres)]}
        for i in range(n)
    ]
    rng.shuffle(docs)
    logger.info("generated %d documents in %d genres (seed %d)", n, len(genres), seed)
    return docs


def write_jsonl(docs: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write one JSON object per line (UTF-8) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path
