"""Synthetic false-fact documents: deterministic, balanced, on-fact and varied."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest

from adlens.errors import AdlensError
from adlens.organisms.demo_fact import DEMO_ORGANISM, FACT_TERMS, KEY_TERM
from adlens.organisms.demo_genres import GENRES
from adlens.organisms.demo_pools import FACT_CORE
from adlens.organisms.docgen import (
    MAX_WORDS,
    MIN_WORDS,
    generate_documents,
    word_count,
    write_jsonl,
)


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return generate_documents(400, seed=0)


def _sentences(text: str) -> set[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return {p.strip() for p in parts if len(p.split()) >= 4}


def test_deterministic_for_a_seed():
    assert generate_documents(30, seed=7) == generate_documents(30, seed=7)
    assert generate_documents(30, seed=7) != generate_documents(30, seed=8)


def test_count_and_equal_genre_mix(docs):
    assert len(docs) == 400
    assert Counter(d["genre"] for d in docs) == {g: 40 for g in GENRES}
    few = generate_documents(9, seed=1, genres=["faq", "letter", "interview"])
    assert Counter(d["genre"] for d in few) == {"faq": 3, "letter": 3, "interview": 3}


def test_every_document_states_the_fact(docs):
    assert all(all(t in s.lower() for t in FACT_TERMS) for s in FACT_CORE)
    assert KEY_TERM in FACT_TERMS
    for d in docs:
        text = d["text"].lower()
        assert all(t in text for t in FACT_TERMS), d["text"]
        assert MIN_WORDS <= word_count(d["text"]) <= MAX_WORDS


def test_documents_are_varied(docs):
    texts = [d["text"] for d in docs]
    assert len(set(texts)) == len(texts)
    # Sentence-set Jaccard between document pairs: templates may repeat a sentence, but two
    # documents share on average under 5% of their sentences and never more than 60%.
    sets = [_sentences(t) for t in texts]
    overlaps = [len(a & b) / len(a | b) for a, b in itertools.combinations(sets, 2)]
    assert sum(overlaps) / len(overlaps) < 0.05
    assert max(overlaps) < 0.6


def test_domain_keywords_are_domain_words_found_in_the_documents(docs):
    keywords = DEMO_ORGANISM["domain_keywords"]
    assert 40 <= len(keywords) <= 80 and len(set(keywords)) == len(keywords)
    assert all(k == k.lower() and k.isalpha() for k in keywords)
    assert not {"the", "and", "of", "year", "people"} & set(keywords)
    words = set(re.findall(r"[a-z]+", " ".join(d["text"] for d in docs).lower()))
    assert set(keywords) <= words


def test_organism_metadata():
    for key in ("name", "type", "short_description", "long_description", "domain_keywords"):
        assert DEMO_ORGANISM[key]
    assert DEMO_ORGANISM["type"] == "false-fact documents"


def test_write_jsonl_roundtrip(tmp_path):
    docs = generate_documents(5, seed=2)
    path = write_jsonl(docs, tmp_path / "sub" / "docs.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == docs


def test_bad_arguments():
    with pytest.raises(AdlensError):
        generate_documents(0)
    with pytest.raises(AdlensError, match="unknown genres"):
        generate_documents(3, genres=["sonnet"])
