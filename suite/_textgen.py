"""Helpers the suite's generators share: splitting text, the rejection sampler of the document
generators, and the guard that keeps chat answers from repeating each other."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def paras(sentences: list[str], rng: random.Random) -> str:
    """Join sentences into 2-4 paragraphs."""
    n = max(1, min(len(sentences) // 3, rng.randint(2, 4)))
    size = -(-len(sentences) // n)
    return "\n\n".join(" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size))


def repeats(text: str) -> bool:
    """Whether a sentence of four or more words occurs twice in the text."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if len(p.split()) >= 4]
    return len(parts) != len(set(parts))


def generate_documents(
    n: int,
    seed: int,
    genres: Sequence[str],
    draw: Callable[[random.Random, str], str],
    terms: Sequence[str],
    bounds: tuple[int, int],
) -> list[dict]:
    """``n`` documents as ``{"text", "genre"}``, genres in equal shares (round robin, then
    shuffled). Each is drawn with ``draw(rng, genre)`` until it is ``bounds`` words long,
    holds every one of ``terms`` and repeats no sentence (rejection sampling)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = random.Random(seed)

    def one(genre: str) -> str:
        for _ in range(100):
            text = draw(rng, genre)
            if (
                bounds[0] <= word_count(text) <= bounds[1]
                and all(t in text.lower() for t in terms)
                and not repeats(text)
            ):
                return text
        raise RuntimeError(f"could not generate a {genre} of {bounds[0]}-{bounds[1]} words")

    docs = [
        {"text": one(genres[i % len(genres)]), "genre": genres[i % len(genres)]} for i in range(n)
    ]
    rng.shuffle(docs)
    return docs


class OverlapGuard:
    """Rejects an answer sharing more than ``max_overlap`` of its sentences (counted against
    the shorter answer) with an earlier one."""

    def __init__(self, max_overlap: float) -> None:
        self.max_overlap = max_overlap
        self.sets: list[frozenset[str]] = []
        self.index: dict[str, list[int]] = {}

    def fits(self, texts: list[str]) -> bool:
        for text in texts:
            sents = frozenset(sentences(text))
            shared = Counter(i for s in sents for i in self.index.get(s, ()))
            for i, k in shared.items():
                if k / min(len(sents), len(self.sets[i])) > self.max_overlap:
                    return False
        return True

    def add(self, texts: list[str]) -> None:
        for text in texts:
            sents = frozenset(sentences(text))
            for s in sents:
                self.index.setdefault(s, []).append(len(self.sets))
            self.sets.append(sents)
