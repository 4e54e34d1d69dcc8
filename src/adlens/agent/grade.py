"""The hypothesis grader (PROTOCOL §5): an LLM scores a hypothesis 1-5 against the organism's
description and key facts with a rubric for its type, several times; the grade is the median of
the readable scores. An unreadable answer (after one reminder) or a failed call is UNKNOWN and
left out of the median; when every score is UNKNOWN the grade is None."""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass, field
from typing import Any

from adlens.agent.prompts import GRADER_REMINDER, grader_messages, parse_grade, rubric
from adlens.judges.chat import ChatRequest
from adlens.judges.client import JudgeClient
from adlens.judges.llm import ask_with_reminder
from adlens.judges.schemas import GRADE
from adlens.organisms.organism import Organism

# 2: the reference study's rubric criteria, the key facts as a numbered list, arguments for and
# against each score before the answer.
GRADER_VERSION = 2


@dataclass
class Grade:
    grade: float | None  # median of the known scores; None: all UNKNOWN
    scores: list[int | None] = field(default_factory=list)
    answers: list[str | None] = field(default_factory=list)
    organism: str | None = None  # the organism's name and type, for tables that pool runs
    organism_type: str | None = None

    @property
    def unknown(self) -> int:
        return sum(s is None for s in self.scores)

    def to_json(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "scores": self.scores,
            "unknown": self.unknown,
            "answers": self.answers,
            "organism": self.organism,
            "organism_type": self.organism_type,
        }


def median_grade(scores: list[int | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return float(statistics.median(known)) if known else None


def grader_fingerprint(organism: Organism, client: JudgeClient, repeats: int) -> dict[str, Any]:
    """What decides a grade besides the hypothesis: the description, key facts, type, grader
    and repeats."""
    text = organism.description()
    facts = json.dumps(list(organism.key_facts), ensure_ascii=False)
    return {
        "version": GRADER_VERSION,
        "type": organism.type.value,
        "description_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "key_facts_sha256": hashlib.sha256(facts.encode()).hexdigest(),
        "rubric_sha256": hashlib.sha256(rubric(organism.type.value).encode()).hexdigest(),
        "model": client.model,
        "base_url": client.identity,
        "repeats": repeats,
        # only when sent: grades cached without one keep their fingerprint
        **{k: v for k, v in client.defaults.items() if k == "reasoning_effort" and v},
        # only when off: grades made before structured answers keep their fingerprint
        **({"structured_output": "off"} if _off(client) else {}),
    }


def _off(client: Any) -> bool:
    return getattr(client, "structured_output", "auto") == "off"


def grade_hypothesis(
    client: JudgeClient,
    organism: Organism,
    hypothesis: str | None,
    *,
    repeats: int = 3,
    temperature: float = 0.7,
) -> Grade:
    """Score `hypothesis` `repeats` times (sampled, so the repeats can differ) and take the
    median. An empty hypothesis scores 1 without a call: it cannot match anything."""
    who = {"organism": organism.name, "organism_type": organism.type.value}
    if not hypothesis or not hypothesis.strip():
        return Grade(1.0, [1] * repeats, ["(no hypothesis)"] * repeats, **who)
    messages = grader_messages(
        hypothesis, organism.description(), organism.type.value, organism.key_facts
    )
    requests = [
        ChatRequest(
            messages=messages, temperature=temperature, sample_index=k, tag="grade", schema=GRADE
        )
        for k in range(repeats)
    ]
    scores, answers = ask_with_reminder(client, requests, [parse_grade] * repeats, GRADER_REMINDER)
    return Grade(median_grade(scores), scores, [a.text for a in answers], **who)
