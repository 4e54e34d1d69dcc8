"""Forward hooks as context managers that always remove themselves: read a block's output
(stopping the forward pass early), add a vector to it, or replace its last position."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from adlens.core.anatomy import find_decoder_layers

# A forward hook: (module, inputs, output) -> replacement output or None.
ForwardHook = Callable[[nn.Module, Any, Any], Any]


class StopForward(Exception):
    """Raised by the early-exit hook after the last layer we need; caught by `forward_until`."""


def module_placement(module: nn.Module) -> tuple[torch.device, torch.dtype] | None:
    """Where a module computes and in what dtype: its own first floating-point parameter, or,
    for a block accelerate offloads (weights on 'meta' until it runs), the execution device
    of its hook. With a device_map the blocks of one model sit on different devices, so a
    tensor added at a block must follow the block, not the model's first parameter."""
    param = next((p for p in module.parameters() if p.is_floating_point()), None)
    hook = getattr(module, "_hf_hook", None)
    execution = getattr(hook, "execution_device", None)
    if param is not None and param.device.type == "meta" and execution is not None:
        index = execution if isinstance(execution, int) else None
        device = torch.device("cuda", index) if index is not None else torch.device(execution)
        return device, param.dtype
    return None if param is None else (param.device, param.dtype)


def _placed(module: nn.Module, tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` on the module's device and in its dtype (unchanged if it has no parameters)."""
    where = module_placement(module)
    if where is None or where[0].type == "meta":
        return tensor
    return tensor.to(device=where[0], dtype=where[1])


def _out_tensor(output: Any) -> torch.Tensor:
    tensor: torch.Tensor = output[0] if isinstance(output, tuple) else output
    return tensor


def _with_tensor(output: Any, tensor: torch.Tensor) -> Any:
    return (tensor, *output[1:]) if isinstance(output, tuple) else tensor


@contextlib.contextmanager
def hooks(*registrations: tuple[nn.Module, ForwardHook]) -> Iterator[None]:
    """Register forward hooks (module, fn) for the duration of the block."""
    handles = []
    try:
        for module, fn in registrations:
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for h in handles:
            h.remove()


def forward_until(model: nn.Module, layer_ids: list[int], **inputs: Any) -> dict[int, torch.Tensor]:
    """Outputs of the given decoder blocks; the forward pass stops after the last one.

    No logits are computed: the early-exit hook raises before the final norm and head.
    """
    layers = find_decoder_layers(model)
    captured: dict[int, torch.Tensor] = {}
    last = max(layer_ids)

    def make_hook(i: int) -> ForwardHook:
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            captured[i] = _out_tensor(out)
            if i == last:
                raise StopForward

        return hook

    with hooks(*[(layers[i], make_hook(i)) for i in sorted(set(layer_ids))]):
        try:
            model(**inputs, use_cache=False)
        except StopForward:
            pass
    return captured


@contextlib.contextmanager
def add_to_layer(model: nn.Module, layer: int, vector: torch.Tensor) -> Iterator[None]:
    """Add `vector` ([d] or [batch, d]) to the output of decoder block `layer` at every position.

    The vector is cast once to the block's own device and dtype (`module_placement`); the hook
    casts again only if the output comes back elsewhere."""
    block = find_decoder_layers(model)[layer]
    placed = _placed(block, vector)

    def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
        h = _out_tensor(out)
        v = placed.to(device=h.device, dtype=h.dtype)
        v = v[:, None, :] if v.dim() == 2 else v
        return _with_tensor(out, h + v)

    with hooks((block, hook)):
        yield


@contextlib.contextmanager
def replace_last_token(model: nn.Module, layer: int, vectors: torch.Tensor) -> Iterator[None]:
    """Replace the output of block `layer` at the last position of row b by vectors[b]."""
    block = find_decoder_layers(model)[layer]
    placed = _placed(block, vectors)

    def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
        h = _out_tensor(out).clone()
        h[:, -1, :] = placed.to(device=h.device, dtype=h.dtype)
        return _with_tensor(out, h)

    with hooks((block, hook)):
        yield


@contextlib.contextmanager
def start_after(model: nn.Module, layer: int, vectors: torch.Tensor) -> Iterator[None]:
    """Within: blocks 0..`layer` do not run; block `layer` puts out vectors [b, d] as a
    one-position step ([b, 1, d]). For a one-token step over a KV cache whose output at `layer`
    is replaced anyway (`replace_last_token`), it gives the same next-token distribution while
    skipping the blocks up to `layer`; their KV caches are not extended (nothing later reads
    them in this step). Only for blocks that return a plain tensor, as transformers 5's do."""
    blocks = find_decoder_layers(model)[: layer + 1]
    out = _placed(blocks[-1], vectors)[:, None, :]

    def skipped(*_args: Any, **_kwargs: Any) -> torch.Tensor:
        return out

    saved = [block.__dict__.get("forward") for block in blocks]  # accelerate may have set one
    try:
        for block in blocks:
            block.forward = skipped
        yield
    finally:
        for block, forward in zip(blocks, saved, strict=True):
            if forward is None:
                del block.forward
            else:
                block.forward = forward
