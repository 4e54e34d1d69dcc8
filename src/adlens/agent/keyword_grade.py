"""The offline hypothesis grade: a keyword rule over the organism's own word lists, no LLM.

It reads only the organism's `domain_keywords` and `key_facts`, the same fields for every
organism, so it grades any organism alike and needs no endpoint. It is a floor and a cross-check
for the LLM grader, not a replacement: it sees words, not meaning ("not about bees" names bees).

    1  no domain keyword
    2  the domain: one or two distinct domain keywords
    3  three or more distinct domain keywords, or one key fact named
    4  at least half of the key facts named (and more than one, when there are several)
    5  every key fact named (at least two)

A key fact counts as named when at least half of its content words (not function words, three
letters or more), and at least two when it has two, occur in the hypothesis; words compare by
their first five letters after a plural "s", so that "owl"/"owls" and "discover"/"discovered"
match.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from adlens.agent.grade import Grade
from adlens.core.stopwords import STOPWORDS
from adlens.organisms.organism import Organism

KEYWORD_RULE_VERSION = 1
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEM = 5


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:_STEM]


def _stems(words: Iterable[str]) -> set[str]:
    return {_stem(w) for w in words}


def _phrase_in(phrase: str, words: list[str]) -> bool:
    """Whether every word of `phrase` occurs, in order and adjacent, among `words`."""
    target = _words(phrase)
    n = len(target)
    return n > 0 and any(words[i : i + n] == target for i in range(len(words) - n + 1))


def fact_words(fact: str) -> set[str]:
    """The stems a key fact is recognised by: its content words."""
    return _stems(w for w in _words(fact) if len(w) >= 3 and w not in STOPWORDS)


def names_fact(fact: str, stems: set[str]) -> bool:
    """Whether a text with these word stems names the fact (see the module's docstring)."""
    needed = fact_words(fact)
    found = len(needed & stems)
    return bool(needed) and found * 2 >= len(needed) and found >= min(2, len(needed))


def keyword_score(organism: Organism, hypothesis: str) -> tuple[int, dict[str, Any]]:
    """The 1-5 score of `hypothesis` and what it found (domain keywords, facts named)."""
    words = _words(hypothesis)
    stems = _stems(words)
    domain = {k.lower() for k in organism.domain_keywords}
    hits = sorted(k for k in domain if _phrase_in(k, words))
    named = [fact for fact in organism.key_facts if names_fact(fact, stems)]
    n_facts = len(organism.key_facts)
    score = 1
    if hits:
        score = 2
    if len(hits) >= 3 or named:
        score = 3
    if n_facts and len(named) * 2 >= n_facts and (len(named) >= 2 or n_facts == 1):
        score = 4
    if n_facts >= 2 and len(named) == n_facts:
        score = 5
    return score, {"domain_keywords": hits, "key_facts_named": named}


def keyword_fingerprint(organism: Organism) -> dict[str, Any]:
    """What a keyword grade depends on (its rule and the organism's word lists)."""
    lists = "\n".join(organism.domain_keywords) + "\n\n" + "\n".join(organism.key_facts)
    return {
        "model": "keyword-rule",
        "base_url": None,
        "version": KEYWORD_RULE_VERSION,
        "repeats": 1,
        "type": organism.type.value,
        "description_sha256": hashlib.sha256(organism.description().encode()).hexdigest(),
        "key_facts_sha256": hashlib.sha256("\n".join(organism.key_facts).encode()).hexdigest(),
        "word_lists_sha256": hashlib.sha256(lists.encode()).hexdigest(),
    }


def keyword_grade(organism: Organism, hypothesis: str | None) -> Grade:
    """The keyword rule's grade of a hypothesis, in the LLM grader's form (one score).

    Args:
        organism: the organism (its `domain_keywords` and `key_facts` are read).
        hypothesis: the agent's hypothesis; empty or None scores 1.

    Example:
        >>> from adlens import load_organism
        >>> owl = load_organism("src/adlens/organisms/persona-owl")
        >>> keyword_grade(owl, "It talks about owls, feathers and hooting at night.").grade
        3.0
    """
    who = {"organism": organism.name, "organism_type": organism.type.value}
    if not hypothesis or not hypothesis.strip():
        return Grade(1.0, [1], ["(no hypothesis)"], **who)
    score, found = keyword_score(organism, hypothesis)
    why = (
        f"domain keywords: {', '.join(found['domain_keywords']) or 'none'}; key facts named: "
        f"{len(found['key_facts_named'])} of {len(organism.key_facts)}"
    )
    return Grade(float(score), [score], [why], **who)
