"""The steering stage's overview: the strength found per steered position and what was sampled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adlens.store.rundir import write_json


class SteeredPosition(BaseModel):
    """One steered (layer, position): the strength the search settled on and its cost."""

    model_config = ConfigDict(extra="allow")

    layer: int
    position: int
    strength: float | None = None
    thresholds: list[Any] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    search_generations: int = 0
    one_shot_search_generations: int = 0
    final_generations: int = 0
    rounds: int = 0


class SteerOverview(BaseModel):
    """What `steer/search.json` and the summary's `steer` hold."""

    model_config = ConfigDict(extra="allow")

    side: str = "finetuned"
    positions: list[SteeredPosition] = Field(default_factory=list)
    generations: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    judges: str | None = None

    def position(self, layer: int, position: int) -> SteeredPosition | None:
        """The overview of one steered position, or None when it was not steered."""
        for p in self.positions:
            if (p.layer, p.position) == (layer, position):
                return p
        return None

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json", exclude_none=True))
