"""Which words one text collection uses distinctively more than another: the log-odds ratio with
an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008). The offline relevance grader and
the contrastive-decoding reader use the same statistic."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"[^\W\d_]+")  # runs of letters


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased words (runs of letters) of the texts.

    Example:
        >>> word_counts(["Owls hunt.", "An owl, two owls"])["owls"]
        2
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in WORD.findall(text))
    return counts


def log_odds(
    y_d: int, n_d: int, y_r: int, n_r: int, alpha0: float = 10_000.0
) -> tuple[float, float]:
    """(delta, z) of a word seen y_d times in n_d words of D and y_r times in n_r of R, with the
    prior a_w = alpha0 * (y_d + y_r) / (n_d + n_r):
    delta = log((y_d + a) / (n_d + alpha0 - y_d - a)) - log((y_r + a) / (n_r + alpha0 - y_r - a)),
    z = delta / sqrt(1 / (y_d + a) + 1 / (y_r + a)).

    Args:
        y_d: the word's count in D.
        n_d: all words of D.
        y_r: the word's count in R.
        n_r: all words of R.
        alpha0: the prior's pseudo-words.

    Example:
        >>> delta, z = log_odds(30, 1000, 1, 1000)
        >>> delta > 0 and z > 3
        True
    """
    total = n_d + n_r
    a = alpha0 * (y_d + y_r) / total if total else 0.0
    if a <= 0:
        return 0.0, 0.0
    delta = math.log((y_d + a) / (n_d + alpha0 - y_d - a)) - math.log(
        (y_r + a) / (n_r + alpha0 - y_r - a)
    )
    return delta, delta / math.sqrt(1 / (y_d + a) + 1 / (y_r + a))
