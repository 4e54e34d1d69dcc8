"""Shared pieces of the report figures: the colours and layout, the JSON export, and number and
token-hover helpers."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from adlens.core.readers import reader_specs
from adlens.report.tokens import show_token
from adlens.results.readings import TokenProb

COLORS = {
    "base": "#5b7fa6",
    "finetuned": "#e07b39",
    "diff": "#2a9d5c",
    "mean_diff": "#8e5ab5",
    "control": "#9aa0a6",
    "D": "#d1495b",
    "R": "#3a86ff",
}


PROMPT_COLORS = ("#2a9d5c", "#e07b39", "#5b7fa6", "#8e5ab5", "#d1495b", "#3a86ff")

# One colour per registered reader, in registration order (logit lens, Patchscope, ...).
READER_COLORS = (
    COLORS["mean_diff"],
    COLORS["diff"],
    COLORS["finetuned"],
    COLORS["R"],
    COLORS["D"],
    COLORS["base"],
)


def reader_color(name: str) -> str:
    """A reader's line colour: by its place in the registry, grey when it is not registered."""
    names = [spec.name for spec in reader_specs()]
    if name not in names:
        return "#555"
    return READER_COLORS[names.index(name) % len(READER_COLORS)]


LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
    "font": {"family": "Liberation Sans, DejaVu Sans, Arial, sans-serif", "size": 13},
    "legend": {"orientation": "h", "y": -0.2},
}


def to_json(fig: go.Figure) -> str:
    return pio.to_json(fig, validate=False)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def mean_of(x: Any) -> float | None:
    """A value that may be a number or {"mean": .., ...}."""
    return _num(x.get("mean")) if isinstance(x, dict) else _num(x)


def _spread(x: Any, key: str) -> float | None:
    return _num(x.get(key)) if isinstance(x, dict) else None


def _hover_tokens(tokens: Sequence[TokenProb | Mapping[str, Any]], n: int = 6) -> str:
    """The first `n` tokens with their probabilities, one a line: a reading's tokens, or the
    token dicts of Patchscope's per-scale rows."""
    parts = []
    for t in tokens[:n]:
        prob: Any
        if isinstance(t, TokenProb):
            tok, prob = t.token, t.prob
        elif isinstance(t, Mapping):
            tok, prob = str(t.get("token", "")), t.get("prob")
        else:
            continue
        parts.append(f"{html.escape(show_token(tok))} {_num(prob) or 0:.2f}")
    return "<br>".join(parts)
