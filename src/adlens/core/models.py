"""ModelPair: a base and a finetuned model (full checkpoint or peft adapter), loaded together.

The anatomy (layers, final norm, unembedding) is in `anatomy`, hooks in `hooks`, and loading
single models in `model_loading`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from adlens.core.anatomy import find_decoder_layers, hidden_size, num_layers, unwrap
from adlens.core.model_loading import (
    _is_local,
    _load_error,
    apply_adapter,
    autocast_dtype,
    check_compatible,
    is_adapter,
    load_causal_lm,
    load_config,
    load_tokenizer,
    require_hub,
    resolve_device,
    resolve_precision,
)
from adlens.core.numerics import check_model_weights
from adlens.errors import AdlensError

if TYPE_CHECKING:
    from peft import PeftModel

log = logging.getLogger(__name__)


@dataclass
class ModelPair:
    """A base and a finetuned model sharing a tokenizer.

    For a peft adapter there is one model in memory: `finetuned` is the PeftModel and the base
    activations come from the same weights inside `disable_adapter()`.
    """

    finetuned: nn.Module
    tokenizer: Any
    base_model: nn.Module | None = None  # None when the finetune is an adapter
    base_id: str = ""
    finetuned_id: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    # Read the finetuned side of an adapter through merged weights (see `use`). Costs one extra
    # copy of the adapted weights of the blocks read; on by default where memory is cheap (CPU).
    merge_lora: bool = False
    # Matrix products in this dtype under torch.autocast (--dtype mixed), weights as loaded.
    autocast: torch.dtype | None = None
    _merged: dict[int, nn.Parameter] = field(default_factory=dict, repr=False)

    @property
    def is_adapter(self) -> bool:
        return self.base_model is None

    @property
    def n_layers(self) -> int:
        return num_layers(self.finetuned)

    @property
    def d_model(self) -> int:
        return hidden_size(self.finetuned)

    @property
    def device(self) -> torch.device:
        """Where inputs go: the input embedding's device (the first block's, with a
        device_map). A tensor added at a block goes to that block's own device instead
        (`hooks.module_placement`)."""
        get_embed = getattr(unwrap(self.finetuned), "get_input_embeddings", None)
        embed = get_embed() if callable(get_embed) else None
        param = next(embed.parameters(), None) if isinstance(embed, nn.Module) else None
        return (param if param is not None else next(self.finetuned.parameters())).device

    @contextlib.contextmanager
    def use(self, side: str, upto: int | None = None) -> Iterator[nn.Module]:
        """Yield the module that computes `side` ("base" or "finetuned").

        With `upto` (the last block the caller will run) and `merge_lora`, an adapter's
        finetuned side runs on merged weights: one matmul per linear layer instead of three.
        """
        if side not in ("base", "finetuned"):
            raise ValueError(f"side must be 'base' or 'finetuned', not {side!r}")
        with (
            torch.autocast(self.device.type, dtype=self.autocast)
            if self.autocast is not None
            else contextlib.nullcontext()
        ):
            with self._use(side, upto) as model:
                yield model

    @contextlib.contextmanager
    def _use(self, side: str, upto: int | None) -> Iterator[nn.Module]:
        if side == "finetuned" and self.is_adapter and self.merge_lora and upto is not None:
            with self._merged_view(upto) as model:
                yield model
        elif side == "finetuned":
            yield self.finetuned
        elif self.base_model is not None:
            yield self.base_model
        else:
            with cast("PeftModel", self.finetuned).disable_adapter():
                yield self.finetuned

    def resolve_layers(self, layers: list[float | int]) -> list[int]:
        return resolve_layers(layers, self.n_layers)

    @contextlib.contextmanager
    def _merged_view(self, upto: int) -> Iterator[nn.Module]:
        """The adapter folded into the weights of blocks 0..upto, adapter layers bypassed.

        The weights are swapped as tensor objects and the originals put back, so the model is
        restored exactly (no W + dW - dW rounding). DoRA and LoRA biases keep the slow path.
        """
        from peft.tuners.lora.layer import Linear as LoraLinear

        model = cast("PeftModel", self.finetuned)  # called only for adapters
        name = model.active_adapter
        blocks = list(find_decoder_layers(model))[: upto + 1]
        mods = [m for b in blocks for m in b.modules() if isinstance(m, LoraLinear)]
        plain = all(
            name in m.lora_A
            and not m.use_dora.get(name, False)
            and not getattr(m, "lora_bias", {}).get(name, False)
            for m in mods
        )
        if not plain:
            yield model
            return
        originals = []
        with model.disable_adapter(), torch.no_grad():
            try:
                for m in mods:
                    merged = self._merged.get(id(m))
                    if merged is None:
                        w = cast(torch.Tensor, m.base_layer.weight)  # a Linear's weight
                        delta = m.get_delta_weight(name).to(w.dtype)
                        merged = self._merged[id(m)] = nn.Parameter(w + delta, requires_grad=False)
                    originals.append((m.base_layer, m.base_layer.weight))
                    m.base_layer.weight = merged
                yield model
            finally:
                for layer, weight in originals:
                    layer.weight = weight

    @classmethod
    def load(
        cls,
        base: str | None,
        finetuned: str,
        *,
        dtype: str = "auto",
        device: str = "auto",
        device_map: str | None = None,
        base_revision: str | None = None,
        finetuned_revision: str | None = None,
        trust_remote_code: bool = False,
        adapter_base: str | None = None,
    ) -> ModelPair:
        """Load a pair from hub ids or local folders; `finetuned` may be a peft adapter.

        With an adapter, `base` defaults to the adapter's base_model_name_or_path, and the
        adapter is applied to `base` (one model in memory) unless `adapter_base` names another
        model: then that model with the adapter merged in is compared against `base`.
        """
        dev = resolve_device(device)
        adapter = is_adapter(finetuned, finetuned_revision)
        applied_to, adapter_base = adapter_base, None
        if adapter:
            from peft import PeftConfig

            try:
                adapter_base = PeftConfig.from_pretrained(
                    finetuned, revision=finetuned_revision
                ).base_model_name_or_path
            except Exception as err:
                raise _load_error("adapter", finetuned, err) from None
            if base is None:
                base = applied_to or adapter_base
            elif adapter_base and str(adapter_base) != str(base):
                log.info("adapter was trained on %s; using the given base %s", adapter_base, base)
        elif applied_to:
            raise AdlensError(
                f"--adapter-base is for a peft adapter, and '{finetuned}' is a full checkpoint: "
                "compare it with --base alone."
            )
        if not base:
            raise AdlensError("No base model given: pass --base (a hub id or a local folder).")
        from adlens.store.model_assets import resolve_model

        base = resolve_model(str(base))
        require_hub(base)
        # An adapter applied to another model than the reference: two models in memory.
        cross = resolve_model(str(applied_to)) if adapter and applied_to else None
        if cross == base:
            cross = None
        if cross is not None:
            require_hub(cross)

        # Cheap checks first: configs and tokenizers, before any weights are read.
        base_cfg = load_config(base, base_revision, trust_remote_code)
        base_tok = load_tokenizer(base, base_revision, trust_remote_code)
        if adapter:
            ft_cfg = base_cfg if cross is None else load_config(cross, None, trust_remote_code)
            under_tok = (
                base_tok if cross is None else load_tokenizer(cross, None, trust_remote_code)
            )
            has_tok = _is_local(finetuned) and any(
                (Path(finetuned) / f).exists() for f in ("tokenizer.json", "tokenizer_config.json")
            )
            ft_tok = load_tokenizer(finetuned, finetuned_revision) if has_tok else under_tok
        else:
            ft_cfg = load_config(finetuned, finetuned_revision, trust_remote_code)
            ft_tok = load_tokenizer(finetuned, finetuned_revision, trust_remote_code)
        check_compatible(base_cfg, ft_cfg, base_tok, ft_tok)

        torch_dtype, attn = resolve_precision(dtype, dev, base_cfg)
        # an fp32-eager family under auto (Gemma-3) stays fp32 throughout
        autocast = None if attn == "eager" and dtype == "auto" else autocast_dtype(dtype, dev)
        load: dict[str, Any] = dict(
            dtype=torch_dtype,
            attn_implementation=attn,
            device=dev,
            device_map=device_map,
            trust_remote_code=trust_remote_code,
        )
        base_model = load_causal_lm(base, revision=base_revision, **load)
        if adapter:
            under = base_model if cross is None else load_causal_lm(cross, **load)
            ft_model: nn.Module = apply_adapter(
                under, finetuned, finetuned_revision, merge=cross is not None
            )
            base_model_kept: nn.Module | None = None if cross is None else base_model
        else:
            ft_model = load_causal_lm(finetuned, revision=finetuned_revision, **load)
            base_model_kept = base_model
        # NaN weights would make every number of the run NaN: say so now, naming the weight.
        check_model_weights(ft_model, "finetuned" if not adapter else "adapted")
        if base_model_kept is not None:
            check_model_weights(base_model_kept, "base")
        info = {
            "base": base,
            "finetuned": finetuned,
            "adapter": adapter,
            "adapter_base": adapter_base,
            "adapter_applied_to": cross,
            "base_revision": base_revision or getattr(base_cfg, "_commit_hash", None),
            "finetuned_revision": finetuned_revision
            or (None if adapter else getattr(ft_cfg, "_commit_hash", None)),
            "dtype": str(torch_dtype).removeprefix("torch."),
            "autocast": None if autocast is None else str(autocast).removeprefix("torch."),
            "device": str(dev),
            "device_map": device_map,
            "attn_implementation": attn,
            "architecture": type(unwrap(base_model)).__name__,
            "n_layers": num_layers(base_model),
            "d_model": hidden_size(base_model),
            "vocab_size": len(base_tok),
        }
        return cls(
            finetuned=ft_model,
            tokenizer=ft_tok,
            base_model=base_model_kept,
            merge_lora=adapter and cross is None and dev.type == "cpu" and not device_map,
            autocast=autocast,
            base_id=str(base),
            finetuned_id=str(finetuned),
            info=info,
        )


def resolve_layers(layers: list[float | int], n_layers: int) -> list[int]:
    """Fractions in (0, 1) -> floor(f * (L - 1)); integers are indices (negative from the end)."""
    out: list[int] = []
    for spec in layers:
        if isinstance(spec, float):
            if not 0.0 <= spec <= 1.0:
                raise AdlensError(
                    f"Layer fraction {spec} is outside [0, 1]; give an index instead."
                )
            idx = int(spec * (n_layers - 1))
        else:
            idx = int(spec) + (n_layers if int(spec) < 0 else 0)
        if not 0 <= idx < n_layers:
            raise AdlensError(
                f"Layer {spec} is out of range: the model has {n_layers} layers (0..{n_layers - 1})."
            )
        if idx not in out:
            out.append(idx)
    if not out:
        raise AdlensError("No layers given.")
    return out
