"""Shared pieces of the report figures: the colours and layout, the JSON export, and number and
token-hover helpers."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from adlens.report.tokens import show_token

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


def _hover_tokens(tokens: Sequence[Any], n: int = 6) -> str:
    parts = [
        f"{html.escape(show_token(str(t.get('token', ''))))} {_num(t.get('prob')) or 0:.2f}"
        for t in tokens[:n]
        if isinstance(t, dict)
    ]
    return "<br>".join(parts)
