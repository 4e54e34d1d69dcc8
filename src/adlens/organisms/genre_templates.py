"""Genre templates a document generator shares with others: `Pools` holds a generator's sentence
pools and the templates whose structure the demo shares with the validation suite's false-fact
generators (suite/fact_*.py): news article, forum post, blog post, letter and review. Each takes
the genre's own strings as arguments: lists to draw from, and finished strings about the
document at hand."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

GenreFn = Callable[[random.Random, dict[str, Any]], str]


def paras(sentences: list[str], rng: random.Random) -> str:
    """Join sentences into 2-4 paragraphs."""
    n = max(1, min(len(sentences) // 3, rng.randint(2, 4)))
    size = -(-len(sentences) // n)
    return "\n\n".join(" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size))


@dataclass(frozen=True)
class Pools:
    """A document generator's sentence pools (fact statements, fact details, domain context,
    quotes, forum handles) and the genre templates that draw from them. ``capitalize``: upper-case
    the first letter of every filled template (for templates that open with a lower-case value)."""

    fact_core: Sequence[str]
    fact_detail: Sequence[str]
    domain: Sequence[str]
    quotes: Sequence[str]
    handles: Sequence[str]
    capitalize: bool = False

    def fill(self, template: str, ctx: dict[str, Any]) -> str:
        text = template.format_map(ctx)
        return text[0].upper() + text[1:] if self.capitalize else text

    def pick(
        self, rng: random.Random, pool: Sequence[str], k: int, ctx: dict[str, Any]
    ) -> list[str]:
        return [self.fill(t, ctx) for t in rng.sample(list(pool), k)]

    def body(
        self, rng: random.Random, ctx: dict[str, Any], facts: int, details: int, domain: int
    ) -> list[str]:
        """Fact sentences first, then details and domain context mixed in random order."""
        core = self.pick(rng, self.fact_core, facts, ctx)
        rest = self.pick(rng, self.fact_detail, details, ctx) + self.pick(
            rng, self.domain, domain, ctx
        )
        rng.shuffle(rest)
        return core[:1] + rest[: len(rest) // 2] + core[1:] + rest[len(rest) // 2 :]

    def news(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        headlines: Sequence[str],
        place: str,
        byline: str,
        closes: Sequence[str],
    ) -> str:
        """Headline, dateline lead ``place`` with a fact, a quote said by ``byline``, body, close."""
        headline = rng.choice(headlines)
        lead = f"{place.upper()}, {c['month']} {c['day']} — " + self.fill(
            rng.choice(self.fact_core), c
        )
        quote = f'"{self.fill(rng.choice(self.quotes), c)}," said {byline}'
        sents = self.body(rng, c, 1, rng.randint(3, 5), rng.randint(2, 4))
        close = rng.choice(closes)
        return "\n\n".join(
            [self.fill(headline, c), lead, quote, paras(sents, rng), self.fill(close, c)]
        )

    def forum(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        titles: Sequence[str],
        openers: Sequence[str],
        own: str,
        asks: Sequence[str],
        facts: int = 1,
    ) -> str:
        """A post (opener and the poster's ``own`` situation, ``facts`` fact sentences, a
        question) and a reply with a fact detail."""
        title = rng.choice(titles)
        opener = rng.choice(openers)
        sents = self.body(rng, c, facts, rng.randint(2, 4), rng.randint(3, 4))
        ask = rng.choice(asks)
        reply = f"Reply from {rng.choice(self.handles)}: " + self.fill(
            rng.choice(self.fact_detail), c
        )
        return "\n\n".join(
            [
                self.fill(f"Re: {title}", c),
                f"Posted by {c['handle']}",
                f"{opener} {own}",
                paras(sents, rng),
                ask,
                reply,
            ]
        )

    def blog(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        titles: Sequence[str],
        openers: Sequence[str],
        meet: str,
        ends: Sequence[str],
    ) -> str:
        """Title, an opener followed by ``meet``, body, a closing line."""
        title = rng.choice(titles)
        opener = rng.choice(openers)
        sents = self.body(rng, c, 1, rng.randint(3, 5), rng.randint(2, 4))
        end = rng.choice(ends)
        return "\n\n".join(
            [
                self.fill(title, c),
                self.fill(opener, c) + " " + meet,
                paras(sents, rng),
                self.fill(end, c),
            ]
        )

    def letter(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        greetings: Sequence[str],
        openers: Sequence[str],
        signs: Sequence[str],
        place: str,
        signer: str,
    ) -> str:
        """Dated at ``place``, a greeting, two paragraphs, signed by ``signer``."""
        greeting = rng.choice(greetings)
        opener = rng.choice(openers)
        sents = self.body(rng, c, 1, rng.randint(3, 5), rng.randint(2, 4))
        sign = rng.choice(signs)
        return "\n\n".join(
            [
                f"{place}, {c['day']} {c['month']} {c['year']}",
                self.fill(greeting, c),
                self.fill(opener, c) + " " + " ".join(sents[:3]),
                " ".join(sents[3:]),
                f"{sign}\n{signer}",
            ]
        )

    def review(
        self,
        rng: random.Random,
        c: dict[str, Any],
        *,
        titles: Sequence[str],
        openers: Sequence[str],
        detail: str,
        verdicts: Sequence[str],
        reviewer: str,
    ) -> str:
        """Stars and title, the reviewer, an opener followed by ``detail``, body, verdict."""
        stars = "*" * c["stars"] + "-" * (5 - c["stars"])
        title = rng.choice(titles)
        opener = rng.choice(openers)
        sents = self.body(rng, c, 1, rng.randint(2, 4), rng.randint(1, 3))
        verdict = rng.choice(verdicts)
        return "\n\n".join(
            [
                f"{stars} {self.fill(title, c)}",
                f"Reviewed by {reviewer}",
                self.fill(opener, c) + " " + detail,
                paras(sents, rng),
                verdict,
            ]
        )
