"""A decoder-only model's anatomy, found structurally: decoder layers, final norm, sizes.

Any decoder-only Hugging Face model works, not just the families we test (Llama, Qwen2/3,
Gemma2/3, Mistral, GPT-2).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from adlens.errors import AdlensError


def unwrap(model: nn.Module) -> nn.Module:
    """The underlying transformers model of a peft model (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _text_part(cfg: Any) -> Any:
    """The language-model part of a config (multimodal configs nest it)."""
    return cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg


def text_config(model: nn.Module) -> Any:
    return _text_part(unwrap(model).config)


def find_decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The ModuleList of decoder blocks: the longest list of identical blocks (ties: first found)."""
    n_layers = getattr(text_config(model), "num_hidden_layers", None)
    best: nn.ModuleList | None = None
    for _, module in unwrap(model).named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if len({type(m) for m in module}) != 1:
            continue
        if n_layers is not None and len(module) == n_layers:
            return module
        if best is None or len(module) > len(best):
            best = module
    if best is None:
        raise AdlensError(f"Could not find the decoder layers of {type(unwrap(model)).__name__}.")
    return best


def find_final_norm(model: nn.Module) -> nn.Module:
    """The norm applied after the last decoder block: a norm-like sibling of the layer list."""
    layers = find_decoder_layers(model)
    for _, module in unwrap(model).named_modules():
        children: dict[str, nn.Module] = dict(module.named_children())
        if any(child is layers for child in children.values()):
            norms = [c for c in children.values() if "norm" in type(c).__name__.lower()]
            if norms:
                return norms[-1]
    raise AdlensError(f"Could not find the final norm of {type(unwrap(model)).__name__}.")


def logit_softcap(model: nn.Module) -> float | None:
    return getattr(text_config(model), "final_logit_softcapping", None)


def num_layers(model: nn.Module) -> int:
    return len(find_decoder_layers(model))


def hidden_size(model: nn.Module) -> int:
    return int(text_config(model).hidden_size)
