"""Typed configs and presets. A stage's config (as given, plus fingerprints of local inputs)
is hashed; a cached result is reused only when the hash matches."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adlens.data import TextSource, default_source
from adlens.errors import AdlensError


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str | None = None  # None: the adapter's own base model
    finetuned: str
    base_revision: str | None = None
    finetuned_revision: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    device_map: str | None = None
    trust_remote_code: bool = False


class CollectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: TextSource = Field(default_factory=default_source)
    samples: int = Field(10_000, ge=1)
    positions: int = Field(5, ge=1)
    layers: list[float | int] = Field(default_factory=lambda: [0.5])
    batch_size: int = Field(256, ge=1)
    norm_docs: int = Field(256, ge=1)  # documents for the expected-norm estimate
    norm_tokens: int = Field(64, ge=6)
    norm_skip: int = Field(5, ge=0)  # attention sinks at the first positions are not typical

    def hashed(self) -> dict[str, Any]:
        # batch_size changes speed, not results
        return self.model_dump(exclude={"batch_size"})


class ReadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(20, ge=1)
    heads: list[str] = Field(default_factory=lambda: ["finetuned", "base"])
    scales: list[float] | None = None  # None: the reference grid
    keep_top: int = Field(16_384, ge=1)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: ModelsConfig
    collect: CollectConfig = Field(default_factory=CollectConfig)
    read: ReadConfig = Field(default_factory=ReadConfig)


PRESETS: dict[str, dict[str, Any]] = {
    # The reference study's defaults (PROTOCOL.md).
    "paper": {"samples": 10_000, "positions": 5, "layers": [0.5]},
    # Small and quick, for the offline demo on two CPU cores.
    "demo": {"samples": 2_000, "positions": 5, "layers": [0.5], "norm_docs": 128},
    # A first look in seconds on any hardware.
    "fast": {"samples": 500, "positions": 5, "layers": [0.5], "norm_docs": 64},
}


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise AdlensError(f"Unknown preset '{name}'; use one of: {', '.join(PRESETS)}.")
    return dict(PRESETS[name])


def parse_layers(spec: str) -> list[float | int]:
    """'0.5' -> [0.5]; '0.25,0.5,12' -> [0.25, 0.5, 12]; a value with a dot is a fraction."""
    out: list[float | int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part) if "." in part else int(part))
        except ValueError:
            raise AdlensError(
                f"Cannot read layer '{part}': give fractions like 0.5 or indices like 12."
            ) from None
    if not out:
        raise AdlensError("No layers given.")
    return out
