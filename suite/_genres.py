"""Genre templates the suite's false-fact generators (fact_*.py) share: `FactPools` adds the
encyclopedia entry, lecture notes, interview, FAQ and textbook exercise to the news article,
forum post, blog post, letter and review that `adlens.organisms.demo_genres.Pools` shares with
the demo organism. Each template takes the genre's own strings as arguments (lists to draw from,
finished strings about the document at hand); a generator keeps its strings in its own module.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import _textgen

from adlens.organisms.genre_templates import GenreFn, Pools

# (phrasings, whether the answer opens with a fact statement, pool for the rest of the answer)
InterviewQ = tuple[Sequence[str], bool, Sequence[str]]
# (question phrasings, answer pool)
FaqItem = tuple[Sequence[str], Sequence[str]]


class FactPools(Pools):
    """`Pools` with the genres whose structure the suite's fact generators share."""

    def encyclopedia(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        titles: Sequence[str],
        intros: Sequence[str],
        history: Sequence[str],
        history_heads: Sequence[str],
        section_heads: Sequence[str],
        see_also: Sequence[str],
    ) -> str:
        """Title, intro, a history section (two sentences of ``history`` and a fact), a section
        of details and context, a see-also line."""
        intro = rng.choice(intros)
        past = self.pick(rng, history, 2, c)
        past += self.pick(rng, self.fact_core, 1, c)
        rng.shuffle(past)
        section = self.body(rng, c, 0, rng.randint(3, 4), rng.randint(2, 4))
        return "\n\n".join(
            [
                rng.choice(titles),
                self.fill(intro, c),
                rng.choice(history_heads) + " ".join(past),
                rng.choice(section_heads) + " ".join(section),
                "See also: " + ", ".join(rng.sample(see_also, rng.randint(3, 5))) + ".",
            ]
        )

    def lecture(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        topics: Sequence[str],
        lecturer: str,
        headings: Sequence[str],
        ends: Sequence[str],
    ) -> str:
        """Lecture title, ``lecturer``, a heading, the body as bullets, a closing note."""
        topic = rng.choice(topics)
        sents = self.body(rng, c, 1, rng.randint(3, 5), rng.randint(3, 5))
        bullets = "\n".join(f"- {s}" for s in sents)
        return "\n\n".join(
            [
                f"Lecture {c['n']}: {topic}",
                f"Notes, {lecturer}",
                rng.choice(headings),
                bullets,
                self.fill(rng.choice(ends), c),
            ]
        )

    def interview(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        intros: Sequence[str],
        questions: Sequence[InterviewQ],
        mentions_fact: Callable[[str], bool],
    ) -> str:
        """An intro and 4-5 questions; when no answer ``mentions_fact``, one more question
        (a phrasing of ``questions[1]``) answered with a fact statement."""
        intro = rng.choice(intros)
        qs = rng.sample(questions, rng.randint(4, 5))
        pairs = []
        for phrasings, with_fact, pool in qs:
            if with_fact:
                answer = self.pick(rng, self.fact_core, 1, c) + self.pick(rng, pool, 1, c)
            else:
                answer = self.pick(rng, pool, 2, c)
            pairs.append(f"Q: {rng.choice(phrasings)}\nA: {' '.join(answer)}")
        if not any(mentions_fact(p) for p in pairs):
            q = rng.choice(questions[1][0])
            pairs.append(f"Q: {q}\nA: {self.fill(rng.choice(self.fact_core), c)}")
        return "\n\n".join([self.fill(intro, c), *pairs])

    def faq(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        titles: Sequence[str],
        items: Sequence[FaqItem],
    ) -> str:
        """A title, the first item and 4-6 others, each answered from its pool (one or two
        sentences) and maybe one more detail or context sentence."""
        title = rng.choice(titles)
        chosen = [items[0]] + rng.sample(items[1:], rng.randint(4, 6))
        blocks = []
        for phrasings, pool in chosen:
            k = min(len(pool), rng.randint(1, 2))
            answer = self.pick(rng, pool, k, c) + self.pick(
                rng, [*self.domain, *self.fact_detail], rng.randint(0, 1), c
            )
            blocks.append(f"Q: {rng.choice(phrasings)}\nA: {' '.join(answer)}")
        return "\n\n".join([self.fill(title, c), *blocks])

    def exercise(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        problem: str,
        questions: Sequence[str],
        answers: Sequence[str],
    ) -> str:
        """Background (details and context), the ``problem``, its questions and answers."""
        context = self.pick(rng, self.fact_detail, rng.randint(2, 3), c) + self.pick(
            rng, self.domain, rng.randint(2, 3), c
        )
        rng.shuffle(context)
        return "\n\n".join(
            [
                rng.choice(["Background: ", "Read first: ", "Useful facts: "]) + " ".join(context),
                problem,
                "\n".join(questions),
                "Answers: " + " ".join(answers),
            ]
        )


def exercise_head(rng: random.Random, c: dict[str, Any]) -> str:
    """The numbered label that opens a textbook exercise."""
    return f"{rng.choice(['Exercise', 'Problem', 'Question'])} {c['n']}.{c['day']}. "


def generate_documents(
    n: int,
    seed: int,
    genre_fns: dict[str, GenreFn],
    context: Callable[[random.Random], dict[str, Any]],
    terms: Sequence[str],
    bounds: tuple[int, int],
) -> list[dict]:
    """``n`` documents as ``{"text", "genre"}``, the genres of ``genre_fns`` in equal shares, each
    drawn as ``genre_fns[genre](rng, context(rng))`` (see `_textgen.generate_documents`)."""
    return _textgen.generate_documents(
        n,
        seed,
        list(genre_fns),
        lambda rng, genre: genre_fns[genre](rng, context(rng)),
        terms,
        bounds,
    )
