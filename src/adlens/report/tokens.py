"""Token lists for the report: how a token is shown, which tokens are content words, which
positions are attention sinks, and which list heads the first screen."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adlens.core.activations import attention_sinks
from adlens.core.stopwords import STOPWORDS
from adlens.report.load import RunView
from adlens.results.readings import ALL, Reading, TokenProb
from adlens.results.summary import Summary

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")


def show_token(token: str) -> str:
    """Whitespace made visible, so '\\n' and ' ' can be told apart from nothing."""
    if token == "":
        return "∅"
    out = token.replace("\n", "↵").replace("\t", "⇥").replace("\r", "␍")
    return out if out.strip() else out.replace(" ", "␣")


def is_content(token: str) -> bool:
    """A word of three or more letters that is not a function word: what can name a domain."""
    t = token.strip()
    return bool(_WORD.fullmatch(t)) and len(t) >= 3 and t.lower() not in STOPWORDS


def position_label(pos: int, bos_at_0: bool) -> str:
    """'0 (BOS)', '3', or 'all' for a reading pooled over every position."""
    if pos == ALL:
        return "all"
    return f"{pos} (BOS)" if pos == 0 and bos_at_0 else str(pos)


def sink_positions(summary: Summary, layer: int) -> set[int]:
    """Attention-sink positions of a layer (see adlens.core.activations.attention_sinks); none
    for a layer the summary has no norms of (a pooled reading's, or a partial summary's)."""
    try:
        li = summary.layers.index(layer)
        norms = [float(x) for x in summary.norms.per_position["base"][li]]
    except (KeyError, ValueError, IndexError):
        return set()
    return attention_sinks(norms, summary.positions)


def token_verdicts(view: RunView) -> dict[tuple[str, int, int, str], dict[str, bool | None]]:
    """Relevance verdict per token of each graded list: (reader, layer, position, variant) ->
    token -> True/False/None. Only lists graded against the run's own organism."""
    out: dict[tuple[str, int, int, str], dict[str, bool | None]] = {}
    for r in view.relevance_rows:
        if r.get("against") is not None:
            continue
        try:
            key = (str(r["reader"]), int(r["layer"]), int(r["position"]), str(r["variant"]))
        except (KeyError, TypeError, ValueError):
            continue
        out[key] = {
            str(t.get("token")): t.get("verdict")
            for t in r.get("tokens") or []
            if isinstance(t, dict)
        }
    return out


def find_entry(
    view: RunView, reader: str, variant: str, layer: int, position: int, head: str | None = None
) -> Reading | None:
    """The reader's reading of `variant` at (layer, position); for a reader with heads, through
    `head` (default the finetuned head)."""
    found = view.summary.readings(reader, variant, layer, position, head or "finetuned")
    return found[0] if found else None


@dataclass
class Headline:
    """The list that shows the finetuning domain at a glance, and its baseline."""

    reader: str
    layer: int
    position: int
    entry: Reading
    baseline: Reading | None
    how: str  # why this list was chosen, in words
    sinks: list[int] = field(default_factory=list)
    fraction: float | None = None  # relevant share of the list (evaluate/relevance)
    baseline_fraction: float | None = None


def _relevance_fraction(view: RunView, reader: str, layer: int, pos: int, variant: str):
    for r in view.relevance_rows:
        if (
            r.get("against") is None
            and r.get("reader") == reader
            and r.get("layer") == layer
            and r.get("position") == pos
            and r.get("variant") == variant
            and isinstance(r.get("fraction"), int | float)
        ):
            return float(r["fraction"]), float(r.get("weighted") or 0.0)
    return None


def pick_headline(view: RunView) -> Headline | None:
    """The best list of the difference over every reader, attention-sink positions left out:
    by relevance when evaluate/relevance has graded it, else Patchscope's scale-choice score."""
    diffs = view.summary.readings(variant="diff", head="finetuned")
    if not diffs:
        return None
    sinks = {layer: sink_positions(view.summary, layer) for layer in {e.layer for e in diffs}}
    pool = [e for e in diffs if e.position not in sinks[e.layer]] or diffs
    sink_list = sorted({p for s in sinks.values() for p in s})
    left_out = (
        f"; attention-sink position{'s' if len(sink_list) > 1 else ''} "
        f"{', '.join(map(str, sink_list))} left out"
        if sink_list
        else ""
    )
    graded = {
        id(e): f
        for e in pool
        if (f := _relevance_fraction(view, e.reader, e.layer, e.position, "diff"))
    }
    if graded:
        best = max(
            (e for e in pool if id(e) in graded),
            key=lambda e: (*graded[id(e)], e.reader == "patchscope", -e.position),
        )
        how = "the most relevant list of the difference (evaluate/relevance)" + left_out
    else:
        ps = [e for e in pool if e.reader == "patchscope"]
        if ps:
            best = max(ps, key=lambda e: (_num(e.scale_score), -e.position))
            how = "the highest Patchscope scale-choice score" + left_out
        else:
            best = min(pool, key=lambda e: (e.layer, e.position))
            how = "the first position (no Patchscope entries)" + left_out
    reader, layer, pos = best.reader, best.layer, best.position
    baseline = find_entry(view, reader, "base_mean", layer, pos, best.head)
    own = _relevance_fraction(view, reader, layer, pos, "diff")
    base = _relevance_fraction(view, reader, layer, pos, "base_mean")
    return Headline(
        reader=reader,
        layer=layer,
        position=pos,
        entry=best,
        baseline=baseline,
        how=how,
        sinks=sink_list,
        fraction=own[0] if own else None,
        baseline_fraction=base[0] if base else None,
    )


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return -math.inf
    return v if math.isfinite(v) else -math.inf


def cloud(
    tokens: Sequence[TokenProb],
    verdicts: dict[str, bool | None] | None = None,
    *,
    n: int = 20,
    min_px: float = 15,
    max_px: float = 64,
) -> list[dict[str, Any]]:
    """Tokens for a headline: content words sized by probability (relative to the most likely
    content word, so a likely newline does not shrink the rest), everything else small."""
    shown = tokens[:n]
    content = [t for t in shown if is_content(t.token)]
    top = max((_num(t.prob) for t in content), default=0.0)
    out = []
    for t in shown:
        tok = t.token
        prob = max(0.0, _num(t.prob))
        word = tok in {c.token for c in content}
        size = min_px + (max_px - min_px) * math.sqrt(prob / top) if word and top > 0 else min_px
        verdict = (verdicts or {}).get(tok)
        out.append(
            {
                "text": show_token(tok.strip() or tok),
                "prob": prob,
                "px": round(size, 1),
                "word": word,
                "relevant": verdict,
            }
        )
    return out
