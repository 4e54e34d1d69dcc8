"""The config hash of each stage (collect, read, steer): what it was computed from, including
fingerprints of local inputs, so a stage is reused only when nothing it depends on changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from adlens import __version__
from adlens.core.config import CollectConfig, JudgeConfig, ModelsConfig, ReadConfig, RunConfig
from adlens.core.data import BUILTIN_CORPORA
from adlens.core.model_loading import MIXED, autocast_dtype, resolve_device, resolve_dtype
from adlens.core.readers import reader_spec
from adlens.judges.endpoint import uses_llm
from adlens.store.rundir import config_hash

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".gguf")


def fingerprint(path_or_id: str | None) -> Any:
    """Identity of a model or data source: local files by size and mtime, so a retrained
    adapter at the same path invalidates the cache; hub ids are identified by id + revision."""
    if path_or_id is None:
        return None
    if path_or_id in BUILTIN_CORPORA:
        from adlens.store.corpora import ensure_corpus

        path = ensure_corpus(path_or_id)
    else:
        path = Path(path_or_id).expanduser()
        if not path.exists():
            return path_or_id
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    )
    return [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]


def collect_hash(models: ModelsConfig, cfg: CollectConfig) -> str:
    return config_hash(
        {
            "adlens": __version__,
            "models": _models_hashed(models),
            "collect": cfg.hashed(),
            "fingerprints": {
                "base": fingerprint(models.base),
                "finetuned": fingerprint(models.finetuned),
                "dataset": fingerprint(cfg.dataset.name),
                **(
                    {"adapter_base": fingerprint(models.adapter_base)}
                    if models.adapter_base
                    else {}
                ),
            },
        }
    )


def _models_hashed(models: ModelsConfig) -> dict[str, Any]:
    """The pair's settings that change the activations; adapter_base only when set, so runs
    cached before it existed keep their hash. For dtype "auto", what it means on this device
    when that is not float32 (a bf16 run and an fp32 run are different runs; fp32 runs cached
    before "auto" could mean bf16 on a CPU keep their hash)."""
    out = models.model_dump(exclude={"device", "device_map"})
    if out.get("adapter_base") is None:
        out.pop("adapter_base", None)
    if models.dtype == "auto":
        device = resolve_device(models.device)
        resolved = resolve_dtype("auto", device)
        if resolved != torch.float32:
            out["auto_dtype"] = str(resolved).removeprefix("torch.")
        elif autocast_dtype("auto", device) is not None:
            out["auto_dtype"] = MIXED
    return out


# Bumped when what the read stage computes changes, so older run directories are re-read.
READ_VERSION = 6


def reader_hash(
    collect_digest: str, name: str, cfg: ReadConfig, judge: JudgeConfig | None = None
) -> str:
    """What one reader's readings depend on: the activations, the reader, the settings it
    declares (`ReaderSpec.settings`) and, for a reader whose choice an LLM may make, the judge."""
    spec = reader_spec(name)
    settings = {}
    for field in ("top_k", *spec.settings):
        value = getattr(cfg, field)
        settings[field] = value.hashed() if hasattr(value, "hashed") else value
    blob: dict[str, Any] = {
        "collect": collect_digest,
        "reader": name,
        "settings": settings,
        "version": READ_VERSION,
    }
    scale_judge = judge.for_role("tournament") if judge is not None else None
    if spec.uses_judge and scale_judge is not None and uses_llm(scale_judge):
        blob["scale_judge"] = judge_identity(scale_judge)
    return config_hash(blob)


def read_hash(collect_digest: str, cfg: ReadConfig, judge: JudgeConfig | None = None) -> str:
    """The read stage's hash: its readers', in order."""
    return config_hash(
        {
            "collect": collect_digest,
            "readers": [reader_hash(collect_digest, n, cfg, judge) for n in cfg.readers],
        }
    )


def judge_identity(cfg: JudgeConfig) -> dict[str, Any]:
    """What decides the verdicts (backend, and an LLM's model and URL), known before any model
    is loaded, so a cached steer stage can be recognised without loading anything. Of one
    role's judge: pass `cfg.for_role(role)`."""
    from adlens.judges.endpoint import ENV_BASE_URL, env_model

    model = cfg.model or env_model()
    backend = cfg.backend if cfg.backend != "auto" else ("openai" if model else "offline")
    if backend == "offline":
        return {"backend": "offline"}
    if backend == "local":  # the server's port changes from start to start; its model does not
        from adlens.judges.local_llm import running

        return {"backend": "local", **cfg.hashed(), "model": running().identity}
    return {
        "backend": backend,
        **cfg.hashed(),
        "model": model,
        "base_url": cfg.base_url or os.environ.get(ENV_BASE_URL),
    }


def steer_hash(read_digest: str, config: RunConfig) -> str:
    return config_hash(
        {
            "read": read_digest,
            "steer": config.steer.hashed(),
            "judge": judge_identity(config.judge.for_role("coherence")),
        }
    )
