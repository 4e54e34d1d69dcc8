"""The figures of a judge check: one judge's row (answers parsed, UNKNOWNs, retries, latency,
agreement with the offline judge), the helpers that count them, and the check as a markdown
table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from adlens.core.protocols import Verdict
from adlens.judges.client import JudgeClient


@dataclass
class JudgeFigures:
    """One judge's row. `answers`: requests whose reply was read, of `requests`; `items`: the
    verdicts asked for, `unknown` of them without one. Agreement over `compared` items that both
    this judge and the offline one answered."""

    judge: str
    requests: int = 0
    answers: int = 0
    items: int = 0
    unknown: int = 0
    retries: int = 0
    failed_calls: int = 0
    mean_latency_s: float | None = None
    compared: int = 0
    agree: int = 0
    offline: str = ""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def parse_rate(self) -> float | None:
        return self.answers / self.requests if self.requests else None

    @property
    def agreement(self) -> float | None:
        return self.agree / self.compared if self.compared else None

    def take_stats(self, client: JudgeClient) -> None:
        stats = client.stats()
        self.retries = stats["retries"]
        self.failed_calls = stats["failures"]
        self.mean_latency_s = stats["mean_latency_s"]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "parse_rate": self.parse_rate, "agreement": self.agreement}


def agreement(llm: Sequence[Verdict], offline: Sequence[Verdict]) -> tuple[int, int]:
    """(items both answered, items where they agree)."""
    both = [(a, b) for a, b in zip(llm, offline, strict=True) if a is not None and b is not None]
    return len(both), sum(a == b for a, b in both)


def acted_replies(rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(LLM calls, replies the agent could act on: a valid tool call or a final answer)."""
    calls = acted = 0
    pending = False  # the last reply has not been acted on yet
    for row in rows:
        if row["type"] == "llm_call":
            calls += 1
            pending = row["status"] != "failed"
        elif pending and (
            (row["type"] == "tool" and not row.get("error"))
            or (row["type"] == "end" and row.get("hypothesis"))
        ):
            acted += 1
            pending = False
    return calls, acted


def spread(items: Sequence[Any], n: int) -> list[Any]:
    """Up to n items evenly spaced over the sequence (the first and last included)."""
    if len(items) <= n:
        return list(items)
    if n == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def check_table(out: dict[str, Any]) -> str:
    """The check as a markdown table."""
    lines = [
        f"judge: {out['judge']}; organism: {out['organism']}",
        "",
        "| judge | answers parsed | items | UNKNOWN | retries | mean latency | "
        "agreement with offline | offline judge |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in out["rows"]:
        latency = "-" if r["mean_latency_s"] is None else f"{r['mean_latency_s']:.2f} s"
        agree = f"{_pct(r['agreement'])} of {r['compared']}" if r["compared"] else "-"
        lines.append(
            f"| {r['judge']} | {r['answers']}/{r['requests']} ({_pct(r['parse_rate'])}) | "
            f"{r['items']} | {r['unknown']} | {r['retries']} | {latency} | {agree} | "
            f"{r['offline'] or '-'} |"
        )
    notes = [f"- {r['judge']}: {r['note']}" for r in out["rows"] if r["note"]]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
