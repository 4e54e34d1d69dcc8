"""Scoring graded reader lists: each list's relevance fractions and output row, and the best
position per reader, variant and layer (readers in the registry's order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adlens.core.protocols import Verdict
from adlens.core.readers import reader_specs
from adlens.evaluate.frequent import token_key
from adlens.evaluate.graders import RelevanceContext, RelevanceGrader
from adlens.results.readings import Reading, TokenProb


def entry_metrics(
    tokens: Sequence[TokenProb], verdicts: Sequence[Verdict], frequent: set[str]
) -> dict[str, Any]:
    """The headline `fraction` is over all graded tokens: an UNKNOWN verdict is not relevant,
    as in the reference. `fraction_known` (over the known verdicts) and the unknown count are
    reported beside it; the weighted and trivial fractions are over the known tokens."""
    known = [(t, v) for t, v in zip(tokens, verdicts, strict=True) if v is not None]
    relevant = [t for t, v in known if v]
    mass = sum(t.prob for t, _ in known)
    trivial = [t for t in relevant if token_key(t.token) in frequent]
    n_known = len(known)
    return {
        "n": len(tokens),
        "known": n_known,
        "unknown": len(tokens) - n_known,
        "relevant": len(relevant),
        "fraction": len(relevant) / len(tokens) if tokens else None,
        "fraction_known": len(relevant) / n_known if n_known else None,
        "weighted": sum(t.prob for t in relevant) / mass if mass > 0 else None,
        "trivial": len(trivial) / n_known if n_known else None,
    }


def _rank(row: dict[str, Any]) -> tuple[float, float, int]:
    return (row["fraction"] or 0.0, row["weighted"] or 0.0, -row["position"])


def best_positions(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per reader, variant and layer, the position with the highest fraction (ties: higher
    weighted fraction, then the earlier position), with the control fraction there and, for a
    baseline, its fraction at the difference's best position. Sorted by reader (registered
    readers in the registry's order, then any other by name), layer and variant."""
    target = [r for r in rows if r["against"] is None]
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in target:
        groups.setdefault((r["reader"], r["variant"], r["layer"]), []).append(r)
    best = {key: max(group, key=_rank) for key, group in groups.items()}
    out = []
    for (reader, variant, layer), b in best.items():
        controls = [
            r["fraction"]
            for r in rows
            if r["against"] is not None
            and (r["reader"], r["variant"], r["layer"], r["position"])
            == (reader, variant, layer, b["position"])
            and r["fraction"] is not None
        ]
        row = {
            "reader": reader,
            "variant": variant,
            "layer": layer,
            "position": b["position"],
            **{
                k: b[k]
                for k in ("fraction", "fraction_known", "weighted", "trivial", "known", "unknown")
            },
            "n": b["n"],
            "relevant_tokens": [t["token"] for t in b["tokens"] if t["verdict"]],
            "control_fraction": sum(controls) / len(controls) if controls else None,
        }
        diff_best = best.get((reader, "diff", layer))
        if variant != "diff" and diff_best is not None:
            pos = diff_best["position"]
            at = [r for r in groups[(reader, variant, layer)] if r["position"] == pos]
            if at:
                row["at_diff_position"] = {"position": pos, "fraction": at[0]["fraction"]}
        out.append(row)
    order = {"diff": 0, "base_mean": 1, "ft_mean": 2, "neg_diff": 3}
    readers = {s.name: i for i, s in enumerate(reader_specs())}
    out.sort(
        key=lambda r: (
            readers.get(r["reader"], len(readers)),
            r["reader"],
            r["layer"],
            order.get(r["variant"], 9),
        )
    )
    return out


def _rows(
    entries: Sequence[Reading],
    verdicts: Sequence[Sequence[Verdict]],
    grader: RelevanceGrader,
    context: RelevanceContext,
    against: str | None,
    top_k: int,
) -> list[dict[str, Any]]:
    frequent = context.frequent.keys() if context.frequent is not None else set()
    votes = getattr(grader, "last_votes", None)
    scores = getattr(grader, "last_scores", None)
    out = []
    for i, (e, vs) in enumerate(zip(entries, verdicts, strict=True)):
        tokens = e.tokens[:top_k]
        graded = []
        for j, (t, v) in enumerate(zip(tokens, vs, strict=True)):
            row = {
                "token": t.token,
                "id": t.id,
                "prob": t.prob,
                "verdict": v,
                "frequent": token_key(t.token) in frequent,
            }
            if votes:
                row["votes"] = votes[i][j]
            if scores and scores[i][j] is not None:
                row["score"] = scores[i][j]
            graded.append(row)
        out.append(
            {
                "against": against,
                "reader": e.reader,
                "head": e.head,
                "layer": e.layer,
                "position": e.position,
                "variant": e.variant,
                "scale": e.scale,
                **entry_metrics(tokens, vs, frequent),
                "tokens": graded,
            }
        )
    return out
