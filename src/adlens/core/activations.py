"""ActivationDiff, the result of the difference engine: mean activations per (layer, position),
saved to and loaded from a run's collect stage; and the attention sinks among its positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from adlens.errors import AdlensError
from adlens.store.rundir import save_tensors

SIDES = ("base", "finetuned")


SINK_RATIO = 5.0  # a position with this many times the median norm of the others is a sink


def attention_sinks(
    norms: Sequence[float], labels: Sequence[int], ratio: float = SINK_RATIO
) -> set[int]:
    """Labels of the positions whose mean activation norm is `ratio` times the median of the
    other positions' norms: attention sinks, whose difference reads unlike the rest."""
    out = set()
    for i, label in enumerate(labels):
        others = sorted(n for j, n in enumerate(norms) if j != i)
        if others and norms[i] > ratio * others[len(others) // 2]:
            out.add(label)
    return out


@dataclass
class ActivationDiff:
    """Mean activations per (layer, position): the result of `collect`.

    mean_diff/mean_base/mean_ft: [n_layers, n_positions, d] float32.
    pos_norm_*: mean ||h|| per (layer, position) over documents (shows attention sinks).
    expected_norm: per side, mean ||h|| per layer over positions >= norm_skip (scales readers).
    """

    layers: list[int]
    labels: list[int]
    mean_diff: torch.Tensor
    mean_base: torch.Tensor
    mean_ft: torch.Tensor
    pos_norm_base: torch.Tensor
    pos_norm_ft: torch.Tensor
    pos_norm_diff: torch.Tensor
    expected_norm: dict[str, torch.Tensor]
    n_docs: int
    n_dropped: int
    bos_at_0: bool
    meta: dict[str, Any] = field(default_factory=dict)

    def layer_pos(self, layer: int, position: int) -> tuple[int, int]:
        """Indices into the tensors for a model layer and a position label."""
        if layer not in self.layers:
            raise AdlensError(f"Layer {layer} was not collected (collected: {self.layers}).")
        if position not in self.labels:
            raise AdlensError(f"Position {position} was not collected (collected: {self.labels}).")
        return self.layers.index(layer), self.labels.index(position)

    def vector(self, layer: int, position: int, variant: str = "diff") -> torch.Tensor:
        li, pi = self.layer_pos(layer, position)
        table = {
            "diff": self.mean_diff,
            "neg_diff": -self.mean_diff,
            "base_mean": self.mean_base,
            "ft_mean": self.mean_ft,
            "base_mean_in_ft": self.mean_base,  # the same vector, read in the other model
        }
        if variant not in table:
            raise AdlensError(f"Unknown variant {variant!r}; use one of {', '.join(table)}.")
        return table[variant][li, pi]

    def tensors(self) -> dict[str, torch.Tensor]:
        t = {
            "mean_diff": self.mean_diff,
            "mean_base": self.mean_base,
            "mean_ft": self.mean_ft,
            "pos_norm_base": self.pos_norm_base,
            "pos_norm_ft": self.pos_norm_ft,
            "pos_norm_diff": self.pos_norm_diff,
        }
        for side, v in self.expected_norm.items():
            t[f"expected_norm_{side}"] = v
        return {k: v.float().contiguous() for k, v in t.items()}

    def info(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "labels": self.labels,
            "n_docs": self.n_docs,
            "n_dropped": self.n_dropped,
            "bos_at_0": self.bos_at_0,
            **self.meta,
        }

    def save(self, directory: Path) -> None:
        from adlens.store.rundir import write_json

        directory.mkdir(parents=True, exist_ok=True)
        save_tensors(self.tensors(), directory / "activations.safetensors")
        write_json(directory / "activations.json", self.info())

    @classmethod
    def load(cls, directory: Path) -> ActivationDiff:
        import json

        info = json.loads((directory / "activations.json").read_text())
        t = load_file(str(directory / "activations.safetensors"))
        known = {"layers", "labels", "n_docs", "n_dropped", "bos_at_0"}
        return cls(
            layers=info["layers"],
            labels=info["labels"],
            mean_diff=t["mean_diff"],
            mean_base=t["mean_base"],
            mean_ft=t["mean_ft"],
            pos_norm_base=t["pos_norm_base"],
            pos_norm_ft=t["pos_norm_ft"],
            pos_norm_diff=t["pos_norm_diff"],
            expected_norm={s: t[f"expected_norm_{s}"] for s in SIDES},
            n_docs=info["n_docs"],
            n_dropped=info["n_dropped"],
            bos_at_0=info["bos_at_0"],
            meta={k: v for k, v in info.items() if k not in known},
        )
