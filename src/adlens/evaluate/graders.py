"""Relevance graders: is each token of a reader's top list related to the finetune?

Two graders behind one interface (`grade(tokens, context) -> list[Verdict]`, and `grade_many`
for a batch of lists): an LLM judge (PROTOCOL §4: reshuffled lists, answers mapped back, a token
counts when the shuffles agree) and an offline grader that needs no network (distinctive words
of the finetuning data against a reference corpus). A verdict is True, False or None (UNKNOWN:
never counted as irrelevant).
"""

from __future__ import annotations

import bisect
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any, Literal, Protocol, runtime_checkable

from adlens.core.data import TextSource, iter_documents
from adlens.core.protocols import UNKNOWN, Verdict
from adlens.core.stopwords import STOPWORDS
from adlens.core.vocab import PROMPT_WORDS
from adlens.errors import AdlensError
from adlens.evaluate.frequent import MARKERS, FrequentTokens
from adlens.judges.chat import ChatRequest
from adlens.judges.client import JudgeClient
from adlens.judges.llm import ask_with_reminder
from adlens.judges.prompts import (
    RELEVANCE_REMINDER,
    RELEVANCE_SYSTEM,
    RELEVANCE_TEMPLATE,
    parse_relevance,
    relevance_messages,
)
from adlens.judges.schemas import relevance_schema
from adlens.organisms.organism import Organism, document_text
from adlens.store.rundir import config_hash

log = logging.getLogger(__name__)

Aggregate = Literal["all", "majority"]
_WORD = re.compile(r"[^\W\d_]+")


@dataclass
class RelevanceContext:
    """What a token is graded against: an organism's description and, when it has data, its
    frequent tokens and documents (loaded on first use)."""

    organism: Organism
    frequent: FrequentTokens | None = None
    documents: list[str] | None = None
    max_documents: int | None = None

    @property
    def name(self) -> str:
        return self.organism.name

    def texts(self) -> list[str]:
        if self.documents is None:
            self.documents = self.organism.finetuning_documents(self.max_documents)
        return self.documents


@runtime_checkable
class RelevanceGrader(Protocol):
    name: str

    def describe(self) -> str: ...

    def fingerprint(self) -> dict[str, Any]:
        """What decides the verdicts, for the stage's config hash."""
        ...

    def grade(self, tokens: Sequence[str], context: RelevanceContext) -> list[Verdict]: ...

    def grade_many(
        self, lists: Sequence[Sequence[str]], context: RelevanceContext
    ) -> list[list[Verdict]]: ...


def aggregate(votes: Iterable[Verdict], rule: Aggregate = "all") -> Verdict:
    """One verdict from a token's votes over the shuffles. UNKNOWN votes are left out; no known
    vote at all is UNKNOWN. "all": relevant only if every known vote says so. "majority": more
    relevant than irrelevant votes; a tie is UNKNOWN."""
    known = [v for v in votes if v is not None]
    if not known:
        return UNKNOWN
    if rule == "all":
        return all(known)
    if rule == "majority":
        yes = sum(known)
        no = len(known) - yes
        return UNKNOWN if yes == no else yes > no
    raise ValueError(f"unknown aggregation rule {rule!r}")


def shuffle_order(n: int, seed: int, shuffle: int) -> list[int]:
    """The order in which the `shuffle`-th reordering shows a list of n tokens (deterministic)."""
    order = list(range(n))
    random.Random(seed * 1_000_003 + shuffle).shuffle(order)
    return order


class LLMRelevanceGrader:
    """Grades by an LLM judge: each list is shown in `shuffles` random orders (seeded), each
    answer is mapped back to the original tokens, and the votes are aggregated (`aggregate`).
    A failed call or an unreadable answer (after one reminder) gives UNKNOWN votes.

    `last_votes[i][j]` keeps the votes of token j of list i from the last call."""

    name = "llm"

    def __init__(
        self,
        client: JudgeClient,
        *,
        shuffles: int = 3,
        aggregate: Aggregate = "all",
        seed: int = 0,
        frequent_shown: int = 100,
    ):
        if shuffles < 1:
            raise ValueError("shuffles must be at least 1")
        self.client = client
        self.shuffles = shuffles
        self.rule = aggregate
        self.seed = seed
        self.frequent_shown = frequent_shown
        self.last_votes: list[list[list[Verdict]]] = []

    def describe(self) -> str:
        return (
            f"LLM judge ({self.client.describe()}), {self.shuffles} shuffles, a token counts "
            f"when {'all' if self.rule == 'all' else 'most'} known votes say relevant"
        )

    def fingerprint(self) -> dict[str, Any]:
        return {
            "grader": "llm",
            "model": self.client.model,
            "base_url": self.client.identity,
            "defaults": self.client.defaults,
            "shuffles": self.shuffles,
            "aggregate": self.rule,
            "seed": self.seed,
            "frequent_shown": self.frequent_shown,
            "prompt": config_hash([RELEVANCE_SYSTEM, RELEVANCE_TEMPLATE]),
            # only when off: grades made before structured answers keep their fingerprint
            **({"structured_output": "off"} if _structured_off(self.client) else {}),
        }

    def grade(self, tokens: Sequence[str], context: RelevanceContext) -> list[Verdict]:
        return self.grade_many([tokens], context)[0]

    def grade_many(
        self, lists: Sequence[Sequence[str]], context: RelevanceContext
    ) -> list[list[Verdict]]:
        description = context.organism.description()
        frequent = context.frequent.display(self.frequent_shown) if context.frequent else []
        requests, parsers, where = [], [], []
        for i, tokens in enumerate(lists):
            for s in range(self.shuffles):
                order = shuffle_order(len(tokens), self.seed, s)
                shown = [tokens[j] for j in order]
                requests.append(
                    ChatRequest(
                        messages=relevance_messages(description, frequent, shown),
                        tag=f"relevance:{context.name}",
                        schema=relevance_schema(shown),
                    )
                )
                parsers.append(partial(parse_relevance, n=len(tokens)))
                where.append((i, s, order))
        votes: list[list[list[Verdict]]] = [
            [[UNKNOWN] * self.shuffles for _ in tokens] for tokens in lists
        ]
        if requests:
            # The reminder names the list's length; lists are 20 long, so one text fits all.
            n = max(len(t) for t in lists)
            parsed, _ = ask_with_reminder(
                self.client, requests, parsers, RELEVANCE_REMINDER.format(n=n)
            )
            for (i, s, order), grades in zip(where, parsed, strict=True):
                if grades is None:
                    continue
                for k, j in enumerate(order):  # shown number k+1 is original token j
                    votes[i][j][s] = grades[k]
        self.last_votes = votes
        return [[aggregate(v, self.rule) for v in token_votes] for token_votes in votes]


def _structured_off(client: Any) -> bool:
    return getattr(client, "structured_output", "auto") == "off"


# --------------------------------------------------------------------------- offline


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased words (runs of letters) of the texts."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in _WORD.findall(text))
    return counts


@dataclass
class _Counts:
    finetune: Counter[str]
    reference: Counter[str]
    n_finetune: int = 0
    n_reference: int = 0
    words: list[str] = field(default_factory=list)  # sorted union, for prefix look-ups

    def __post_init__(self) -> None:
        self.n_finetune = sum(self.finetune.values())
        self.n_reference = sum(self.reference.values())
        self.words = sorted(set(self.finetune) | set(self.reference))

    def prefixed(self, prefix: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self.words, prefix)
        hi = bisect.bisect_left(self.words, prefix + "\U0010ffff")
        words = self.words[lo:hi]
        return sum(self.finetune[w] for w in words), sum(self.reference[w] for w in words)


class OfflineRelevanceGrader:
    """A token is relevant when it names a word distinctive of the finetuning data D against a
    reference corpus R (the run's own reference text, a bounded sample).

    Rule (deterministic; no model, no network):
    1. The token is normalised: whitespace and leading-space markers stripped, lower-cased. A
       token that is not made of letters only (punctuation, digits, code, mixed pieces), a
       single letter, a stop word or a word of the Patchscope identity prompts is irrelevant.
    2. Words are runs of letters, lower-cased, counted in D and in R. If the token is such a
       word (seen in D or R), its counts are used; otherwise, if it has at least `min_prefix`
       letters, the summed counts of all words that start with it (a word-start piece like
       "beek" stands for "beekeeper", "beekeeping"); else it is irrelevant.
    3. Distinctiveness is the log-odds ratio with an informative Dirichlet prior (Monroe,
       Colaresi & Quinn 2008): prior a_w = alpha0 * (y_D + y_R) / (n_D + n_R),
         delta = log((y_D + a_w) / (n_D + alpha0 - y_D - a_w))
               - log((y_R + a_w) / (n_R + alpha0 - y_R - a_w)),
         z = delta / sqrt(1 / (y_D + a_w) + 1 / (y_R + a_w)).
       Relevant when z >= z_min (3.0: significant) AND delta >= log(min_ratio) (the word is
       at least min_ratio = 4 times more frequent, in log-odds, in D than in R: big, not just
       significant, which large corpora make everything). alpha0 = 10,000 pseudo-words: with
       the default sample sizes a word never seen in R needs about 10 uses in D to pass.
    Every token gets a verdict (never UNKNOWN): a token absent from D is simply not
    distinctive of it.
    """

    name = "offline"
    RULE_VERSION = 2  # 2: words of the Patchscope identity prompts never count

    def __init__(
        self,
        reference: TextSource,
        *,
        reference_docs: int = 2000,
        alpha0: float = 10_000.0,
        z_min: float = 3.0,
        min_ratio: float = 4.0,
        min_prefix: int = 4,
        reference_texts: Sequence[str] | None = None,
    ):
        self.reference = reference
        self.reference_docs = reference_docs
        self.alpha0 = alpha0
        self.z_min = z_min
        self.min_ratio = min_ratio
        self.min_prefix = min_prefix
        self._reference_texts = list(reference_texts) if reference_texts is not None else None
        self._reference_counts: Counter[str] | None = None
        self._counts: list[tuple[RelevanceContext, _Counts]] = []
        self.last_scores: list[list[dict[str, Any] | None]] = []

    def describe(self) -> str:
        return (
            f"offline grader: words distinctive of the finetuning data against "
            f"{self.reference_docs} documents of {self.reference.name} (log-odds with an "
            f"informative Dirichlet prior, z >= {self.z_min:g}, ratio >= {self.min_ratio:g})"
        )

    def fingerprint(self) -> dict[str, Any]:
        return {
            "grader": "offline",
            "version": self.RULE_VERSION,
            "reference": self.reference.model_dump(),
            "reference_docs": self.reference_docs,
            "reference_texts": (
                config_hash(self._reference_texts) if self._reference_texts is not None else None
            ),
            "alpha0": self.alpha0,
            "z_min": self.z_min,
            "min_ratio": self.min_ratio,
            "min_prefix": self.min_prefix,
        }

    def reference_counts(self) -> Counter[str]:
        if self._reference_counts is None:
            texts = self._reference_texts
            if texts is None:
                docs = islice(iter_documents(self.reference), self.reference_docs)
                texts = [document_text(d) for d in docs]
            if not texts:
                raise AdlensError(
                    f"The reference corpus {self.reference.name} has no documents; pass "
                    "another one (e.g. --reference brown)."
                )
            self._reference_counts = word_counts(texts)
            log.info(
                "offline relevance: %d reference documents, %d words",
                len(texts),
                sum(self._reference_counts.values()),
            )
        return self._reference_counts

    def _counts_for(self, context: RelevanceContext) -> _Counts:
        for known, counts in self._counts:
            if known is context:
                return counts
        counts = _Counts(word_counts(context.texts()), self.reference_counts())
        self._counts.append((context, counts))
        return counts

    def score(self, y_d: int, y_r: int, counts: _Counts) -> tuple[float, float]:
        """(delta, z) of the log-odds ratio of D against R for counts y_d, y_r."""
        total = counts.n_finetune + counts.n_reference
        a = self.alpha0 * (y_d + y_r) / total if total else 0.0
        if a <= 0:
            return 0.0, 0.0
        a0 = self.alpha0
        delta = math.log((y_d + a) / (counts.n_finetune + a0 - y_d - a)) - math.log(
            (y_r + a) / (counts.n_reference + a0 - y_r - a)
        )
        return delta, delta / math.sqrt(1 / (y_d + a) + 1 / (y_r + a))

    def judge(self, token: str, counts: _Counts) -> tuple[bool, dict[str, Any] | None]:
        key = token.strip().lstrip(MARKERS).strip().lower()
        if not key or not _WORD.fullmatch(key) or len(key) < 2 or key in STOPWORDS:
            return False, None
        if key in PROMPT_WORDS:  # any vector can echo the Patchscope prompt's own words
            return False, None
        if counts.finetune[key] or counts.reference[key]:
            y_d, y_r, how = counts.finetune[key], counts.reference[key], "word"
        elif len(key) >= self.min_prefix:
            (y_d, y_r), how = counts.prefixed(key), "prefix"
        else:
            return False, None
        delta, z = self.score(y_d, y_r, counts)
        relevant = z >= self.z_min and delta >= math.log(self.min_ratio)
        info = {"key": key, "how": how, "y_d": y_d, "y_r": y_r, "delta": delta, "z": z}
        return relevant, {k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()}

    def grade(self, tokens: Sequence[str], context: RelevanceContext) -> list[Verdict]:
        return self.grade_many([tokens], context)[0]

    def grade_many(
        self, lists: Sequence[Sequence[str]], context: RelevanceContext
    ) -> list[list[Verdict]]:
        counts = self._counts_for(context)
        out: list[list[Verdict]] = []
        self.last_scores = []
        for tokens in lists:
            judged = [self.judge(t, counts) for t in tokens]
            out.append([v for v, _ in judged])
            self.last_scores.append([s for _, s in judged])
        return out
