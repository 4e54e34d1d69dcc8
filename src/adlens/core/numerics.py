"""Non-finite numbers stop a run with one line, before anything holding them is written.

A NaN or inf activation almost always has one of two causes: weights that are NaN already (a
broken checkpoint or adapter), or a half-precision overflow (fp16 has a range of +-65504).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from adlens.errors import AdlensError

LIKELY_CAUSE = (
    "likely causes: NaN or inf weights in a model or adapter, or an fp16 overflow "
    "(try --dtype bfloat16 or --dtype float32)"
)


class NonFiniteError(AdlensError):
    """A computed number is NaN or inf."""


def check_finite(
    values: torch.Tensor,
    what: str,
    *,
    stage: str,
    layers: Sequence[int] | None = None,
    positions: Sequence[int] | None = None,
) -> None:
    """Raise NonFiniteError when `values` holds a NaN or inf.

    With `layers` and `positions`, values' first two dims are [layer, position] (an optional
    batch dim may sit between them and the rest), and the message names the first bad pair."""
    if values.numel() == 0 or bool(torch.isfinite(values).all()):
        return
    where = ""
    if layers is not None:
        bad = ~torch.isfinite(values)
        while bad.dim() > (2 if positions is not None else 1):
            bad = bad.any(dim=-1)
        idx = bad.nonzero()[0].tolist()
        where = f" at layer {layers[idx[0]]}"
        if positions is not None and len(idx) > 1:
            where += f", position {positions[idx[1]]}"
    raise NonFiniteError(
        f"{stage}: {what} {_kind(values)}{where}; nothing was saved from this stage. "
        f"{LIKELY_CAUSE[0].upper()}{LIKELY_CAUSE[1:]}."
    )


def _kind(values: torch.Tensor) -> str:
    if bool(torch.isnan(values).any()):
        return "is NaN"
    return "is infinite"


def check_model_weights(model: torch.nn.Module, name: str) -> None:
    """Raise NonFiniteError when any parameter of `model` is NaN or inf (checked once at load:
    cheap next to a forward pass, and it names the cause exactly)."""
    for pname, param in model.named_parameters():
        if param.device.type == "meta" or not param.is_floating_point():
            continue  # offloaded by a device map: checked where it runs, by the activations
        if not bool(torch.isfinite(param).all()):
            raise NonFiniteError(
                f"The {name} model's weight '{pname}' {_kind(param.detach())}: the checkpoint "
                "or adapter is broken; retrain or re-download it."
            )
