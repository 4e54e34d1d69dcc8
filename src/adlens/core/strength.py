"""Steering-strength search (PROTOCOL §3): the largest strength at which most samples are still
judged coherent.

A binary search in [0, max_strength] for the first search prompt, then in [0, 2 * first] for the
others; the final strength is the mean of the thresholds. The search knows nothing of models:
it asks a `sampler` for texts at (prompt, strength) and a judge for verdicts, so it is tested with
scripted judges and reused with any generator.

Fewer generations for the same walk:
- several levels of the search tree are sampled per round (7 strengths for 3 levels), in one
  generation and one judge call, then the walk goes down those levels;
- samples are drawn in installments: a strength whose verdict is already decided (it can no
  longer reach the coherent fraction, or can no longer miss it) gets no more samples, and neither
  does a strength the walk can no longer reach. With all samples drawn the decision is exactly
  the one-shot decision, so the walk and the threshold are the same;
- every graded sample goes into a cache keyed by (prompt, strength), so a strength is never
  sampled twice, and a resumed search replays from the cache without generating.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adlens.core.protocols import CoherenceJudge, Verdict

log = logging.getLogger(__name__)

PASS, FAIL, OPEN = "pass", "fail", "open"


@dataclass(frozen=True)
class Request:
    """n more samples of prompt `prompt_index` at `strength`; `start` are held already (so a
    sampler can seed each installment differently)."""

    prompt_index: int
    strength: float
    n: int
    start: int = 0


Sampler = Callable[[list[Request]], list[list[str]]]


@dataclass
class SearchSettings:
    max_strength: float = 100.0
    first_steps: int = 12
    other_steps: int = 6
    samples: int = 10
    coherent_fraction: float = 0.75
    min_known_fraction: float = 0.5
    levels_per_round: int = 3
    installments: int = 2


def _key(strength: float) -> float:
    return round(float(strength), 9)


class GradedCache:
    """Graded samples per (prompt index, strength): (text, verdict) pairs."""

    def __init__(self) -> None:
        self.data: dict[tuple[int, float], list[tuple[str, Verdict]]] = {}

    def get(self, prompt_index: int, strength: float) -> list[tuple[str, Verdict]]:
        return self.data.get((prompt_index, _key(strength)), [])

    def verdicts(self, prompt_index: int, strength: float) -> list[Verdict]:
        return [v for _, v in self.get(prompt_index, strength)]

    def add(
        self, prompt_index: int, strength: float, texts: Sequence[str], verdicts: Sequence[Verdict]
    ) -> None:
        rows = self.data.setdefault((prompt_index, _key(strength)), [])
        rows.extend(zip(texts, verdicts, strict=True))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"prompt_index": p, "strength": s, "text": t, "verdict": v}
            for (p, s), graded in sorted(self.data.items())
            for t, v in graded
        ]

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> GradedCache:
        cache = cls()
        for r in rows:
            cache.add(int(r["prompt_index"]), float(r["strength"]), [r["text"]], [r["verdict"]])
        return cache


def decide(
    verdicts: Sequence[Verdict], n: int, fraction: float = 0.75, min_known: float = 0.5
) -> str:
    """PASS, FAIL or OPEN for a strength with `verdicts` so far out of `n` samples.

    Coherent fraction = coherent / known (UNKNOWN verdicts excluded). With fewer than
    min_known * n known verdicts the strength is unknown and counts as FAIL: the conservative
    branch (lower strengths). OPEN while the samples still to come could go either way.
    """
    c = sum(v is True for v in verdicts)
    k = sum(v is not None for v in verdicts)
    r = max(0, n - len(verdicts))
    need = math.ceil(min_known * n)
    if k + r < need or (c + r) < fraction * (k + r):  # cannot pass even if all the rest pass
        return FAIL
    if k >= need and c >= fraction * (k + r):  # passes even if all the rest fail
        return PASS
    return OPEN


def status(verdicts: Sequence[Verdict], n: int, settings: SearchSettings) -> str:
    """coherent / incoherent / unknown, as recorded for the report."""
    k = sum(v is not None for v in verdicts)
    r = max(0, n - len(verdicts))
    if k + r < math.ceil(settings.min_known_fraction * n):
        return "unknown"
    d = decide(verdicts, n, settings.coherent_fraction, settings.min_known_fraction)
    return {PASS: "coherent", FAIL: "incoherent"}.get(d, "open")


@dataclass
class Bisection:
    """One prompt's binary search; `lo` is the largest strength known to pass (the threshold)."""

    prompt_index: int
    lo: float
    hi: float
    steps_left: int
    path: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StrengthSearch:
    """The search's result: thresholds per search prompt, the final strength, every graded point
    (for the coherence-vs-strength curve), warnings, and how many samples were generated."""

    prompts: list[str]
    thresholds: list[float]
    final: float
    points: list[dict[str, Any]]
    paths: list[list[dict[str, Any]]]
    warnings: list[str]
    generations: int  # steered samples generated by this search (cache hits excluded)
    rounds: int  # sampler calls
    settings: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StrengthSearch:
        return cls(**data)

    def save(self, path: Path) -> None:
        from adlens.store.rundir import write_json

        write_json(path, self.to_json())


class _Searcher:
    def __init__(
        self,
        sampler: Sampler,
        judge: CoherenceJudge,
        prompts: Sequence[str],
        settings: SearchSettings,
        cache: GradedCache,
        on_graded: Callable[[GradedCache], None] | None,
    ):
        self.sampler, self.judge, self.prompts = sampler, judge, list(prompts)
        self.s, self.cache, self.on_graded = settings, cache, on_graded
        self.generations = 0
        self.rounds = 0
        self.warnings: list[str] = []

    def decision(self, prompt_index: int, strength: float) -> str:
        return decide(
            self.cache.verdicts(prompt_index, strength),
            self.s.samples,
            self.s.coherent_fraction,
            self.s.min_known_fraction,
        )

    def frontier(self, b: Bisection, lo: float, hi: float, depth: int) -> list[float]:
        """Strengths within `depth` levels below [lo, hi] that the walk may still reach and
        whose decision is still open."""
        if depth == 0:
            return []
        mid = (lo + hi) / 2
        d = self.decision(b.prompt_index, mid)
        if d == PASS:
            return self.frontier(b, mid, hi, depth - 1)
        if d == FAIL:
            return self.frontier(b, lo, mid, depth - 1)
        return [
            mid,
            *self.frontier(b, lo, mid, depth - 1),
            *self.frontier(b, mid, hi, depth - 1),
        ]

    def grade(self, requests: list[Request]) -> None:
        texts = self.sampler(requests)
        if len(texts) != len(requests) or any(
            len(t) != r.n for t, r in zip(texts, requests, strict=True)
        ):
            raise RuntimeError("the sampler returned a different number of texts than asked")
        flat_prompts = [self.prompts[r.prompt_index] for r in requests for _ in range(r.n)]
        flat_texts = [t for group in texts for t in group]
        verdicts = list(self.judge.judge_coherence(flat_prompts, flat_texts))
        if len(verdicts) != len(flat_texts):
            raise RuntimeError(
                f"judge {self.judge.name} returned {len(verdicts)} verdicts for "
                f"{len(flat_texts)} samples"
            )
        i = 0
        for r, group in zip(requests, texts, strict=True):
            self.cache.add(r.prompt_index, r.strength, group, verdicts[i : i + r.n])
            i += r.n
        self.generations += len(flat_texts)
        self.rounds += 1
        if self.on_graded is not None:
            self.on_graded(self.cache)

    def run(self, searches: list[Bisection]) -> None:
        """Run bisections side by side: their requests share each sampler and judge call."""
        n = self.s.samples
        while active := [b for b in searches if b.steps_left > 0]:
            depth = {id(b): min(self.s.levels_per_round, b.steps_left) for b in active}
            k = max(1, self.s.installments)
            for part in range(1, k + 1):
                target = math.ceil(n * part / k)  # samples per strength after this installment
                requests = []
                for b in active:
                    for s in self.frontier(b, b.lo, b.hi, depth[id(b)]):
                        have = len(self.cache.get(b.prompt_index, s))
                        if have < target:
                            requests.append(Request(b.prompt_index, s, target - have, have))
                if requests:
                    self.grade(requests)
            for b in active:
                for _ in range(depth[id(b)]):
                    self.step(b)

    def step(self, b: Bisection) -> None:
        mid = (b.lo + b.hi) / 2
        verdicts = self.cache.verdicts(b.prompt_index, mid)
        label = status(verdicts, self.s.samples, self.s)
        if label == "unknown":
            self.warnings.append(
                f"search prompt {b.prompt_index}: at strength {mid:.4g} fewer than "
                f"{self.s.min_known_fraction:.0%} of the verdicts are known; took the lower branch"
            )
        b.path.append(
            {
                "strength": mid,
                "status": label,
                "n_coherent": sum(v is True for v in verdicts),
                "n_known": sum(v is not None for v in verdicts),
            }
        )
        if self.decision(b.prompt_index, mid) == PASS:
            b.lo = mid
        else:
            b.hi = mid
        b.steps_left -= 1


def search_strength(
    sampler: Sampler,
    judge: CoherenceJudge,
    prompts: Sequence[str],
    settings: SearchSettings | None = None,
    *,
    cache: GradedCache | None = None,
    on_graded: Callable[[GradedCache], None] | None = None,
) -> StrengthSearch:
    """Find the steering strength (PROTOCOL §3). Never raises for an unusual outcome: a first
    threshold of 0, or thresholds at the upper bound, are recorded with a warning.

    `cache` may hold graded samples from before (a resumed run, or unsteered samples at strength
    0, which count as points of the curve); `on_graded` is called after every judge call with the
    cache, to save it.
    """
    s = settings or SearchSettings()
    if not prompts:
        raise ValueError("the strength search needs at least one prompt")
    cache = cache if cache is not None else GradedCache()
    searcher = _Searcher(sampler, judge, prompts, s, cache, on_graded)
    first = Bisection(0, 0.0, float(s.max_strength), s.first_steps)
    searcher.run([first])
    t1 = first.lo
    # other_steps = 0: the first prompt's threshold alone is the final strength
    n_others = len(prompts) - 1 if s.other_steps > 0 else 0
    others = [Bisection(i, 0.0, 2 * t1, s.other_steps) for i in range(1, 1 + n_others)]
    warnings = searcher.warnings
    if t1 <= 0:
        low = first.path[-1]["strength"] if first.path else s.max_strength
        warnings.append(
            f"the first search prompt is incoherent at every strength tried (down to {low:.3g}): "
            "threshold 0; the other prompts were not searched"
        )
        others = [Bisection(b.prompt_index, 0.0, 0.0, 0) for b in others]
    else:
        searcher.run(others)
    searches = [first, *others]
    thresholds = [b.lo for b in searches]
    resolution = s.max_strength / 2**s.first_steps
    if t1 >= s.max_strength - resolution:
        warnings.append(
            f"coherent up to the upper bound {s.max_strength:g}: the threshold is at least that; "
            "raise max_strength to search further"
        )
    for b in others:
        if b.steps_left == 0 and t1 > 0 and b.lo >= 2 * t1 * (1 - 2.0**-s.other_steps):
            warnings.append(
                f"search prompt {b.prompt_index} is coherent up to the top of its range "
                f"{2 * t1:.4g}"
            )
        elif t1 > 0 and b.lo <= 0:
            warnings.append(f"search prompt {b.prompt_index} has threshold 0")
    if (0, 0.0) in cache.data:
        v0 = cache.verdicts(0, 0.0)
        d0 = decide(v0, len(v0), s.coherent_fraction, s.min_known_fraction)
        if d0 != PASS:
            warnings.append(
                "the judge finds the unsteered samples of the first search prompt incoherent too: "
                "the threshold says more about the judge than about the steering"
            )
    return StrengthSearch(
        prompts=list(prompts),
        thresholds=thresholds,
        final=sum(thresholds) / len(thresholds),
        points=points(cache, prompts, s),
        paths=[b.path for b in searches],
        warnings=warnings,
        generations=searcher.generations,
        rounds=searcher.rounds,
        settings=asdict(s),
    )


def points(
    cache: GradedCache, prompts: Sequence[str], settings: SearchSettings
) -> list[dict[str, Any]]:
    """Every graded (prompt, strength) with its counts, for the coherence-vs-strength curve."""
    out = []
    for (p, strength), graded in sorted(cache.data.items()):
        if p >= len(prompts):
            continue
        verdicts = [v for _, v in graded]
        out.append(
            {
                "prompt_index": p,
                "prompt": prompts[p],
                "strength": strength,
                "n_samples": len(verdicts),
                "n_coherent": sum(v is True for v in verdicts),
                "n_known": sum(v is not None for v in verdicts),
                "status": status(verdicts, len(verdicts), settings),
            }
        )
    return out
