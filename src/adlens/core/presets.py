"""Presets: a run's settings for each stage, by name. "paper" is the reference protocol (the
configs' defaults); "demo" and "fast" are cheaper and say where they differ."""

from __future__ import annotations

from typing import Any

from adlens.core.chat_prompts import DEFAULT_FINAL_SET, DEFAULT_SEARCH_SET
from adlens.core.config import (
    DEFAULT_LAYERS,
    CollectConfig,
    JudgeConfig,
    ModelsConfig,
    RunConfig,
    SteerConfig,
)
from adlens.core.data import TextSource
from adlens.errors import AdlensError

PRESETS: dict[str, dict[str, Any]] = {
    # The reference study's defaults (PROTOCOL.md), plus the last layer (--layers 0.5 for the
    # reference's single layer).
    "paper": {"documents": 10_000, "positions": 5, "layers": list(DEFAULT_LAYERS)},
    # Small and quick, for the offline demo on two CPU cores.
    "demo": {"documents": 2_000, "positions": 5, "layers": list(DEFAULT_LAYERS), "norm_docs": 128},
    # A first look in seconds on any hardware.
    "fast": {"documents": 500, "positions": 5, "layers": list(DEFAULT_LAYERS), "norm_docs": 64},
}


def preset(name: str) -> dict[str, Any]:
    """A collect preset's values (paper, demo, fast)."""
    if name not in PRESETS:
        raise AdlensError(f"Unknown preset '{name}'; use one of: {', '.join(PRESETS)}.")
    return dict(PRESETS[name])


# Steering settings per preset (SteerConfig fields); "paper" is SteerConfig's defaults, the
# reference protocol. The others steer one position with everyday prompts, at a fraction of the
# cost.
_CHEAP_STEERING: dict[str, Any] = {
    "positions": "best",
    "prompts": DEFAULT_FINAL_SET,
    "search_prompts": DEFAULT_SEARCH_SET,
}
STEER_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # Two CPU cores, about two minutes: fewer, shorter samples and a coarser search.
    "demo": _CHEAP_STEERING
    | {
        "first_steps": 9,
        "other_steps": 3,
        "search_samples": 4,
        "search_max_new_tokens": 48,
        "samples_per_prompt": 2,
        "final_max_new_tokens": 64,
    },
    "fast": _CHEAP_STEERING
    | {
        "first_steps": 9,
        "other_steps": 4,
        "search_samples": 6,
        "search_max_new_tokens": 64,
        "samples_per_prompt": 3,
        "final_max_new_tokens": 128,
    },
}


def steer_preset(name: str) -> dict[str, Any]:
    """A steer preset's values (the same names as `preset`)."""
    if name not in STEER_PRESETS:
        raise AdlensError(f"Unknown preset '{name}'; use one of: {', '.join(STEER_PRESETS)}.")
    return dict(STEER_PRESETS[name])


def preset_config(
    name: str,
    *,
    models: ModelsConfig,
    dataset: TextSource,
    collect: dict[str, Any] | None = None,
    steer: dict[str, Any] | None = None,
    judge: JudgeConfig | None = None,
) -> RunConfig:
    """A run's config from a preset's collect and steer settings, with `collect` and `steer`
    fields overriding them."""
    return RunConfig(
        models=models,
        collect=CollectConfig(dataset=dataset, **(preset(name) | _documents(collect or {}))),
        judge=judge or JudgeConfig(),
        steer=SteerConfig(**(steer_preset(name) | (steer or {}))),
    )


def _documents(values: dict[str, Any]) -> dict[str, Any]:
    """Collect values with the older name "samples" as "documents" (so they override a
    preset's documents instead of standing beside them)."""
    return {("documents" if k == "samples" else k): v for k, v in values.items()}
