"""Loading models, configs and tokenizers from hub ids or local folders, with one-line errors;
device and dtype choice; the checks that two models form a base/finetune pair."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from adlens.core.anatomy import _text_part
from adlens.core.hub import hub_unreachable
from adlens.errors import AdlensError

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# float32 weights and residual stream, bfloat16 matrix products (torch.autocast): most of bf16's
# speed, a fraction of its error in the small difference of two forward passes.
MIXED = "mixed"
# What --dtype auto means on a CPU (float32 or bfloat16); float32 when unset.
ENV_CPU_DTYPE = "ADLENS_CPU_DTYPE"
# CPU flags of native bf16 matrix products (x86: AVX512-BF16, AMX; Linux names them so).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively. Without it oneDNN emulates bf16, which is
    slower than float32."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split()}
    return any(f in flags for f in BF16_CPU_FLAGS)


def cpu_auto_name() -> str:
    """What --dtype auto means on a CPU: $ADLENS_CPU_DTYPE when set (float32, mixed or
    bfloat16), else float32. Both others are opt-in: on the bundled organisms Patchscope's
    chosen scale moved in a quarter to a third of the lists (bench/dtype.py; the mean difference
    within 0.4-8% of float32's under mixed precision, 3-7% in bf16)."""
    env = os.environ.get(ENV_CPU_DTYPE, "").strip().lower()
    if not env:
        return "float32"
    if env not in ("float32", MIXED, "bfloat16"):
        raise AdlensError(f"{ENV_CPU_DTYPE}={env!r}: use float32, mixed or bfloat16.")
    if env != "float32" and not cpu_has_native_bf16():
        _warn_emulated(env)
    return env


@functools.cache
def _warn_emulated(name: str) -> None:
    """Once per process: a load and its run hash each ask `cpu_auto_name` more than once."""
    log.warning("%s=%s on a CPU without native bf16: emulated, slower", ENV_CPU_DTYPE, name)


def cpu_auto_dtype() -> torch.dtype:
    """The weights' dtype --dtype auto gives on a CPU (`cpu_auto_name`; mixed: float32)."""
    name = cpu_auto_name()
    return torch.float32 if name == MIXED else DTYPES[name]


def autocast_dtype(dtype: str, device: torch.device) -> torch.dtype | None:
    """The dtype of the matrix products under torch.autocast: bfloat16 for "mixed" (and for
    "auto" on a CPU where $ADLENS_CPU_DTYPE says mixed), None otherwise."""
    if dtype == MIXED or (dtype == "auto" and device.type == "cpu" and cpu_auto_name() == MIXED):
        return torch.bfloat16
    return None


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """The dtype `dtype` names; "auto" is bfloat16 on a CUDA GPU that supports it (float16 on
    one that does not), `cpu_auto_dtype()` on a CPU and float32 elsewhere."""
    if dtype == "auto":
        if device.type == "cpu":
            return cpu_auto_dtype()
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype == MIXED:
        return torch.float32  # the weights; the matrix products are autocast (`autocast_dtype`)
    if dtype not in DTYPES:
        raise AdlensError(
            f"Unknown dtype '{dtype}'; use one of: auto, {', '.join(DTYPES)}, {MIXED}."
        )
    return DTYPES[dtype]


# Model types run in float32 with eager attention when the dtype is "auto", as the reference
# runs them: Gemma-3's activations overflow half precision, and its attention is specified (soft
# caps, sliding windows) against the eager implementation.
FP32_EAGER_MODEL_TYPES = ("gemma3", "gemma3_text")


def resolve_precision(
    dtype: str, device: torch.device, config: Any = None
) -> tuple[torch.dtype, str | None]:
    """(torch dtype, attention implementation or None for the default) for a model `config`."""
    model_type = getattr(config, "model_type", None)
    if dtype == "auto" and model_type in FP32_EAGER_MODEL_TYPES:
        log.info(
            "%s model with --dtype auto: float32 and eager attention, as the reference runs "
            "Gemma-3 (half precision overflows its activations); pass --dtype to override",
            model_type,
        )
        return torch.float32, "eager"
    return resolve_dtype(dtype, device), None


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


def load_tokenizer(
    model_id: str, revision: str | None = None, trust_remote_code: bool = False
) -> Any:
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
    attn_implementation: str | None = None,
) -> nn.Module:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "revision": revision}
    kwargs["trust_remote_code"] = trust_remote_code
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if device_map:
        # accelerate places the blocks over the visible GPUs (then CPU RAM); hooks follow each
        # block's own device (core.hooks.module_placement).
        kwargs["device_map"] = device_map
    try:
        model: nn.Module = AutoModelForCausalLM.from_pretrained(model_id, **kwargs)
    except Exception as err:
        raise _load_error("model", model_id, err) from None
    if not device_map:
        model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model


def apply_adapter(
    model: nn.Module, adapter: str, revision: str | None = None, *, merge: bool = False
) -> nn.Module:
    """A peft adapter over `model` (in eval mode, frozen); `merge`: folded into the weights, a
    plain model again (for an adapter compared against another model than the one under it)."""
    from peft import PeftModel

    try:
        adapted: nn.Module = PeftModel.from_pretrained(model, adapter, revision=revision)
    except Exception as err:
        raise _load_error("adapter", adapter, err) from None
    if merge:
        adapted = adapted.merge_and_unload()  # type: ignore[operator]
    adapted.eval()
    adapted.requires_grad_(False)
    return adapted


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
