"""Offline assets: a small chat model converted from a GGUF file (`model_assets`), a sentence
embedder (`embedder_assets`), and text corpora (`corpora`), all built once into the cache
(`asset_cache`). `prepare_assets` builds them all.
"""

from __future__ import annotations

from pathlib import Path

from adlens.store.corpora import CORPORA, ensure_corpus
from adlens.store.embedder_assets import ensure_embedder
from adlens.store.model_assets import ensure_model


def prepare_assets(gemma: bool = False) -> dict[str, Path]:
    """Build (or find) every offline asset; returns name -> path."""
    paths = {"smollm2-135m-instruct": ensure_model("smollm2-135m-instruct")}
    if gemma:
        paths["gemma3-270m"] = ensure_model("gemma3-270m")
    for name in CORPORA:
        paths[name] = ensure_corpus(name)
    paths["all-minilm-l6-v2"] = ensure_embedder("minilm")
    return paths
