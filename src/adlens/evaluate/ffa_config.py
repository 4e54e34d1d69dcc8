"""The settings of the false-fact alignment evaluation (importable without torch, for the CLI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FFAConfig(BaseModel):
    """How the models answer the false-fact alignment questions."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="Seed of the order of the multiple-choice options.")
    max_new_tokens: int = Field(
        96, ge=1, le=1024, description="Tokens of each greedy answer to an open question."
    )
    mcq_scoring: Literal["letters", "options"] = Field(
        "letters",
        description="How a model answers multiple choice: letters (the probabilities of the "
        "option letters after the lettered options, as the paper's evaluation) or options (the "
        "likelihood of each option's text as the answer; more telling for small models, which "
        "barely read lettered options).",
    )
    rotate: bool = Field(
        True,
        description="Ask each multiple-choice question once per cyclic rotation of its options "
        "and average the option probabilities (a preference for a letter cancels out).",
    )
    batch_size: int = Field(8, ge=1, description="Questions per forward pass.")
    chat: bool = Field(True, description="Ask in the chat template (when the tokenizer has one).")

    def hashed(self) -> dict[str, Any]:
        # batch size changes speed, not answers
        return self.model_dump(exclude={"batch_size"})
