"""The relevance stage's settings: what is graded and how. Kept apart from the grading code so that
the command line can take its options' help from here without loading models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adlens.core.readers import reader_specs


class RelevanceConfig(BaseModel):
    """What is graded and how (everything here is part of the stage's hash)."""

    model_config = ConfigDict(extra="forbid")

    readers: list[str] = Field(default_factory=lambda: [s.name for s in reader_specs()])
    head: str = "finetuned"  # readers with heads (the logit lens): the head graded
    variants: list[str] = Field(default_factory=lambda: ["diff", "base_mean", "ft_mean"])
    top_k: int = Field(20, ge=1, description="Tokens graded per list.")
    shuffles: int = Field(3, ge=1, description="Reorderings of each list (LLM grader).")
    aggregate: Literal["all", "majority"] = Field(
        "all", description="LLM votes over the shuffles: all (must agree) or majority."
    )
    seed: int = Field(0, description="Seed of the shuffles.")
    frequent_top: int = Field(100, ge=1)
    frequent_min_count: int = Field(3, ge=1)
    max_documents: int | None = Field(5000, ge=1)  # finetuning documents read, at most
    reference_docs: int = Field(
        2000, ge=1, description="Reference documents the offline grader reads."
    )
