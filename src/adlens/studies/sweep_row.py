"""One sweep leaderboard row: what a run found, read from its files (relevance graded here, the
other evaluations read when present)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.evaluate.ffa_result import ffa_row, read_ffa
from adlens.organisms.organism import Organism
from adlens.results.readings import ALL
from adlens.results.summary import Summary
from adlens.store.rundir import read_json

# Leaderboard columns are <prefix>_relevance, <prefix>_position, <prefix>_base_mean: short
# prefixes for the first two readers, the reader's own name for any other.
READER_PREFIX = {"logit_lens": "ll", "patchscope": "ps"}


def _relevance(
    run_dir: Path, organism: Organism, settings: dict[str, Any], judge: JudgeConfig
) -> dict[str, Any]:
    from adlens.evaluate.relevance import RelevanceConfig, evaluate_relevance

    try:
        rel_cfg = RelevanceConfig(**settings)
    except ValidationError as err:
        raise AdlensError(f"Sweep relevance settings: {err.errors()[0]['msg']}.") from None
    return evaluate_relevance(run_dir, organism, grader="auto", config=rel_cfg, judge=judge)


def leaderboard_row(
    name: str,
    organism: Organism,
    ratio: float | None,
    run_dir: Path,
    summary: Summary,
    *,
    relevance: dict[str, Any],
    judge: JudgeConfig,
) -> dict[str, Any]:
    """One row: relevance of the difference's best position per reader (with the base-mean
    baseline), domain tokens, steering similarity, false-fact alignment and agent grades where
    present."""
    row: dict[str, Any] = {
        "organism": name,
        "ratio": ratio,
        "run": str(run_dir),
        "documents": summary.counts.documents,
        "notes": "",
    }
    notes = []
    try:
        rel = _relevance(run_dir, organism, relevance, judge)
        row["grader"] = rel.get("grader_name")
        for b in rel["best"]:
            prefix = READER_PREFIX.get(b["reader"], b["reader"])
            if b["variant"] == "diff":
                row[f"{prefix}_relevance"] = _round(b["fraction"])
                # a reader of the whole text has no position: "all"
                row[f"{prefix}_position"] = "all" if b["position"] == ALL else b["position"]
            elif b["variant"] == "base_mean":
                at = b.get("at_diff_position") or {}
                row[f"{prefix}_base_mean"] = _round(at.get("fraction", b["fraction"]))
        known = [v for k, v in row.items() if k.endswith("_relevance") and v is not None]
        row["relevance"] = max(known) if known else None
    except AdlensError as err:
        notes.append(f"relevance: {err}")
    if organism.domain_keywords and summary.readers:
        from adlens.studies.study import trace_strength

        ts = trace_strength(summary, organism.domain_keywords)
        row["domain_tokens"] = ts["domain_tokens"]
        row["domain_base_mean"] = ts["base_mean_domain_tokens"]
    sim_path = run_dir / "evaluate" / "similarity.json"
    if sim_path.is_file():
        sim = read_json(sim_path)
        best = sim.get("best") or {}
        row["steered_vs_D"] = _round((best.get("steered_vs_D") or {}).get("mean"))
        base = (sim.get("baselines") or {}).get("unsteered_vs_D") or {}
        row["unsteered_vs_D"] = _round(base.get("mean"))
        row["of_ceiling"] = _round(best.get("fraction_of_ceiling"))
    ffa = read_ffa(run_dir)  # false-fact alignment (`adlens evaluate ffa`)
    if ffa is not None:
        row |= ffa_row(ffa)
    table = run_dir / "agent" / "table.jsonl"
    if table.is_file():
        for line in table.read_text().splitlines():
            if line.strip():
                a = json.loads(line)
                row[f"agent_{a['agent']}_i{a['budget']}"] = _round(a.get("mean_grade"))
    row["notes"] = "; ".join(notes)
    return row


def _round(x: Any, digits: int = 3) -> Any:
    if isinstance(x, float):
        return None if x != x else round(x, digits)
    return x
