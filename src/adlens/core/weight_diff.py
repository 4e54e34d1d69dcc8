"""Weight-difference directions (data-free): the singular vectors of each module's weight change,
B·A for a LoRA adapter (exact, through the adapter's rank) or W_F - W_B for a full finetune
(randomized SVD). The output directions of modules that write to the residual stream (attention
output, MLP down projection) are residual directions at their layer: readable like the activation
difference. The per-module norms show where the finetune wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from adlens.core.activations import ActivationDiff
from adlens.core.anatomy import find_decoder_layers
from adlens.core.lens import logit_lens
from adlens.core.patchscope import patchscope
from adlens.core.readers import ReadContext, ReaderOutput
from adlens.results.readings import Reading

# Modules whose output is added to the residual stream, by the end of their name.
WRITERS = ("o_proj", "down_proj", "out_proj", "c_proj", "dense_4h_to_h", "fc2", "w2", "wo")


@dataclass
class ModuleChange:
    """One module's weight change: its layer, name, Frobenius norm, and top singular values
    with the output (`u`, [k, out]) and input (`v`, [k, in]) directions."""

    layer: int
    name: str
    norm: float
    singular_values: list[float]
    u: torch.Tensor
    v: torch.Tensor

    @property
    def writes_residual(self) -> bool:
        return self.name.endswith(WRITERS)


def _weight(module: nn.Module) -> torch.Tensor:
    """[out, in], whichever way the module stores it (GPT-2's Conv1D stores [in, out])."""
    w = cast(torch.Tensor, module.weight)
    return w.T if type(module).__name__ == "Conv1D" else w


def _lora_factors(module: Any) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    """(B [out, r], A [r, in], scaling) of a plain LoRA layer's active adapter, else None."""
    lora_a = getattr(module, "lora_A", None)
    if not lora_a:
        return None
    name = module.active_adapter
    name = name[0] if isinstance(name, (list, tuple)) else name
    if name not in lora_a:
        return None
    a = lora_a[name].weight.detach().float()
    b = module.lora_B[name].weight.detach().float()
    if type(module.base_layer).__name__ == "Conv1D" or getattr(module, "fan_in_fan_out", False):
        return None  # stored transposed: read through get_delta_weight instead
    return b, a, float(module.scaling[name])


def low_rank_svd(
    b: torch.Tensor, a: torch.Tensor, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact SVD (U [out, r], S [r], V [in, r]) of scale * B @ A through QR of both factors:
    O((out + in) r^2), never forming the [out, in] matrix.

    Args:
        b: the [out, r] factor.
        a: the [r, in] factor.
        scale: the LoRA scaling (alpha / r).

    Example:
        >>> b, a = torch.randn(6, 2), torch.randn(2, 5)
        >>> u, s, v = low_rank_svd(b, a, 0.5)
        >>> torch.allclose(u @ torch.diag(s) @ v.T, 0.5 * b @ a, atol=1e-5)
        True
    """
    qb, rb = torch.linalg.qr(b)
    qa, ra = torch.linalg.qr(a.T)
    u_small, s, vh_small = torch.linalg.svd(scale * rb @ ra.T)
    return qb @ u_small, s, qa @ vh_small.T


def _changes(base: nn.Module | None, finetuned: nn.Module) -> Iterator[tuple[int, str, Any, Any]]:
    """(layer, module name, finetuned module, base module or None) of every linear map in the
    decoder blocks."""
    ft_blocks = find_decoder_layers(finetuned)
    base_blocks = find_decoder_layers(base) if base is not None else None
    for i, block in enumerate(ft_blocks):
        base_mods = dict(base_blocks[i].named_modules()) if base_blocks is not None else {}
        for name, module in block.named_modules():
            if hasattr(module, "lora_A") or (
                base_blocks is not None and hasattr(module, "weight") and name in base_mods
                and getattr(module, "weight", None) is not None and module.weight.dim() == 2
            ):  # fmt: skip
                yield i, name, module, base_mods.get(name)


@torch.inference_mode()
def weight_changes(
    finetuned: nn.Module, base: nn.Module | None = None, *, top: int = 4
) -> list[ModuleChange]:
    """Every changed linear map of the decoder blocks, with its top singular directions.

    A LoRA adapter (`base` None) is read exactly through its factors; a full finetune compares
    each weight with `base`'s (randomized SVD, exact for changes of rank <= `top`).

    Args:
        finetuned: the finetuned model (a peft model for an adapter).
        base: the base model of a full finetune (None for an adapter).
        top: singular directions kept per module.

    Example:
        >>> changes = weight_changes(pair.finetuned, pair.base_model, top=2)
        >>> sorted({c.name.split(".")[-1] for c in changes if c.writes_residual})
        ['down_proj', 'o_proj']
    """
    out = []
    for layer, name, module, base_module in _changes(base, finetuned):
        factors = _lora_factors(module) if base_module is None else None
        if factors is not None:
            u, s, v = low_rank_svd(*factors)
        else:
            if base_module is not None:
                delta = _weight(module).float() - _weight(base_module).float()
            else:  # an adapter layer stored transposed
                adapter = module.active_adapter
                adapter = adapter[0] if isinstance(adapter, (list, tuple)) else adapter
                delta = module.get_delta_weight(adapter).float()
                delta = delta.T if type(module.base_layer).__name__ == "Conv1D" else delta
            if not bool(delta.any()):
                continue
            q = min(top + 4, *delta.shape)
            torch.manual_seed(0)  # randomized SVD: the same directions on every run
            u, s, v = torch.svd_lowrank(delta, q=q, niter=6)
        k = min(top, int(s.shape[0]))
        norm = float(s.square().sum().sqrt()) if factors is not None else float(delta.norm())
        out.append(
            ModuleChange(
                layer,
                name,
                norm,
                [round(float(x), 6) for x in s[:k]],
                u[:, :k].T.contiguous(),
                v[:, :k].T.contiguous(),
            )
        )
    return out


def layer_directions(
    changes: list[ModuleChange], per_layer: int
) -> dict[int, list[tuple[ModuleChange, int]]]:
    """Per layer, the `per_layer` residual-writing directions with the largest singular values
    (over all its writing modules): (module change, index of the direction in it)."""
    by_layer: dict[int, list[tuple[float, ModuleChange, int]]] = {}
    for c in changes:
        if c.writes_residual:
            for j, s in enumerate(c.singular_values):
                by_layer.setdefault(c.layer, []).append((s, c, j))
    return {
        layer: [(c, j) for _, c, j in sorted(rows, key=lambda r: -r[0])[:per_layer]]
        for layer, rows in sorted(by_layer.items())
    }


def _oriented(u: torch.Tensor, layer: int, diff: ActivationDiff) -> torch.Tensor:
    """A singular vector's sign is arbitrary: orient it along the mean activation difference
    (averaged over positions) at the first collected layer at or after it, where the direction
    it writes is still in the residual stream."""
    later = [layer_ for layer_ in diff.layers if layer_ >= layer] or diff.layers[-1:]
    li = diff.layers.index(later[0])
    mean = diff.mean_diff[li].mean(0).to(u)
    return -u if float(u @ mean) < 0 else u


def _as_diff(
    vectors: dict[int, list[torch.Tensor]], like: ActivationDiff, layers: list[int]
) -> ActivationDiff:
    """Directions packed as an ActivationDiff (position j: the j-th direction of a layer), with
    `like`'s expected norms where it has them, so the readers of the difference read them."""
    n = max(len(v) for v in vectors.values())
    d = like.mean_diff.shape[-1]
    mean = torch.zeros(len(layers), n, d)
    for li, layer in enumerate(layers):
        for j, v in enumerate(vectors[layer]):
            mean[li, j] = v
    zeros = torch.zeros(len(layers), n)
    norms = {
        side: torch.tensor(
            [
                float(like.expected_norm[side][like.layers.index(layer)])
                if layer in like.layers
                else 0.0
                for layer in layers
            ]
        )
        for side in like.expected_norm
    }
    return ActivationDiff(
        layers=layers, labels=list(range(n)), mean_diff=mean, mean_base=torch.zeros_like(mean),
        mean_ft=torch.zeros_like(mean), pos_norm_base=zeros, pos_norm_ft=zeros,
        pos_norm_diff=zeros, expected_norm=norms, n_docs=0, n_dropped=0, bos_at_0=like.bos_at_0,
    )  # fmt: skip


class WeightsReader:
    """Weight-difference directions as a reader: per layer, the residual directions the finetune
    writes most strongly (top singular vectors of the attention-output and MLP-down changes),
    read with Patchscope where the layer's expected norm is known (a collected layer other than
    the last) and with the logit lens elsewhere (`read_by`). Position j is the j-th direction
    of the layer; each reading names its `module` and `singular_value`. Writes the per-module
    profile of where the finetune wrote (weights_profile.jsonl)."""

    name = "weights"
    label = "weight directions"
    needs = frozenset({"pair", "weights", "diff"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        cfg = ctx.config.weights
        pair, diff = ctx.pair, ctx.diff
        changes = weight_changes(pair.finetuned, pair.base_model, top=cfg.top)
        chosen = layer_directions(changes, cfg.directions)
        if not chosen:
            return ReaderOutput([], files={"weights_profile.jsonl": _profile(changes)})
        vectors = {
            layer: [_oriented(c.u[j], layer, diff) for c, j in dirs]
            for layer, dirs in chosen.items()
        }
        last = pair.n_layers - 1
        scoped = [layer for layer in chosen if layer in diff.layers and layer != last]
        lens_layers = [layer for layer in chosen if layer not in scoped]
        variants = ("diff", "neg_diff")
        readings: list[Reading] = []
        if lens_layers:
            packed = _as_diff(vectors, diff, lens_layers)
            lens = logit_lens(pair, packed, top_k=ctx.config.top_k, variants=variants)
            readings += [r.model_copy(update={"reader": self.name, "head": None}) for r in lens]
        if scoped:
            packed = _as_diff(vectors, diff, scoped)
            found, _ = patchscope(
                pair, packed, scales=ctx.config.scales, variants=variants,
                top_k=ctx.config.top_k, keep_top=ctx.config.keep_top, chooser=ctx.chooser,
            )  # fmt: skip
            readings += [r.model_copy(update={"reader": self.name}) for r in found]
        for r in readings:
            c, j = chosen[r.layer][r.position]
            extra = {"module": c.name, "singular_value": c.singular_values[j]}
            extra["read_by"] = "patchscope" if r.layer in scoped else "logit_lens"
            for key, value in extra.items():
                setattr(r, key, value)
        readings.sort(key=lambda r: (r.layer, r.position, r.variant))
        return ReaderOutput(readings, files={"weights_profile.jsonl": _profile(changes)})


def _profile(changes: list[ModuleChange]) -> list[dict[str, Any]]:
    return [
        {"layer": c.layer, "module": c.name, "norm": round(c.norm, 6),
         "singular_values": c.singular_values}
        for c in changes
    ]  # fmt: skip
