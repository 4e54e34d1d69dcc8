"""summary.json: what later stages and the agent read (every reader's readings plus context),
written with the hashes of the stages it was built from."""

from __future__ import annotations

from typing import Any

from adlens import __version__
from adlens.core.activations import ActivationDiff
from adlens.core.config import RunConfig
from adlens.results.readings import Reading
from adlens.results.summary import Counts, ModelsInfo, Norms, Summary
from adlens.store.rundir import RunDir


def write_summary(rd: RunDir, summary: Summary, **stages: str) -> Summary:
    """Write summary.json naming the stages it was built from (and nothing of a later stage)."""
    update: dict[str, Any] = {"stages": stages}
    if "steer" not in stages:
        update["steer"] = None
    summary = summary.model_copy(update=update)
    summary.save(rd.summary_path)
    return summary


def build_summary(
    models: dict[str, Any], diff: ActivationDiff, readings: list[Reading], config: RunConfig
) -> Summary:
    """What later stages and the agent read: one flat list of readings plus context."""
    notes = []
    if diff.n_docs < config.collect.documents:
        notes.append(
            f"Only {diff.n_docs} of {config.collect.documents} requested documents were usable."
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
    fields = ("base", "finetuned", "adapter", "architecture", "n_layers", "d_model")
    return Summary(
        adlens_version=__version__,
        models=ModelsInfo(**{k: models.get(k) for k in fields}),
        dataset=config.collect.dataset.name,
        layers=diff.layers,
        positions=diff.labels,
        bos_at_0=diff.bos_at_0,
        counts=Counts(
            documents=diff.n_docs, dropped=diff.n_dropped, requested=config.collect.documents
        ),
        norms=Norms(
            expected={side: v.tolist() for side, v in diff.expected_norm.items()},
            per_position={
                "base": diff.pos_norm_base.tolist(),
                "finetuned": diff.pos_norm_ft.tolist(),
                "diff": diff.pos_norm_diff.tolist(),
                "mean_diff": diff.mean_diff.norm(dim=-1).tolist(),
            },
        ),
        notes=notes,
        readers=readings,
    )
