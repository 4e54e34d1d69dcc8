"""ModelPair: a base and a finetuned model (full checkpoint or peft adapter) and their anatomy.

Layers, final norm and unembedding are found structurally so that any decoder-only Hugging Face
model works, not just the families we test (Llama, Qwen2/3, Gemma2/3, Mistral, GPT-2).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from adlens.core.hub import hub_unreachable
from adlens.core.numerics import check_model_weights
from adlens.errors import AdlensError

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        # bf16 halves memory on accelerators; CPUs are fastest and exact in fp32.
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise AdlensError(f"Unknown dtype '{dtype}'; use one of: auto, {', '.join(DTYPES)}.")
    return DTYPES[dtype]


# --------------------------------------------------------------------------------------------
# Anatomy: found structurally
# --------------------------------------------------------------------------------------------


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
        children = dict(module.named_children())
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


# --------------------------------------------------------------------------------------------
# Hooks: context managers that always remove themselves
# --------------------------------------------------------------------------------------------


class StopForward(Exception):
    """Raised by the early-exit hook after the last layer we need; caught by `forward_until`."""


def _out_tensor(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def _with_tensor(output: Any, tensor: torch.Tensor) -> Any:
    return (tensor, *output[1:]) if isinstance(output, tuple) else tensor


@contextlib.contextmanager
def hooks(*registrations: tuple[nn.Module, Any]) -> Iterator[None]:
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

    def make_hook(i: int):
        def hook(_m, _inp, out):
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
    """Add `vector` ([d] or [batch, d]) to the output of decoder block `layer` at every position."""
    block = find_decoder_layers(model)[layer]

    def hook(_m, _inp, out):
        h = _out_tensor(out)
        v = vector.to(h.dtype).to(h.device)
        v = v[:, None, :] if v.dim() == 2 else v
        return _with_tensor(out, h + v)

    with hooks((block, hook)):
        yield


@contextlib.contextmanager
def replace_last_token(model: nn.Module, layer: int, vectors: torch.Tensor) -> Iterator[None]:
    """Replace the output of block `layer` at the last position of row b by vectors[b]."""
    block = find_decoder_layers(model)[layer]

    def hook(_m, _inp, out):
        h = _out_tensor(out).clone()
        h[:, -1, :] = vectors.to(h.dtype).to(h.device)
        return _with_tensor(out, h)

    with hooks((block, hook)):
        yield


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _is_local(path: str) -> bool:
    return Path(path).expanduser().exists()


def require_hub(model_id: str) -> None:
    """A model that is not a local folder must come from the hub: fail fast when it cannot."""
    reason = None if _is_local(model_id) else hub_unreachable()
    if reason:
        raise AdlensError(
            f"'{model_id}' is not a local folder and the hub cannot be used ({reason}); give a "
            "local model folder, or the offline asset smollm2-135m-instruct."
        )


def is_adapter(path_or_id: str, revision: str | None = None) -> bool:
    """True for a peft adapter (a local folder with adapter_config.json, or such a hub repo)."""
    if _is_local(path_or_id):
        return (Path(path_or_id).expanduser() / "adapter_config.json").is_file()
    require_hub(path_or_id)
    try:
        from huggingface_hub import file_exists

        return bool(file_exists(path_or_id, "adapter_config.json", revision=revision))
    except Exception:  # offline or unknown repo: let the model loader report it
        return False


def _load_error(what: str, model_id: str, err: Exception) -> AdlensError:
    hint = (
        "the folder exists but is not a Hugging Face model"
        if _is_local(model_id)
        else "not a local folder, and the hub id could not be loaded (wrong id, private repo "
        "without a token, or no network)"
    )
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return AdlensError(f"Cannot load {what} '{model_id}': {hint}. ({first[:200]})")


def load_config(model_id: str, revision: str | None, trust_remote_code: bool) -> Any:
    from transformers import AutoConfig

    try:
        cfg = AutoConfig.from_pretrained(
            model_id, revision=revision, trust_remote_code=trust_remote_code
        )
    except Exception as err:
        raise _load_error("model config", model_id, err) from None
    return _text_part(cfg)


def load_tokenizer(model_id: str, revision: str | None = None, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            model_id, revision=revision, trust_remote_code=trust_remote_code
        )
    except Exception as err:
        raise _load_error("tokenizer", model_id, err) from None


def load_causal_lm(
    model_id: str,
    *,
    dtype: torch.dtype,
    device: torch.device,
    device_map: str | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
) -> nn.Module:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "revision": revision}
    kwargs["trust_remote_code"] = trust_remote_code
    if device_map:
        kwargs["device_map"] = device_map
    try:
        model = AutoModelForCausalLM.from_pretrained(model_id, **kwargs)
    except Exception as err:
        raise _load_error("model", model_id, err) from None
    if not device_map:
        model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model


def check_compatible(base_cfg: Any, ft_cfg: Any, base_tok: Any, ft_tok: Any) -> None:
    """Fail before heavy work if the two models cannot be compared position by position."""
    for attr in ("hidden_size", "num_hidden_layers"):
        b, f = getattr(base_cfg, attr, None), getattr(ft_cfg, attr, None)
        if b != f:
            raise AdlensError(
                f"Base and finetuned models differ in {attr} ({b} vs {f}): they are not a "
                "base/finetune pair."
            )
    if base_tok.get_vocab() != ft_tok.get_vocab():
        raise AdlensError(
            f"Base and finetuned tokenizers differ (vocabularies of {len(base_tok)} and "
            f"{len(ft_tok)} tokens): activations at the same position would not be the same text."
        )


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
        return next(self.finetuned.parameters()).device

    @contextlib.contextmanager
    def use(self, side: str, upto: int | None = None) -> Iterator[nn.Module]:
        """Yield the module that computes `side` ("base" or "finetuned").

        With `upto` (the last block the caller will run) and `merge_lora`, an adapter's
        finetuned side runs on merged weights: one matmul per linear layer instead of three.
        """
        if side not in ("base", "finetuned"):
            raise ValueError(f"side must be 'base' or 'finetuned', not {side!r}")
        if side == "finetuned" and self.is_adapter and self.merge_lora and upto is not None:
            with self._merged_view(upto) as model:
                yield model
        elif side == "finetuned":
            yield self.finetuned
        elif self.base_model is not None:
            yield self.base_model
        else:
            with self.finetuned.disable_adapter():
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

        model = self.finetuned
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
                        w = m.base_layer.weight
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
    ) -> ModelPair:
        """Load a pair from hub ids or local folders; `finetuned` may be a peft adapter.

        With an adapter, `base` defaults to the adapter's base_model_name_or_path.
        """
        dev = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, dev)
        adapter = is_adapter(finetuned, finetuned_revision)
        adapter_base = None
        if adapter:
            from peft import PeftConfig

            try:
                adapter_base = PeftConfig.from_pretrained(
                    finetuned, revision=finetuned_revision
                ).base_model_name_or_path
            except Exception as err:
                raise _load_error("adapter", finetuned, err) from None
            if base is None:
                base = adapter_base
            elif adapter_base and str(adapter_base) != str(base):
                log.info("adapter was trained on %s; using the given base %s", adapter_base, base)
        if not base:
            raise AdlensError("No base model given: pass --base (a hub id or a local folder).")
        from adlens.store.assets import resolve_model

        base = resolve_model(str(base))
        require_hub(base)

        # Cheap checks first: configs and tokenizers, before any weights are read.
        base_cfg = load_config(base, base_revision, trust_remote_code)
        base_tok = load_tokenizer(base, base_revision, trust_remote_code)
        if adapter:
            ft_cfg = base_cfg
            has_tok = _is_local(finetuned) and any(
                (Path(finetuned) / f).exists() for f in ("tokenizer.json", "tokenizer_config.json")
            )
            ft_tok = load_tokenizer(finetuned, finetuned_revision) if has_tok else base_tok
        else:
            ft_cfg = load_config(finetuned, finetuned_revision, trust_remote_code)
            ft_tok = load_tokenizer(finetuned, finetuned_revision, trust_remote_code)
        check_compatible(base_cfg, ft_cfg, base_tok, ft_tok)

        load = dict(
            dtype=torch_dtype,
            device=dev,
            device_map=device_map,
            trust_remote_code=trust_remote_code,
        )
        base_model = load_causal_lm(base, revision=base_revision, **load)
        if adapter:
            from peft import PeftModel

            try:
                ft_model = PeftModel.from_pretrained(
                    base_model, finetuned, revision=finetuned_revision
                )
            except Exception as err:
                raise _load_error("adapter", finetuned, err) from None
            ft_model.eval()
            ft_model.requires_grad_(False)
            base_model_kept: nn.Module | None = None
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
            "base_revision": base_revision or getattr(base_cfg, "_commit_hash", None),
            "finetuned_revision": finetuned_revision
            or (None if adapter else getattr(ft_cfg, "_commit_hash", None)),
            "dtype": str(torch_dtype).removeprefix("torch."),
            "device": str(dev),
            "architecture": type(unwrap(base_model)).__name__,
            "n_layers": num_layers(base_model),
            "d_model": hidden_size(base_model),
            "vocab_size": len(base_tok),
        }
        return cls(
            finetuned=ft_model,
            tokenizer=ft_tok,
            base_model=base_model_kept,
            merge_lora=adapter and dev.type == "cpu" and not device_map,
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
