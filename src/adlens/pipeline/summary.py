"""summary.json: what later stages and the agent read (reader entries plus context), written
with the hashes of the stages it was built from."""

from __future__ import annotations

from typing import Any

from adlens import __version__
from adlens.core.activations import ActivationDiff
from adlens.core.config import RunConfig
from adlens.store.rundir import RunDir, write_json


def write_summary(rd: RunDir, summary: dict[str, Any], **stages: str) -> dict[str, Any]:
    """Write summary.json naming the stages it was built from (and nothing of a later stage)."""
    summary = {**summary, "stages": stages}
    if "steer" not in stages:
        summary.pop("steer", None)
    write_json(rd.summary_path, summary)
    return summary


def build_summary(
    models: dict[str, Any], diff: ActivationDiff, entries: list[dict[str, Any]], config: RunConfig
) -> dict[str, Any]:
    """What later stages and the agent read: one flat list of reader entries plus context."""
    notes = []
    if diff.n_docs < config.collect.samples:
        notes.append(
            f"Only {diff.n_docs} of {config.collect.samples} requested documents were usable."
        )
    pos_norm = diff.pos_norm_base
    if 0 in diff.labels and len(diff.labels) > 1:
        i0 = diff.labels.index(0)
        others = [i for i, p in enumerate(diff.labels) if p > 0]
        for li, layer in enumerate(diff.layers):
            ratio = (
                float(pos_norm[li, i0] / pos_norm[li, others].mean().clamp_min(1e-12))
                if others
                else 1.0
            )
            if ratio > 5:
                notes.append(
                    f"Layer {layer}: position 0 has {ratio:.0f}x the activation norm of later "
                    "positions (an attention sink"
                    + ("" if diff.bos_at_0 else "; this tokenizer puts no BOS there")
                    + "); its difference reads differently."
                )
    return {
        "adlens_version": __version__,
        "models": {
            k: models.get(k)
            for k in ("base", "finetuned", "adapter", "architecture", "n_layers", "d_model")
        },
        "dataset": config.collect.dataset.name,
        "layers": diff.layers,
        "positions": diff.labels,
        "bos_at_0": diff.bos_at_0,
        "counts": {
            "documents": diff.n_docs,
            "dropped": diff.n_dropped,
            "requested": config.collect.samples,
        },
        "norms": {
            "expected": {side: v.tolist() for side, v in diff.expected_norm.items()},
            "per_position": {
                "base": diff.pos_norm_base.tolist(),
                "finetuned": diff.pos_norm_ft.tolist(),
                "diff": diff.pos_norm_diff.tolist(),
                "mean_diff": diff.mean_diff.norm(dim=-1).tolist(),
            },
        },
        "notes": notes,
        "readers": entries,
    }
