"""Small helpers shared by the report's sections: names, number formats, the figure list."""

from __future__ import annotations

import math
from typing import Any

VARIANT_NAMES = {
    "diff": "difference",
    "base_mean": "base mean",
    "ft_mean": "finetuned mean",
    "neg_diff": "negated difference",
    "base_mean_in_ft": "drift control (base mean read in the finetuned model)",
}


class Figures:
    """Figure JSON by element id, in the order they appear."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, fig_id: str, fig_json: str | None) -> str | None:
        if fig_json is None:
            return None
        self.items.append((fig_id, fig_json))
        return fig_id


def short_name(name: Any) -> str:
    """The last part of a model path or hub id."""
    s = str(name or "").rstrip("/")
    return s.rsplit("/", 1)[-1] if s else ""


def pct(x: Any) -> str:
    try:
        return f"{100 * float(x):.0f}%"
    except (TypeError, ValueError):
        return "-"


def fmt(x: Any, digits: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-" if x is None else str(x)
    return f"{v:.{digits}g}"


def as_int(x: Any) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return 0


def finite(x: Any) -> Any:
    """NaN and infinities as null: JSON.parse rejects them."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x
