"""Loading models, configs and tokenizers from hub ids or local folders, with one-line errors;
device and dtype choice; the checks that two models form a base/finetune pair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from adlens.core.anatomy import _text_part
from adlens.core.hub import hub_unreachable
from adlens.errors import AdlensError

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
) -> nn.Module:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "revision": revision}
    kwargs["trust_remote_code"] = trust_remote_code
    if device_map:
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
