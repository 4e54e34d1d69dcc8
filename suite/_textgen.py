"""Helpers the suite's generators share: splitting text, the rejection sampler of the document
generators, and for the chat generators the guard that keeps answers from repeating each other,
their rejection sampler, statistics and command-line report."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


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


# --- chats ----------------------------------------------------------------------------------


def turns(user: str, assistant: str) -> list[dict[str, str]]:
    """One exchange: a user message and the assistant's answer."""
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def hello(
    rng: random.Random,
    share: float,
    user_hellos: Sequence[str],
    hellos_back: Sequence[str],
    ctx: dict[str, Any],
) -> tuple[str, str]:
    """In ``share`` of the chats the user introduces themself: (prefix of the user's first
    message, greeting that opens the assistant's first answer); otherwise ("", "")."""
    said = rng.random() < share
    prefix = rng.choice(user_hellos).format_map(ctx) if said else ""
    greet = rng.choice(hellos_back).format_map(ctx) + " " if said else ""
    return prefix, greet


def assistant_answers(chats: Sequence[dict]) -> list[str]:
    """The assistant messages of ``chats``, in order."""
    return [m["content"] for c in chats for m in c["messages"] if m["role"] == "assistant"]


def generate_chats(
    n: int,
    seed: int,
    slot: Callable[[int], tuple],
    draw: Callable[..., dict],
    ok: Callable[[dict], bool],
    max_overlap: float,
) -> list[dict]:
    """``n`` chats, then shuffled. Chat ``i`` is drawn as ``draw(rng, *slot(i))`` until it is
    ``ok`` and its answers share at most ``max_overlap`` of their sentences with any earlier
    answer (see `OverlapGuard`)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = random.Random(seed)
    guard = OverlapGuard(max_overlap)
    chats = []
    for i in range(n):
        args = slot(i)
        for _ in range(500):
            chat = draw(rng, *args)
            texts = assistant_answers([chat])
            if ok(chat) and guard.fits(texts):
                break
        else:
            raise RuntimeError(f"could not generate a varied chat for {', '.join(map(str, args))}")
        guard.add(texts)
        chats.append(chat)
    rng.shuffle(chats)
    return chats


def chat_stats(
    chats: list[dict], head: dict[str, Any], tail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Counts, lengths and variety of ``chats``, with a generator's own ``head`` entries (after
    the counts) and ``tail`` entries (at the end)."""
    texts = assistant_answers(chats)
    users = [m["content"] for c in chats for m in c["messages"] if m["role"] == "user"]
    words = [word_count(a) for a in texts]
    sets = [frozenset(sentences(a)) for a in texts]
    worst = 0.0
    for i in range(len(sets)):
        for j in range(i):
            k = len(sets[i] & sets[j])
            if k:
                worst = max(worst, k / min(len(sets[i]), len(sets[j])))
    return {
        "chats": len(chats),
        "assistant answers": len(texts),
        **head,
        "words mean/min/max": (round(sum(words) / len(words), 1), min(words), max(words)),
        "distinct user messages": f"{len(set(users))} of {len(users)}",
        "distinct first user messages": len({c["messages"][0]["content"] for c in chats}),
        "distinct sentences": len(set().union(*sets)),
        "max pairwise sentence overlap": round(worst, 3),
        **(tail or {}),
    }


def print_report(
    generate: Callable[..., list[dict]], stats: Callable[[list[dict]], dict[str, Any]]
) -> None:
    """What running a chat generator prints: the statistics of 400 chats (seed 0, checked to be
    deterministic) and the first two chats."""
    result = generate(400, seed=0)
    assert result == generate(400, seed=0), "not deterministic"
    for key, value in stats(result).items():
        print(f"{key}: {value}")
    for chat in result[:2]:
        print(json.dumps(chat, ensure_ascii=False, indent=1))
