"""The figures of a judge check: one judge's row (answers parsed, UNKNOWNs, retries, latency,
agreement with the offline judge as a share and as Cohen's kappa, a verdict), the helpers that
count them, and the check as markdown tables."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from adlens.core.protocols import Verdict
from adlens.judges.client import JudgeClient

# The verdict rule: a role's judge is usable when at least PARSE_MIN of its answers parse (an
# UNKNOWN falls back to the offline judge, so a few cost little) and, where an offline judge
# exists, it agrees with it beyond chance: Cohen's kappa >= KAPPA_MIN ("moderate" agreement on
# Landis and Koch's scale; raw agreement alone rewards a judge that always says the common label)
# over at least MIN_COMPARED items (fewer say too little to decide).
PARSE_MIN = 0.95
KAPPA_MIN = 0.4
MIN_COMPARED = 10


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: (p_o - p_e) / (1 - p_e), p_o the
    share they agree on, p_e the share expected by chance from each one's label frequencies.
    None when undefined: no items, or both gave one and the same label throughout."""
    n = len(pairs)
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    chance = sum(count * second[label] for label, count in first.items())  # n^2 * p_e
    agree = sum(a == b for a, b in pairs)
    if n == 0 or chance == n * n:
        return None
    return (n * agree - chance) / (n * n - chance)


@dataclass
class JudgeFigures:
    """One judge's row. `answers`: requests whose reply was read, of `requests`; `items`: the
    verdicts asked for, `unknown` of them without one. Agreement (and Cohen's `kappa`) over
    `compared` items that both this judge and the offline one answered. `role`: the judge role
    measured; `schema`: "auto" (a JSON schema sent where the server takes one) or "off" (the
    text protocol), "" where it does not apply."""

    judge: str
    role: str = ""
    requests: int = 0
    answers: int = 0
    items: int = 0
    unknown: int = 0
    retries: int = 0
    failed_calls: int = 0
    mean_latency_s: float | None = None
    median_latency_s: float | None = None
    compared: int = 0
    agree: int = 0
    kappa: float | None = None
    offline: str = ""
    schema: str = ""
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

    def compare(self, pairs: Sequence[tuple[Hashable, Hashable]]) -> None:
        """Agreement with the offline judge over (this judge's label, offline label) pairs."""
        self.compared = len(pairs)
        self.agree = sum(a == b for a, b in pairs)
        self.kappa = cohen_kappa(pairs)

    def to_json(self) -> dict[str, Any]:
        row = {**asdict(self), "parse_rate": self.parse_rate, "agreement": self.agreement}
        return {**row, "verdict": verdict(row)}


def verdict(row: dict[str, Any]) -> str:
    """Whether the judge is usable for its role, by the rule above: "usable", "not usable
    (why)" or "undetermined (why)"."""
    parsed, kappa = row.get("parse_rate"), row.get("kappa")
    if str(row.get("note", "")).startswith("failed"):
        return "not usable (the check failed: see its note)"
    if parsed is None:
        return "undetermined (no requests)"
    if parsed < PARSE_MIN:
        return f"not usable ({_pct(parsed)} parsed < {_pct(PARSE_MIN)})"
    if not row.get("offline"):  # the agent: only its format can be judged
        if not (row.get("details") or {}).get("hypothesis", True):
            return "not usable (no final hypothesis)"
        return "usable (format only: no offline reference)"
    if row.get("compared", 0) < MIN_COMPARED:
        return f"undetermined ({row.get('compared', 0)} items compared < {MIN_COMPARED})"
    if kappa is None:
        return "undetermined (kappa undefined: one label throughout)"
    if kappa < KAPPA_MIN:
        return f"not usable (kappa {kappa:.2f} < {KAPPA_MIN})"
    return "usable"


def pairs(llm: Sequence[Verdict], offline: Sequence[Verdict]) -> list[tuple[bool, bool]]:
    """The items both judges answered, as (llm, offline) pairs."""
    return [(a, b) for a, b in zip(llm, offline, strict=True) if a is not None and b is not None]


def agreement(llm: Sequence[Verdict], offline: Sequence[Verdict]) -> tuple[int, int]:
    """(items both answered, items where they agree)."""
    both = pairs(llm, offline)
    return len(both), sum(a == b for a, b in both)


def median_latency(calls: Sequence[dict[str, Any]]) -> float | None:
    """Median seconds of the calls sent (cache hits left out), from call-log rows."""
    sent = [c["latency_s"] for c in calls if not c.get("cache_hit") and c.get("latency_s")]
    return round(statistics.median(sent), 3) if sent else None


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


SCHEMA_NAMES = {"auto": "JSON schema", "off": "text protocol", "": "-"}


def _num(x: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}{unit}"


def check_table(out: dict[str, Any]) -> str:
    """The check as markdown: one table per model and schema setting, then the summary."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in out["rows"]:
        groups.setdefault((r.get("model") or out.get("judge", ""), r.get("schema", "")), []).append(
            r
        )
    lines = []
    for (model, schema), rows in groups.items():
        lines += [
            f"judge: {model}; organism: {out['organism']}; answers: "
            f"{SCHEMA_NAMES.get(schema, schema)}",
            "",
            "| judge | answers parsed | items | UNKNOWN | retries | median latency | "
            "agreement with offline | kappa | verdict | offline judge |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            agree = f"{_pct(r['agreement'])} of {r['compared']}" if r["compared"] else "-"
            lines.append(
                f"| {r['judge']} | {r['answers']}/{r['requests']} ({_pct(r['parse_rate'])}) | "
                f"{r['items']} | {r['unknown']} | {r['retries']} | "
                f"{_num(r.get('median_latency_s'), ' s')} | {agree} | {_num(r.get('kappa'))} | "
                f"{r.get('verdict') or verdict(r)} | {r['offline'] or '-'} |"
            )
        notes = [f"- {r['judge']}: {r['note']}" for r in rows if r["note"]]
        lines += ([""] + notes if notes else []) + [""]
    if out.get("summary"):
        lines += ["Per model and role (JSON schema / text protocol):", "", summary_table(out)]
    return "\n".join(lines).rstrip() + "\n"


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and role, its rows by schema setting and a verdict: usable when a setting is
    (naming which), else the reason of the setting that parsed best."""
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r.get("model", ""), r.get("role") or r["judge"]), {})[
            r.get("schema", "")
        ] = r
    out = []
    for (model, role), by_schema in groups.items():
        usable = [k for k, r in by_schema.items() if r["verdict"].startswith("usable")]
        best = max(by_schema.values(), key=lambda r: (r["parse_rate"] or 0, r["kappa"] or -1))
        if usable and len(usable) < len(by_schema):
            only = by_schema[usable[0]]["verdict"].removeprefix("usable")
            final = f"usable with the {SCHEMA_NAMES[usable[0]]} only{only}"
        else:
            final = by_schema[usable[0]]["verdict"] if usable else best["verdict"]
        out.append({"model": model, "role": role, "by_schema": by_schema, "verdict": final})
    return out


def _pair(by_schema: dict[str, dict[str, Any]], show: Any) -> str:
    cells = [show(by_schema[k]) for k in ("auto", "off", "") if k in by_schema]
    return " / ".join(cells) if cells else "-"


def summary_table(out: dict[str, Any]) -> str:
    """The README's judge table: per model and role, parse rate, raw agreement, kappa and
    median latency (JSON schema / text protocol), and the verdict."""
    lines = [
        "| model | role | answers parsed | agreement with offline | kappa | median latency "
        "| verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in out["summary"]:
        b = s["by_schema"]
        cells = [
            _pair(b, lambda r: f"{_pct(r['parse_rate'])} of {r['requests']}"),
            _pair(
                b, lambda r: f"{_pct(r['agreement'])} of {r['compared']}" if r["compared"] else "-"
            ),
            _pair(b, lambda r: _num(r["kappa"])),
            _pair(b, lambda r: _num(r["median_latency_s"], " s", 1)),
        ]
        lines.append(f"| {s['model']} | {s['role']} | {' | '.join(cells)} | {s['verdict']} |")
    return "\n".join(lines) + "\n"
