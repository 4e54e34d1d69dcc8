"""The judge interface: what every judge, LLM-backed or offline, answers.

A verdict is True, False or None. None is UNKNOWN: the judge's answer could not be parsed (after
one retry) or the call failed. UNKNOWN is never a negative verdict: callers count it apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

Verdict = bool | None
UNKNOWN: Verdict = None


@runtime_checkable
class CoherenceJudge(Protocol):
    """Is each completion coherent, fluent text that answers (or at least follows) its prompt?"""

    name: str

    def judge_coherence(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> list[Verdict]: ...


@runtime_checkable
class ScaleChooser(Protocol):
    """Picks the Patchscope scale whose token list is most coherent.

    `lists[i]` is the top-k token list at the i-th scale, each token a dict with `token`, `id`,
    `prob`. `controls[i]`, when given, holds the baselines' tokens at the same scale: tokens
    that top a baseline too are no evidence. Returns (index of the chosen scale, one score per
    scale; higher = better, comparable across positions).
    """

    @property
    def name(self) -> str: ...

    def choose(
        self,
        lists: list[list[dict[str, Any]]],
        controls: list[list[dict[str, Any]]] | None = None,
    ) -> tuple[int, list[float]]: ...
