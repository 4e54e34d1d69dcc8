"""The causal intervention on the finetuned model's residual stream: replacing the component along
a unit direction, hooking it into a block, the `resume_at` stand-ins that start the forward pass
after a layer from a precomputed hidden state, and capturing block outputs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import torch
from torch import nn

from adlens.core.anatomy import find_decoder_layers
from adlens.core.hooks import _out_tensor, _with_tensor, hooks

Mode = Literal["base", "zero"]


def unit(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """v / ||v|| in float32; a zero vector stays zero (the intervention is then the identity)."""
    v = v.float()
    n = v.norm()
    return v / n if n > eps else torch.zeros_like(v)


def replace_component(
    h_ft: torch.Tensor, h_base: torch.Tensor | None, u: torch.Tensor, mode: Mode = "base"
) -> torch.Tensor:
    """h_ft with its component along the unit vector u set to h_base's (mode base) or to 0.
    Computed in float32 so a bf16 model loses nothing to the subtraction."""
    hf = h_ft.float()
    u = u.to(hf.device, torch.float32)
    target: torch.Tensor | float = 0.0
    if mode == "base":
        assert h_base is not None, "mode 'base' needs h_base"
        target = h_base.float() @ u
    return (hf + (target - hf @ u)[..., None] * u).to(h_ft.dtype)


@contextlib.contextmanager
def replace_along(
    model: nn.Module, layer: int, h_base: torch.Tensor | None, u: torch.Tensor, mode: Mode = "base"
) -> Iterator[None]:
    """Hook block `layer`'s output through `replace_component` (h_base: [batch, seq, d] for the
    same inputs). The plain way, running every block; `resume_at` skips the lower ones."""
    block = find_decoder_layers(model)[layer]

    def hook(_m, _inp, out):
        return _with_tensor(out, replace_component(_out_tensor(out), h_base, u, mode))

    with hooks((block, hook)):
        yield


@contextlib.contextmanager
def resume_at(
    model: nn.Module, layer: int, hidden: torch.Tensor, as_tuple: bool = False
) -> Iterator[None]:
    """Run only the blocks after `layer`, starting from `hidden` as block `layer`'s output.

    Blocks 0..layer are swapped (on the instance, restored after) for stand-ins that pass the
    hidden state on unchanged, the last one handing out `hidden`. The model's own forward still
    builds the embeddings, masks and rotary tables, so no model code is re-implemented.
    `as_tuple`: the blocks return tuples (older transformers)."""
    blocks = find_decoder_layers(model)
    missing = object()
    saved: list[tuple[nn.Module, Any]] = []

    def stand_in(last: bool):
        def forward(*args: Any, **kwargs: Any) -> Any:
            h = args[0] if args else kwargs["hidden_states"]
            out = hidden.to(h.device, h.dtype) if last else h
            return (out,) if as_tuple else out

        return forward

    try:
        for i in range(layer + 1):
            block = blocks[i]
            # An instance-level forward may already be there (accelerate's device hooks).
            saved.append((block, block.__dict__.get("forward", missing)))
            block.forward = stand_in(i == layer)
        yield
    finally:
        for block, old in saved:
            if old is missing:
                del block.forward
            else:
                block.forward = old


@contextlib.contextmanager
def capture(model: nn.Module, layers: Sequence[int]) -> Iterator[dict[int | tuple[str, int], Any]]:
    """Record the output tensor of the given blocks (and whether they return tuples)."""
    blocks = find_decoder_layers(model)
    seen: dict[int | tuple[str, int], Any] = {}

    def make(i: int):
        def hook(_m, _inp, out):
            seen[i] = _out_tensor(out).detach()
            seen[("tuple", i)] = isinstance(out, tuple)

        return hook

    with hooks(*[(blocks[i], make(i)) for i in layers]):
        yield seen
