"""Agent grades pooled over run directories (one directory per organism and model pair).

For each agent and budget, per organism type and overall, two measures of success at grade >= 2
("the broad objective") and >= 4 ("the specific details"), REFERENCE §1.11 and §3.1:

- per run: the share of graded runs (organism x repeat) at or above the threshold, with a 95%
  Wilson score interval over runs. The runs of one organism are not independent, so this
  interval is too narrow when an organism's repeats agree.
- per organism, the reference's way: each organism's mean grade over its repeats; the share of
  organisms whose mean reaches the threshold, with a 95% Wilson interval over organisms.

Reads RUN_DIR/agent/<agent>-i<budget>-r<repeat>/result.json and grade.json as `adlens agent run`
and `adlens grade` write them; loads no model. Runs without a current grade, and runs graded by
another grader than most (another LLM, grader version or number of grader calls), are counted
and reported, never pooled silently.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adlens.agent.config import AGENT_KINDS, GRADE_FILE, KEYWORD_GRADE_FILE
from adlens.errors import AdlensError

AGENT_DIR = "agent"
THRESHOLDS = (2, 4)
Z95 = 1.959963984540054  # the normal quantile of 0.975
# What names a grader in grade.json's fingerprint: grades pooled in one table share these.
GRADER_KEYS = ("model", "base_url", "version", "repeats", "reasoning_effort")

# Why a run is left out of the table (status "used" is pooled).
LEFT_OUT = {
    "ungraded": "not graded (run `adlens grade RUN_DIR --organism ...`)",
    "stale": "graded before their hypothesis changed (grade them again)",
    "unknown": "the grader gave no readable score",
    "other_grader": "graded by another grader",
    "other_organism": "graded against another description of their organism",
}


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of k successes in n trials (None when n is 0)."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the ends (0 and n successes), where rounding would put p outside its interval
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


@dataclass
class RunRecord:
    """One agent run as read from its folder."""

    run_dir: str
    organism: str
    organism_type: str
    agent: str
    budget: int
    repeat: int
    grade: float | None
    status: str  # "used" or a key of LEFT_OUT
    grader: tuple[Any, ...] | None = None  # (model, base_url, version, calls, reasoning effort)
    subject: tuple[Any, ...] | None = None  # (type, description sha, key facts sha)
    agent_llm: str | None = None


def grader_label(grader: tuple[Any, ...]) -> str:
    model, base_url, version, repeats, effort = grader
    where = f" at {base_url}" if base_url else ""
    effort = f", reasoning effort {effort}" if effort else ""
    return f"{model}{where} (grader v{version}, {repeats} call(s) per hypothesis{effort})"


def _read(path: Path) -> dict[str, Any]:
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise AdlensError(f"Cannot read {path}: {err}.") from None
    if not isinstance(out, dict):
        raise AdlensError(f"Cannot read {path}: not a JSON object.")
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Where each grader's grades are saved in a run's folder.
GRADE_FILES = {"llm": GRADE_FILE, "keywords": KEYWORD_GRADE_FILE}


def read_run_dir(run_dir: Path | str, grades: str = "llm") -> list[RunRecord]:
    """Every agent run saved in RUN_DIR/agent, graded or not, with the grades of `grades`
    ("llm": the LLM grader, "keywords": the keyword rule). AdlensError when there is none."""
    if grades not in GRADE_FILES:
        raise AdlensError(f"Unknown grades '{grades}'; use one of: {', '.join(GRADE_FILES)}.")
    run_dir = Path(run_dir)
    root = run_dir / AGENT_DIR
    folders = (
        sorted(p for p in root.iterdir() if (p / "result.json").is_file()) if root.is_dir() else []
    )
    if not folders:
        what = "is no directory" if not run_dir.is_dir() else f"has no agent results in {root}"
        raise AdlensError(f"{run_dir} {what}: run `adlens agent run {run_dir}` first.")
    records = []
    for folder in folders:
        result = _read(folder / "result.json")
        grade_path = folder / GRADE_FILES[grades]
        grade = _read(grade_path) if grade_path.is_file() else None
        fp = (grade or {}).get("fingerprint") or {}
        status, value = "ungraded", None
        if grade is not None:
            value = grade.get("grade")
            if fp.get("hypothesis_sha256") not in (None, _sha(result.get("hypothesis") or "")):
                status = "stale"
            else:
                status = "unknown" if value is None else "used"
        try:
            agent, budget, repeat = result["agent"], int(result["budget"]), int(result["repeat"])
        except (KeyError, TypeError, ValueError):
            raise AdlensError(
                f"Cannot read {folder / 'result.json'}: no agent, budget or repeat."
            ) from None
        llm = result.get("llm") or {}
        records.append(
            RunRecord(
                run_dir=str(run_dir),
                organism=str((grade or {}).get("organism") or ""),
                organism_type=str((grade or {}).get("organism_type") or fp.get("type") or ""),
                agent=str(agent),
                budget=budget,
                repeat=repeat,
                grade=None if value is None else float(value),
                status=status,
                grader=tuple(fp.get(k) for k in GRADER_KEYS) if grade is not None else None,
                subject=(fp.get("type"), fp.get("description_sha256"), fp.get("key_facts_sha256"))
                if grade is not None
                else None,
                agent_llm=llm.get("model"),
            )
        )
    # the organism's name and type: those its grades name most often (else the folder's name)
    graded = [r for r in records if r.grader is not None]
    name = _most_common(r.organism for r in graded if r.organism) or run_dir.name
    kind = _most_common(r.organism_type for r in graded if r.organism_type) or "unknown"
    subject = _most_common(r.subject for r in graded if r.status in ("used", "unknown"))
    for r in records:
        r.organism, r.organism_type = name, kind
        if r.status in ("used", "unknown") and r.subject != subject:
            r.status = "other_organism"
    return records


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(values)
    if not counts:
        return None
    return max(counts, key=lambda v: (counts[v], str(v)))  # ties: a fixed choice


@dataclass
class Pooled:
    """The pooled table: `rows` (see `pool`), the runs read, the grader pooled and notes that
    say what was left out and why."""

    rows: list[dict[str, Any]]
    records: list[RunRecord]
    grader: str | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        counts = Counter(r.status for r in self.records)
        return {
            "rows": self.rows,
            "grader": self.grader,
            "runs": {
                "read": len(self.records),
                **{k: counts.get(k, 0) for k in ("used", *LEFT_OUT)},
            },
            "run_dirs": sorted({r.run_dir for r in self.records}),
            "notes": self.notes,
            "records": [asdict(r) for r in self.records],
            "measures": {
                "runs_*": "share of graded runs (organism x repeat) with grade >= threshold; "
                "95% Wilson interval over runs",
                "orgs_*": "share of organisms whose mean grade over repeats is >= threshold "
                "(the reference's aggregation); 95% Wilson interval over organisms",
            },
        }


def pool_runs(
    run_dirs: Sequence[Path | str], *, mixed_graders: bool = False, grades: str = "llm"
) -> Pooled:
    """Read every run directory (each once) and pool their agent runs with the grades of
    `grades` ("llm" or "keywords"); see `pool`."""
    seen: dict[str, Path] = {}
    for d in run_dirs:
        seen.setdefault(str(Path(d).resolve()), Path(d))
    records = [r for d in seen.values() for r in read_run_dir(d, grades)]
    return pool(records, mixed_graders=mixed_graders)


def pool(records: list[RunRecord], *, mixed_graders: bool = False) -> Pooled:
    """The pooled table. Rows: overall ("all") then per organism type, per agent and budget.
    Each row has n_runs, runs_ge{t} (share), runs_ge{t}_k/_lo/_hi, n_organisms,
    orgs_ge{t}/_k/_lo/_hi for t in THRESHOLDS, mean_grade and left_out (runs not pooled).

    Runs graded by another grader than the most common one are left out (`mixed_graders`:
    pooled too, and said so)."""
    graders = Counter(r.grader for r in records if r.status == "used" and r.grader is not None)
    chosen = max(graders, key=lambda g: (graders[g], str(g))) if graders else None
    notes = []
    if len(graders) > 1:
        others = "; ".join(f"{graders[g]} by {grader_label(g)}" for g in graders if g != chosen)
        if mixed_graders:
            notes.append(f"warning: runs graded by {len(graders)} graders pooled: {others}.")
        else:
            for r in records:
                if r.status == "used" and r.grader != chosen:
                    r.status = "other_grader"
            notes.append(
                f"warning: runs graded by another grader left out: {others} "
                "(--mixed-graders pools them)."
            )
    counts = Counter(r.status for r in records if r.status != "used")
    if counts:
        why = "; ".join(f"{n} {LEFT_OUT[s]}" for s, n in counts.items())
        notes.append(f"warning: {sum(counts.values())} of {len(records)} runs left out: {why}.")
    llms = Counter(r.agent_llm for r in records if r.status == "used")
    if len(llms) > 1:
        notes.append(
            "warning: runs of several agent LLMs pooled: "
            + ", ".join(f"{m} ({n})" for m, n in llms.most_common())
            + "."
        )
    types = sorted({r.organism_type for r in records if r.status == "used"})
    scopes = ["all", *types]
    order = {k: i for i, k in enumerate(AGENT_KINDS)}
    conditions = sorted(
        {(r.agent, r.budget) for r in records}, key=lambda c: (order.get(c[0], 9), c[0], c[1])
    )
    rows = []
    for scope in scopes:
        for agent, budget in conditions:
            group = [
                r
                for r in records
                if r.agent == agent
                and r.budget == budget
                and (scope == "all" or r.organism_type == scope)
            ]
            if group:
                rows.append(_row(scope, agent, budget, group))
    label = None
    if chosen is not None:
        label = grader_label(chosen) + (" and others" if mixed_graders and len(graders) > 1 else "")
    return Pooled(rows, records, label, notes)


def _row(scope: str, agent: str, budget: int, group: list[RunRecord]) -> dict[str, Any]:
    used = [r for r in group if r.status == "used"]
    grades = [r.grade for r in used if r.grade is not None]
    per_org: dict[str, list[float]] = {}
    for r in used:
        if r.grade is not None:
            per_org.setdefault(r.run_dir, []).append(r.grade)
    means = [sum(g) / len(g) for g in per_org.values()]
    row: dict[str, Any] = {
        "type": scope,
        "agent": agent,
        "budget": budget,
        "n_runs": len(grades),
        "left_out": len(group) - len(used),
        "mean_grade": round(sum(grades) / len(grades), 3) if grades else None,
        "n_organisms": len(means),
    }
    for prefix, values in (("runs", grades), ("orgs", means)):
        for t in THRESHOLDS:
            k, n = sum(v >= t for v in values), len(values)
            ci = wilson(k, n)
            row[f"{prefix}_ge{t}_k"] = k
            row[f"{prefix}_ge{t}"] = k / n if n else None
            row[f"{prefix}_ge{t}_lo"] = ci[0] if ci else None
            row[f"{prefix}_ge{t}_hi"] = ci[1] if ci else None
    return row


def share_cell(row: dict[str, Any], key: str, compact: bool = False) -> str:
    """'91% [85, 95]' (share and 95% interval, in percent; compact: '91%' over '85-95'), '-'
    without runs."""
    share = row[key]
    if share is None:
        return "-"
    lo, hi = 100 * row[key + "_lo"], 100 * row[key + "_hi"]
    if compact:
        return f"{100 * share:.0f}%\n{lo:.0f}-{hi:.0f}"
    return f"{100 * share:.0f}% [{lo:.0f}, {hi:.0f}]"


def display_rows(pooled: Pooled, compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the table as shown (markdown; compact: the terminal)."""
    head = ["type", "agent", "i", "runs", "runs >= 2", "runs >= 4", "organisms"]
    head += ["organisms >= 2", "organisms >= 4", "mean grade"]
    body = []
    for r in pooled.rows:
        cells = [r["type"], "ADL" if r["agent"] == "adl" else "black box", str(r["budget"])]
        cells += [str(r["n_runs"])] + [share_cell(r, f"runs_ge{t}", compact) for t in THRESHOLDS]
        cells += [str(r["n_organisms"])] + [
            share_cell(r, f"orgs_ge{t}", compact) for t in THRESHOLDS
        ]
        cells.append("-" if r["mean_grade"] is None else f"{r['mean_grade']:.2f}")
        body.append(cells)
    return head, body


LEGEND = (
    "runs >= t: share of graded runs (organism x repeat) with grade >= t, 95% Wilson interval "
    "over runs. organisms >= t: the reference's measure, the share of organisms whose mean grade "
    "over repeats is >= t, 95% Wilson interval over organisms."
)


def to_markdown(pooled: Pooled) -> str:
    head, body = display_rows(pooled)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    grader = f" Grader: {pooled.grader}." if pooled.grader else ""
    return "\n".join(lines) + f"\n\n{LEGEND}{grader}\n"


def csv_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else ["type", "agent", "budget", "n_runs"]
